"""The desktop app against a real embedded service: sign-in, overview, live activity, sessions."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import keyring.backends.fail
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from portal_app.client import LiveState, PortalClient
from portal_app.embedded import EmbeddedService
from services.config import ServiceSettings
from tests.ui.conftest import PASSWORD, run, wait_until
from tests.ui.memory_keyring import MemoryKeyring, PlaintextMemoryKeyring
from ui.account_view import PAGES
from ui.app import PortalApp

ALEX = "alex.morgan@example.com"


def service_name(server_key: str) -> str:
    return f"Portal ({server_key})"


def open_sign_in(qtbot: Any, app: PortalApp) -> Any:
    app.start()
    wait_until(qtbot, lambda: app.sign_in_window is not None and app.sign_in_window.isVisible())
    window = app.sign_in_window
    assert window is not None
    return window


def sign_in(qtbot: Any, app: PortalApp, email: str, password: str, keep: bool = True) -> Any:
    window = open_sign_in(qtbot, app)
    window.email.setText(email)
    window.password.setText(password)
    window.keep_signed_in.setChecked(keep)
    qtbot.mouseClick(window.sign_in_button, Qt.MouseButton.LeftButton)
    return window


def wait_for_overview(qtbot: Any, app: PortalApp, timeout: int = 30_000) -> Any:
    wait_until(qtbot, lambda: app.main_window is not None and app.main_window.isVisible(), timeout=timeout)
    view = app.main_window.account_view  # type: ignore[union-attr]
    assert view is not None
    wait_until(qtbot, lambda: view.overview is not None, timeout=timeout)
    return view


def texts(widget: Any) -> list[str]:
    return [label.text() for label in widget.findChildren(QLabel)]


def test_sign_in_lands_on_overview_with_the_seeded_policies(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    # Given the demo policyholder at the sign-in window
    app = make_app(service_url, tmp_path)
    # When they sign in with "keep me signed in"
    sign_in(qtbot, app, ALEX, PASSWORD)
    view = wait_for_overview(qtbot, app)
    # Then the Overview page shows both seeded policies with status, premium and next payment
    assert view.current_page() == "overview"
    shown = " | ".join(texts(view.overview_page))
    assert "Policy AUT-100234" in shown and "Policy HOM-200871" in shown
    assert "Autopay" in shown and "Pay manually" in shown
    assert "Claim CLM-700112" in shown
    assert app.main_window is not None and app.main_window.windowTitle() == "Portal"
    assert not app.sign_in_window.isVisible()  # type: ignore[union-attr]
    # And the refresh token sits in the keyring under this server's name, nowhere else
    stored = memory_keyring.secrets.get((service_name(service_url), "refresh_token"))
    assert stored and stored == app.client.refresh_token  # type: ignore[union-attr]


def test_help_and_the_sign_in_window_give_the_insurers_own_numbers(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path
) -> None:
    # Given the insurer profile the service serves (the lines printed on ID cards and documents)
    profile = httpx.get(f"{service_url}/api/v1/insurer", timeout=10).json()
    app = make_app(service_url, tmp_path)
    # Then the sign-in window's "call us" messages use its phone line
    window = open_sign_in(qtbot, app)
    wait_until(qtbot, lambda: window.support_phone == profile["phone"])
    # And Help shows the same claims line, general line and email once signed in
    sign_in(qtbot, app, ALEX, PASSWORD)
    view = wait_for_overview(qtbot, app)
    view.show_page("help")
    shown = view.help_page.values
    wait_until(qtbot, lambda: shown["claims_phone"].text() == profile["claims_phone"])
    assert (shown["phone"].text(), shown["email"].text()) == (profile["phone"], profile["email"])


def test_wrong_password_shows_the_inline_error(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    app = make_app(service_url, tmp_path)
    window = sign_in(qtbot, app, "jamie.morgan@example.com", "not-the-password")
    wait_until(qtbot, window.password_error.isVisible)
    assert "not right" in window.password_error.text()
    assert window.password.property("invalid") is True
    assert window.sign_in_button.isEnabled()
    assert app.main_window is None
    assert memory_keyring.secrets == {}


def test_client_side_validation_needs_no_round_trip(qtbot: Any, make_app: Any, tmp_path: Path) -> None:
    # A server that does not exist: a missing password must be caught before any request.
    app = make_app("http://127.0.0.1:9", tmp_path)
    window = sign_in(qtbot, app, "alex.morgan", "")
    wait_until(qtbot, window.email_error.isVisible)
    assert window.email_error.isVisible() and "name@example.com" in window.email_error.text()
    assert window.password_error.isVisible()
    assert not window.form_error.isVisible()


def test_unreachable_service_offers_retry(qtbot: Any, make_app: Any, tmp_path: Path) -> None:
    app = make_app("http://127.0.0.1:9", tmp_path)  # nothing listens on the discard port
    window = sign_in(qtbot, app, ALEX, PASSWORD)
    wait_until(qtbot, window.form_error.isVisible)
    assert "can't reach" in window.form_error_label.text()
    assert window.retry_button.isVisible()
    attempts: list[str] = []
    submit = window._on_submit

    async def counting_submit(email: str, password: str, keep: bool) -> None:
        attempts.append(email)
        await submit(email, password, keep)

    window._on_submit = counting_submit
    qtbot.mouseClick(window.retry_button, Qt.MouseButton.LeftButton)
    # Retry really tries again: a second attempt, which fails the same way
    wait_until(qtbot, lambda: attempts == [ALEX] and not window.busy_box.isVisible())
    wait_until(qtbot, window.form_error.isVisible)
    assert window.retry_button.isVisible()
    assert app.main_window is None


def test_agent_change_appears_in_the_open_activity_page(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path
) -> None:
    # Given Alex signed in with the Activity page open and the live feed connected
    app = make_app(service_url, tmp_path)
    sign_in(qtbot, app, ALEX, PASSWORD)
    view = wait_for_overview(qtbot, app)
    # Ctrl+<n> opens the n-th section of the navigation: find Activity's number there
    number = [key for key, *_ in PAGES].index("activity") + 1
    qtbot.keyClick(app.main_window, Qt.Key(Qt.Key.Key_0.value + number), Qt.KeyboardModifier.ControlModifier)
    assert view.current_page() == "activity"
    wait_until(qtbot, lambda: view.feed_state is LiveState.LIVE)
    indicator = app.main_window.feed_indicator  # type: ignore[union-attr]
    assert indicator.property("state") == "live" and "Live" in indicator.text()
    model = view.activity_page.model
    last_seen = model.last_seq

    # When an agent, on another client, opens the account and changes the phone number
    with httpx.Client(base_url=f"{service_url}/api/v1", timeout=30) as agent:
        tokens = agent.post(
            "/auth/sign-in", json={"email": "agent@portal.example", "password": PASSWORD}
        ).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        overview = agent.get(f"/accounts/{view.account_id}", headers=auth).json()
        holder = next(h for h in overview["holders"] if h["is_primary"])
        response = agent.patch(
            f"/accounts/{view.account_id}/holders/{holder['id']}",
            json={"phone": "+1 312 555 0177"},
            headers=auth,
        )
        assert response.status_code == 200, response.text

    # Then both events appear on the open page without anyone touching it, newest first
    def new_rows() -> dict[str, int]:
        rows: dict[str, int] = {}
        for row in range(model.rowCount()):
            event = model.event_at(row)
            if event.seq <= last_seen:
                break
            rows.setdefault(event.action, row)
        return rows

    wait_until(qtbot, lambda: {"account.viewed", "holder.contact_updated"} <= new_rows().keys())
    rows = new_rows()
    assert rows["holder.contact_updated"] < rows["account.viewed"]
    row = rows["holder.contact_updated"]
    assert model.event_at(row).channel == "agent"
    # Columns: When, What happened, Who, Channel, Outcome (the main fact second, never cut)
    assert model.data(model.index(row, 1)) == "Updated contact details: phone"
    assert "agent" in model.data(model.index(row, 2))
    assert model.data(model.index(row, 3)) == "Call centre"
    # And the overview picks up the new contact details by itself
    wait_until(
        qtbot,
        lambda: (
            view.overview is not None and any(h.phone == "+1 312 555 0177" for h in view.overview.holders)
        ),
        timeout=10_000,
    )


def test_restart_with_a_kept_session_skips_sign_in(
    qtbot: Any, make_app: Any, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    # Given a first run of the embedded default where Alex signed in and asked to be kept
    data_dir = tmp_path / "portal-data"
    first = make_app(None, data_dir)
    sign_in(qtbot, first, ALEX, PASSWORD)
    wait_for_overview(qtbot, first, timeout=60_000)
    key = (service_name(f"embedded:{data_dir}"), "refresh_token")
    first_token = memory_keyring.secrets[key]
    run(qtbot, first.shutdown(), timeout=30_000)

    # When the app starts again on the same data directory (a new service, a new port)
    second = make_app(None, data_dir)
    second.start()
    view = wait_for_overview(qtbot, second, timeout=60_000)

    # Then it goes straight to the account: the sign-in window was never created
    assert second.sign_in_window is None
    assert "Policy AUT-100234" in " | ".join(texts(view.overview_page))
    # And the rotated refresh token replaced the used one in the keyring
    assert memory_keyring.secrets[key] != first_token
    assert memory_keyring.secrets[key] == second.client.refresh_token  # type: ignore[union-attr]


def test_no_secure_keyring_says_so_and_stores_nothing(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path
) -> None:
    plaintext = PlaintextMemoryKeyring()
    keyring.set_keyring(plaintext)
    app = make_app(service_url, tmp_path)
    window = open_sign_in(qtbot, app)
    assert window.keyring_note.isVisible()
    assert "no secure password store" in window.keyring_note_label.text()
    assert not window.keep_signed_in.isChecked() and not window.keep_signed_in.isEnabled()
    window.email.setText(ALEX)
    window.password.setText(PASSWORD)
    qtbot.mouseClick(window.sign_in_button, Qt.MouseButton.LeftButton)
    wait_for_overview(qtbot, app)
    # The session works for this run, held in memory only
    assert app.client is not None and app.client.refresh_token
    assert plaintext.secrets == {}


def test_failing_keyring_backend_counts_as_no_secure_keyring(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path
) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    app = make_app(service_url, tmp_path)
    window = open_sign_in(qtbot, app)
    assert window.keyring_note.isVisible()
    assert not app.store.is_secure


def test_sign_out_clears_the_keyring_and_returns_to_sign_in(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    app = make_app(service_url, tmp_path)
    sign_in(qtbot, app, ALEX, PASSWORD)
    wait_for_overview(qtbot, app)
    token = memory_keyring.secrets[(service_name(service_url), "refresh_token")]

    qtbot.mouseClick(app.main_window.sign_out_button, Qt.MouseButton.LeftButton)  # type: ignore[union-attr]

    wait_until(qtbot, lambda: app.main_window is None and app.sign_in_window.isVisible())  # type: ignore[union-attr]
    assert memory_keyring.secrets == {}
    assert app.sign_in_window.email.text() == ALEX  # type: ignore[union-attr]
    assert app.sign_in_window.password.text() == ""  # type: ignore[union-attr]
    # And the service no longer honours the old refresh token
    client = PortalClient(service_url)
    wait_until(qtbot, lambda: app.sign_out_task is not None and app.sign_out_task.done())

    async def try_refresh() -> str:
        try:
            await client.refresh(token)
        except Exception as exc:
            return getattr(exc, "code", repr(exc))
        finally:
            await client.aclose()
        return "refreshed"

    assert run(qtbot, try_refresh()) in {"auth.refresh_invalid", "auth.refresh_reused"}


def test_activity_resumes_from_the_last_seq_after_the_service_drops(
    qtbot: Any, make_app: Any, tmp_path: Path
) -> None:
    # Given Alex watching Activity against a service of our own that we can take down
    settings = ServiceSettings(data_dir=tmp_path / "svc")
    service = EmbeddedService(settings)
    url = service.start()
    port = service.port
    app = make_app(url, tmp_path)
    try:
        sign_in(qtbot, app, ALEX, PASSWORD)
        view = wait_for_overview(qtbot, app)
        view.show_page("activity")
        wait_until(qtbot, lambda: view.feed_state is LiveState.LIVE)
        model = view.activity_page.model
        seen_before = model.last_seq

        # When the service goes away, the indicator says so
        run(qtbot, asyncio.to_thread(service.stop), timeout=30_000)
        wait_until(
            qtbot,
            lambda: view.feed_state in (LiveState.RECONNECTING, LiveState.OFFLINE),
            timeout=15_000,
        )
        assert app.main_window.feed_indicator.property("state") in {"reconnecting", "offline"}  # type: ignore[union-attr]
        # And a look at the notifications meanwhile says Portal can't be reached
        centre = app.main_window.notifications  # type: ignore[union-attr]
        centre.refresh()
        wait_until(qtbot, lambda: "could not reach" in centre.panel.error.text())

        # And when it comes back on the same address, the feed reconnects by itself
        service = EmbeddedService(settings, port=port)
        run(qtbot, asyncio.to_thread(service.start), timeout=120_000)
        # The feed retries with backoff capped at 15 s; a loaded machine restarts slowly.
        wait_until(qtbot, lambda: view.feed_state is LiveState.LIVE, timeout=90_000)
        # And the offline message goes by itself once the feed is live again
        wait_until(qtbot, centre.panel.error.isHidden)
        with httpx.Client(base_url=f"{url}/api/v1", timeout=30) as agent:
            tokens = agent.post(
                "/auth/sign-in", json={"email": "agent@portal.example", "password": PASSWORD}
            ).json()
            auth = {"Authorization": f"Bearer {tokens['access_token']}"}
            reconnected_at = model.last_seq
            assert agent.get(f"/accounts/{view.account_id}", headers=auth).status_code == 200
            wait_until(
                qtbot,
                lambda: any(
                    model.event_at(r).action == "account.viewed" and model.event_at(r).seq > reconnected_at
                    for r in range(model.rowCount())
                ),
            )
            # Then it resumed from the last seq: every event exactly once, none missing
            page = agent.get(
                f"/accounts/{view.account_id}/events", params={"limit": 500}, headers=auth
            ).json()
        assert not page["has_more"]
        page_seqs = [e["seq"] for e in page["events"]]
        wait_until(qtbot, lambda: model.last_seq >= page_seqs[-1])
        model_seqs = [model.event_at(r).seq for r in range(model.total - 1, -1, -1)]
        assert [seq for seq in model_seqs if seq <= page_seqs[-1]] == page_seqs
        assert model.last_seq > seen_before
    finally:
        run(qtbot, app.shutdown(), timeout=30_000)
        run(qtbot, asyncio.to_thread(service.stop), timeout=30_000)


def test_overview_words_the_alerts_that_need_attention(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path
) -> None:
    # Priya's seeded account has a payment past due
    app = make_app(service_url, tmp_path)
    sign_in(qtbot, app, "priya.shah@example.com", PASSWORD)
    view = wait_for_overview(qtbot, app)
    assert any(a.code == "payment.past_due" for a in view.overview.alerts)
    shown = " | ".join(texts(view.overview_page))
    assert "Payment past due on" in shown and "is overdue" in shown
    assert "Renters insurance" in shown
    # The policy card shows the debt itself, in the danger colour
    assert any(
        label.property("role") == "value-danger" and label.text() not in {"", "$0.00"}
        for label in view.overview_page.findChildren(QLabel)
    )
