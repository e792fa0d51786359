"""Staff journeys on a real X server (issue 14): an agent watches a customer's payment and new
complaint arrive without pressing anything, branch staff verify and act for the customer, a
supervisor opens the dashboard. The customer acts meanwhile through the API, as their own app does."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.journeys.driver import launch, sign_in, sign_out, type_into
from tests.ui.conftest import PASSWORD, WAIT_MS
from ui.staff.account_tab import AccountTab
from ui.staff.window import StaffWindow

ALEX, AGENT, BRANCH, SUPERVISOR = (
    "alex.morgan@example.com",
    "agent@portal.example",
    "branch@portal.example",
    "supervisor@portal.example",
)


def customer(url: str, email: str) -> httpx.Client:
    tokens = httpx.post(f"{url}/api/v1/auth/sign-in", json={"email": email, "password": PASSWORD}, timeout=30)
    tokens.raise_for_status()
    return httpx.Client(
        base_url=f"{url}/api/v1",
        headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
        timeout=60,
    )


def assert_on_screen(window: StaffWindow) -> None:
    """The whole window, Sign out included, inside the screen's available area."""
    area = window.screen().availableGeometry()
    assert area.contains(window.frameGeometry().topLeft()) and window.width() <= area.width()
    assert window.height() <= area.height()
    button = window.sign_out_button
    corner = button.mapToGlobal(button.rect().bottomRight())
    assert area.contains(corner), (corner, area)


