"""End to end: the customer acts in their app while an agent has the account open in the staff
window; the agent's change log and account view show it without anyone touching the agent's
screen. Once against one service, once with the two clients on two instances sharing PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from portal_app.client import LiveState, PortalClient
from tests.claims_samples import jpeg
from tests.conftest import require_postgres
from tests.staff_support import settle
from tests.support import Service, postgres_schema, running_service
from tests.ui.conftest import PASSWORD, run
from ui.staff.window import StaffWindow

ALEX, AGENT = "alex.morgan@example.com", "agent@portal.example"
WAIT_MS = 10_000  # the test's wait: the feed delivers in milliseconds; this allows a slow CI box


@pytest.fixture
def one_service(tmp_path: Path) -> Iterator[tuple[Service, Service]]:
    with running_service(f"sqlite:///{tmp_path / 'portal.sqlite3'}", tmp_path) as svc:
        yield svc, svc


@pytest.fixture
def two_instances(tmp_path: Path) -> Iterator[tuple[Service, Service]]:
    require_postgres()
    # A 60 s safety poll: only the NOTIFY wake-up can carry the change across in time.
    opts = {"jwt_secret": "shared-secret-" + "e" * 40, "feed_poll_seconds": 60.0}
    with ExitStack() as stack:
        url = stack.enter_context(postgres_schema())
        customer_side = stack.enter_context(running_service(url, tmp_path / "a", **opts))
        agent_side = stack.enter_context(running_service(url, tmp_path / "b", seed=False, **opts))
        yield customer_side, agent_side


def agent_sees_the_customer_act(
    qtbot: Any, customer_side: Service, agent_side: Service, tmp_path: Path
) -> None:
    # Given an agent with the Morgans' account open in the staff window
    agent = PortalClient(agent_side.url)
    run(qtbot, agent.sign_in(AGENT, PASSWORD))
    assert agent.user is not None
    window = StaffWindow(agent, agent.user, data_dir=tmp_path / "agent")
    window.show()
    try:
        window.search.box.setText("AUT-100234")
        qtbot.waitUntil(lambda: window.search.model.rowCount() >= 1, timeout=WAIT_MS)
        hit = window.search.model.hits[0]
        tab = window.open_account(hit.account_id, hit.full_name)
        qtbot.waitUntil(
            lambda: tab.view.feed_state is LiveState.LIVE and tab.view.overview is not None, timeout=WAIT_MS
        )
        auto = next(p for p in tab.view.overview.policies if p.number == "AUT-100234")
        claim = tab.view.overview.open_claims[0]
        new_day = 20 if auto.payment_day != 20 else 21
        rows_before = tab.changelog.model.rowCount()

        # When the customer, in their app on the other side, changes their payment day...
        token = customer_side.sign_in(ALEX)["access_token"]
        with httpx.Client(
            base_url=customer_side.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as alex:
            r = alex.put(f"/policies/{auto.id}/payment-day", json={"day": new_day})
            assert r.status_code == 200, r.text
            # Then, with nobody touching the agent's window, the change log shows it highlighted
            qtbot.waitUntil(
                lambda: "policy.payment_day_changed" in tab.changelog.model.fresh_actions(), timeout=WAIT_MS
            )
            # ...and the account view's numbers follow
            qtbot.waitUntil(
                lambda: next(p for p in tab.view.overview.policies if p.id == auto.id).payment_day == new_day,
                timeout=WAIT_MS,
            )

            # When the customer uploads a photo to their claim
            r = alex.post(
                f"/claims/uploads/{claim.id}",
                params={"filename": "rear-bumper.jpg"},
                content=jpeg(),
                headers={"Content-Type": "application/octet-stream"},
            )
            assert r.status_code == 201, r.text
        # Then that arrives too, in the change log and in the view's own activity log
        qtbot.waitUntil(
            lambda: "claim.photo_attached" in tab.changelog.model.fresh_actions(), timeout=WAIT_MS
        )
        qtbot.waitUntil(
            lambda: any(
                tab.view.activity_page.model.event_at(i).action == "claim.photo_attached"
                for i in range(tab.view.activity_page.model.rowCount())
            ),
            timeout=WAIT_MS,
        )
        latest = [
            tab.changelog.model.event_at(i) for i in range(tab.changelog.model.rowCount() - rows_before)
        ]
        mine = [e for e in latest if e.action in {"policy.payment_day_changed", "claim.photo_attached"}]
        assert {e.action for e in mine} == {"policy.payment_day_changed", "claim.photo_attached"}
        # Each shows who did it and where: the customer, in the online portal
        assert all(e.actor_name == "Alex Morgan" and e.channel == "portal" for e in mine)
    finally:
        run(qtbot, window.aclose())
        settle(qtbot)
        window.hide()
        window.deleteLater()
        run(qtbot, agent.aclose())


def test_agent_window_shows_customer_changes_live_on_one_service(
    qtbot: Any, one_service: tuple[Service, Service], tmp_path: Path
) -> None:
    agent_sees_the_customer_act(qtbot, *one_service, tmp_path)


@pytest.mark.postgres
def test_agent_window_shows_customer_changes_live_across_two_instances(
    qtbot: Any, two_instances: tuple[Service, Service], tmp_path: Path
) -> None:
    agent_sees_the_customer_act(qtbot, *two_instances, tmp_path)