def press(qtbot: Any, window: StaffWindow, key: Qt.Key) -> None:
    """A shortcut key, as a person presses it: into the active window."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    QTest.keyClick(window, key)


def live_tab(qtbot: Any, window: StaffWindow) -> AccountTab:
    qtbot.waitUntil(lambda: len(window.account_tabs()) == 1, timeout=WAIT_MS)
    tab = window.account_tabs()[0]
    qtbot.waitUntil(
        lambda: tab.view.overview is not None and tab.view.feed_state.value == "live", timeout=WAIT_MS
    )
    return tab


@pytest.mark.timeout(600)
def test_agent_watches_a_payment_and_a_new_complaint_arrive_then_signs_out_and_in(
    qtbot: Any, make_app: Any, journey_service: str, tmp_path: Path, journey_log: Any
) -> None:
    running = launch(qtbot, make_app, journey_service, tmp_path)
    # Given an agent signed in: the console fits the 1366x850 screen, Sign out in reach
    staff = sign_in(qtbot, running, AGENT)
    assert isinstance(staff, StaffWindow)
    assert_on_screen(staff)
    # When they type part of the caller's name and press Enter
    QTest.keyClicks(staff.search.box, "alex mor")
    qtbot.waitUntil(lambda: staff.search.model.rowCount() >= 1, timeout=WAIT_MS)
    QTest.keyClick(staff.search.box, Qt.Key.Key_Return)
    tab = live_tab(qtbot, staff)
    # Then the customer's account opens in staff wording
    assert tab.view.overview_page.title_label.text() == "Overview"
    assert tab.view.nav_caption.text() == "CUSTOMER'S ACCOUNT"
    queue = staff.case_queue
    assert queue is not None
    qtbot.waitUntil(lambda: queue.loaded_at is not None, timeout=WAIT_MS)

    with customer(journey_service, ALEX) as alex:
        account = tab.account_id
        # When the customer, in their own app, adds a card (tokenised by Stripe, here localstripe)
        config = alex.get("/payments/config").json()
        token = httpx.post(
            f"{config['api_base']}/v1/payment_methods",
            headers={"Authorization": f"Bearer {config['publishable_key']}"},
            data={
                "type": "card",
                "card[number]": "4242424242424242",
                "card[exp_month]": "12",
                "card[exp_year]": "2031",
                "card[cvc]": "123",
            },
            timeout=30,
        )
        assert token.status_code == 200, token.text
        card = alex.post(
            f"/accounts/{account}/payment-methods", json={"stripe_payment_method_id": token.json()["id"]}
        )
        assert card.status_code == 201, card.text
        methods = [card.json()]
        # and pays part of the home premium with it while on the phone
        home = next(p for p in tab.view.overview.policies if p.number.startswith("HOM"))
        paid = alex.post(
            f"/policies/{home.id}/payments",
            json={
                "payment_method_id": methods[0]["id"],
                "amount_minor": 1_500,
                "request_key": uuid.uuid4().hex,
            },
        )
        assert paid.status_code == 201, paid.text
        # Then the agent sees it arrive in the change log, highlighted as new
        qtbot.waitUntil(lambda: "payment.succeeded" in tab.changelog.model.fresh_actions(), timeout=WAIT_MS)
        # (on this 1366 px screen the change log is a drawer: its button counts what arrived)
        assert tab.drawer_mode and tab.unseen > 0 and f"({tab.unseen} new)" in tab.side_toggle.text()
        press(qtbot, staff, Qt.Key.Key_F6)
        qtbot.waitUntil(tab.changelog.isVisible, timeout=WAIT_MS)
        assert tab.unseen == 0
        # When the customer raises a complaint
        subject = f"Charged for the wrong month {uuid.uuid4().hex[:6]}"
        raised = alex.post(
            f"/accounts/{account}/cases",
            json={
                "kind": "complaint",
                "category": "billing",
                "subject": subject,
                "description": "The November premium was taken for December. Please check.",
            },
        )
        assert raised.status_code == 201, raised.text
    # Then it appears in the agent's Cases queue without anyone pressing anything
    qtbot.waitUntil(lambda: subject in [c.subject for c in queue.model.cases], timeout=WAIT_MS)
    staff.tabs.setCurrentWidget(staff.cases_page)
    qtbot.waitUntil(queue.table.isVisible, timeout=WAIT_MS)
    assert subject in [c.subject for c in queue.model.cases]
    # The notices the payment sent are grouped under it, not listed one row each
    actions = tab.changelog.model.row_actions()
    assert actions.count("notification.sent") <= 1, actions

    # When they sign out and in again, the console is back
    sign_out(qtbot, running)
    again = sign_in(qtbot, running, AGENT)
    assert isinstance(again, StaffWindow) and again.isVisible()
    assert_on_screen(again)
    assert journey_log.tracebacks() == []


@pytest.mark.timeout(600)
def test_branch_staff_verify_the_customer_then_raise_a_complaint_for_them(
    qtbot: Any, make_app: Any, journey_service: str, tmp_path: Path, journey_log: Any
) -> None:
    running = launch(qtbot, make_app, journey_service, tmp_path)
    desk = sign_in(qtbot, running, BRANCH)
    assert isinstance(desk, StaffWindow) and desk.verify_panel is not None
    assert_on_screen(desk)
    panel = desk.verify_panel
    # When the clerk types the customer's policy, date of birth and postcode and verifies
    type_into(qtbot, panel.fields["policy_number"], "AUT-100234")
    type_into(qtbot, panel.fields["date_of_birth"], "1984-03-14")
    type_into(qtbot, panel.fields["postcode"], "60657")
    qtbot.mouseClick(panel.verify_button, Qt.MouseButton.LeftButton)
    # Then the account opens, marked as done at the branch for the customer
    tab = live_tab(qtbot, desk)
    assert tab.acting.text().startswith("Acting for Alex Morgan")
    # When they raise a complaint for the customer on the Complaints page
    tab.view.show_page("cases")
    page = tab.view.cases_page
    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    subject = f"Counter: wrong address on letters {uuid.uuid4().hex[:6]}"
    type_into(qtbot, page.form.subject, subject)
    page.form.description.setFocus()
    QTest.keyClicks(page.form.description, "Letters still go to the old address since the move.")
    qtbot.mouseClick(page.form.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: subject in [c.subject for c in page.cases], timeout=WAIT_MS)

    # Then the trail records it as branch staff acting for the customer
    def opened() -> Any:
        model = tab.changelog.model
        return next(
            (
                model.event_at(i)
                for i in range(model.rowCount())
                if model.event_at(i).action == "case.opened" and model.event_at(i).channel == "branch"
            ),
            None,
        )

    qtbot.waitUntil(lambda: opened() is not None, timeout=WAIT_MS)
    assert opened().on_behalf_of
    sign_out(qtbot, running)
    assert journey_log.tracebacks() == []


@pytest.mark.timeout(600)
def test_supervisor_opens_the_service_dashboard(
    qtbot: Any, make_app: Any, journey_service: str, tmp_path: Path, journey_log: Any
) -> None:
    running = launch(qtbot, make_app, journey_service, tmp_path)
    sup = sign_in(qtbot, running, SUPERVISOR)
    assert isinstance(sup, StaffWindow)
    assert_on_screen(sup)
    dash = sup.service_dashboard
    sup.tabs.setCurrentWidget(dash)
    qtbot.waitUntil(lambda: dash.figures is not None and dash.queue.loaded_at is not None, timeout=WAIT_MS)
    assert dash.tiles["open"][1].text() == str(dash.figures.open_cases)  # type: ignore[attr-defined]
    # F5 reloads what is on screen (the periodic refresh stopped, so only F5 can do it)
    dash.queue.refresh_timer.stop()
    before = dash.queue.loaded_at
    press(qtbot, sup, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: dash.queue.loaded_at != before, timeout=WAIT_MS)
    sign_out(qtbot, running)
    assert journey_log.tracebacks() == []
