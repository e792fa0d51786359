"""The staff window against a real embedded service: the role decides the window, search as you
type, an account tab with the acting-for banner, presence, the live change log and notes, the
branch desk's verification and counter printing, and the supervisor's list."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrinter

from portal_app.client import LiveState, PortalClient
from portal_app.embedded import EmbeddedService
from services.config import ServiceSettings
from tests.staff_support import settle
from tests.ui.conftest import PASSWORD, run
from ui.staff.account_tab import AccountTab
from ui.staff.window import StaffWindow

ALEX, AGENT, BRANCH, SUPERVISOR = (
    "alex.morgan@example.com",
    "agent@portal.example",
    "branch@portal.example",
    "supervisor@portal.example",
)


@pytest.fixture(scope="module")
def staff_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A service of its own: these tests add notes, presence and a verification lock."""
    service = EmbeddedService(ServiceSettings(data_dir=tmp_path_factory.mktemp("staff-service")))
    url = service.start()
    yield url
    service.stop()


@pytest.fixture
def signed_in(qtbot: Any, tmp_path: Path) -> Iterator[Any]:
    """Signed-in PortalClients and StaffWindows, closed cleanly after the test."""
    clients: list[PortalClient] = []
    windows: list[StaffWindow] = []

    def client(url: str, email: str) -> PortalClient:
        c = PortalClient(url)
        run(qtbot, c.sign_in(email, PASSWORD))
        clients.append(c)
        return c

    def window(url: str, email: str) -> StaffWindow:
        c = client(url, email)
        assert c.user is not None
        w = StaffWindow(c, c.user, data_dir=tmp_path / email)
        w.show()
        windows.append(w)
        return w

    yield client, window
    for w in windows:
        run(qtbot, w.aclose())
    settle(qtbot)
    for w in windows:
        w.hide()
        w.deleteLater()
    for c in clients:
        run(qtbot, c.aclose())


def wait_live(qtbot: Any, tab: AccountTab) -> None:
    qtbot.waitUntil(
        lambda: tab.view.feed_state is LiveState.LIVE and tab.view.overview is not None, timeout=15_000
    )


def test_the_role_decides_which_window_opens(
    qtbot: Any, make_app: Any, staff_service: str, tmp_path: Path
) -> None:
    # Given the desktop app at its sign-in window
    app = make_app(staff_service, tmp_path)
    app.start()
    qtbot.waitUntil(lambda: app.sign_in_window is not None and app.sign_in_window.isVisible(), timeout=15_000)
    window = app.sign_in_window
    # When an agent signs in
    window.email.setText(AGENT)
    window.password.setText(PASSWORD)
    qtbot.mouseClick(window.sign_in_button, Qt.MouseButton.LeftButton)
    # Then the staff window opens, not the policyholder's
    qtbot.waitUntil(
        lambda: isinstance(app.main_window, StaffWindow) and app.main_window.isVisible(), timeout=20_000
    )
    staff = app.main_window
    assert staff.windowTitle() == "Portal — Agent console"
    assert staff.tabs.tabText(0) == "Start" and staff.verify_panel is None
    assert staff.open_accounts_panel is None  # only supervisors see who views what


def test_agent_finds_opens_and_watches_the_account_live(
    qtbot: Any, staff_service: str, signed_in: Any
) -> None:
    client, window = signed_in
    agent = window(staff_service, AGENT)
    # When the agent types part of a name, results appear without pressing anything
    qtbot.keyClicks(agent.search.box, "morg")
    qtbot.waitUntil(lambda: agent.search.model.rowCount() == 2, timeout=10_000)
    assert [h.full_name for h in agent.search.model.hits] == ["Alex Morgan", "Jamie Morgan"]
    assert "2 customers" in agent.search.status.text()
    # And a policy number finds the household too
    agent.search.box.setText("HOM-2008")
    qtbot.waitUntil(lambda: agent.search.last_query == "HOM-2008", timeout=10_000)
    assert agent.search.model.hits[0].matched == "HOM-200871"
    # When they press Enter, the first result opens in a tab marked "acting for"
    qtbot.keyClick(agent.search.box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(agent.account_tabs()) == 1, timeout=5_000)
    tab = agent.account_tabs()[0]
    wait_live(qtbot, tab)
    assert tab.acting.text() == "Acting for Alex Morgan — recorded as Sam Rivera (agent)"
    assert agent.tabs.tabText(agent.tabs.currentIndex()) == "Alex Morgan"
    # The opening itself is on the trail and shows in the change log
    qtbot.waitUntil(
        lambda: (
            "account.viewed"
            in [tab.changelog.model.event_at(i).action for i in range(tab.changelog.model.rowCount())]
        ),
        timeout=10_000,
    )
    assert tab.presence.text() == "Customer not in the app"

    # When the customer opens their app (the live feed with presence)...
    alex = client(staff_service, ALEX)
    account_id = tab.account_id
    seen: list[Any] = []

    async def customer_app() -> None:
        async for _ in alex.live_events(account_id, 0, on_presence=seen.append):
            pass

    customer = asyncio.ensure_future(customer_app())
    try:
        # ...the agent sees them online, and the customer sees the agent
        qtbot.waitUntil(lambda: tab.presence.text() == "● Alex online in the app", timeout=10_000)
        assert tab.presence.property("online") is True
        qtbot.waitUntil(
            lambda: bool(seen) and {v.name for v in seen[-1]} == {"Alex Morgan", "Sam Rivera"}, timeout=10_000
        )
        # When the customer changes their phone in their app
        holder = tab.view.overview.holders[0]
        with httpx.Client(
            base_url=staff_service + "/api/v1", headers={"Authorization": f"Bearer {alex._access_token}"}
        ) as http:
            r = http.patch(f"/accounts/{account_id}/holders/{holder.id}", json={"phone": "+1 312 555 0166"})
            assert r.status_code == 200, r.text
        # Then the change log shows it highlighted, and the view's data refreshes by itself
        qtbot.waitUntil(
            lambda: "holder.contact_updated" in tab.changelog.model.fresh_actions(), timeout=10_000
        )
        top = tab.changelog.model.event_at(0)
        assert (
            top.action == "holder.contact_updated"
            and top.actor_name == "Alex Morgan"
            and top.channel == "portal"
        )
        assert tab.changelog.model.is_fresh(0)
        qtbot.waitUntil(lambda: tab.view.overview.holders[0].phone == "+1 312 555 0166", timeout=10_000)
    finally:
        customer.cancel()
    qtbot.waitUntil(lambda: tab.presence.text() == "Customer not in the app", timeout=10_000)

    # When the agent writes an internal note
    tab.side_tabs.setCurrentWidget(tab.notes)
    assert not tab.notes.add_button.isEnabled()  # nothing written yet
    tab.notes.editor.setPlainText("Customer moved; confirmed the new phone on the call.")
    # What the agent sees whenever a note enters the list: the live feed's note.added can beat
    # the add's own answer, and the note must never show while its text is still in the editor.
    editor_when_listed: list[str] = []
    tab.notes.list.model().rowsInserted.connect(
        lambda *_: editor_when_listed.append(tab.notes.editor.toPlainText())
    )
    qtbot.mouseClick(tab.notes.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: bool(tab.notes.notes) and tab.notes.notes[0].body.startswith("Customer moved"), timeout=10_000
    )
    assert tab.notes.editor.toPlainText() == ""
    assert editor_when_listed and set(editor_when_listed) == {""}
    qtbot.waitUntil(lambda: "note.added" in tab.changelog.model.fresh_actions(), timeout=10_000)
    # Closing the tab closes its feed
    agent._close_tab(agent.tabs.indexOf(tab))
    qtbot.waitUntil(lambda: not agent.account_tabs(), timeout=5_000)


def test_branch_desk_verifies_then_opens_and_prints_at_the_counter(
    qtbot: Any, staff_service: str, signed_in: Any, tmp_path: Path
) -> None:
    _client, window = signed_in
    desk = window(staff_service, BRANCH)
    panel = desk.verify_panel
    assert panel is not None and desk.windowTitle() == "Portal — Branch desk"
    # A search result does not open the account: it starts the verification with the policy number
    desk.search.box.setText("jamie")
    qtbot.waitUntil(lambda: desk.search.model.rowCount() == 1, timeout=10_000)
    qtbot.keyClick(desk.search.box, Qt.Key.Key_Return)
    assert desk.account_tabs() == [] and panel.fields["policy_number"].text() == "AUT-100234"
    # A date in the wrong shape is caught inline, before asking the service
    panel.fields["date_of_birth"].setText("02/09/1986")
    panel.fields["postcode"].setText("60657")
    qtbot.mouseClick(panel.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.field_errors["date_of_birth"].isVisible(), timeout=5_000)
    assert panel.field_errors["date_of_birth"].text() == "Enter the date of birth as YYYY-MM-DD."
    assert not panel.form_error.isVisible()
    # Details that do not match are refused, worded from the code
    panel.fields["date_of_birth"].setText("1986-09-03")
    qtbot.mouseClick(panel.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.form_error.isVisible(), timeout=10_000)
    assert "do not match our records" in panel.form_error_text.text()
    assert desk.account_tabs() == []
    # The right details open the account, marked as done at the branch for Jamie
    panel.fields["date_of_birth"].setText("1986-09-02")
    qtbot.mouseClick(panel.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(desk.account_tabs()) == 1, timeout=10_000)
    tab = desk.account_tabs()[0]
    wait_live(qtbot, tab)
    assert tab.acting.text() == "Acting for Jamie Morgan — recorded as Dana Okafor (branch staff)"
    assert tab.banner.property("channel") == "branch"
    # Printing the ID card at the counter: the service's PDF, rendered page by page to the printer
    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    out = tmp_path / "printed-card.pdf"
    printer.setOutputFileName(str(out))
    pages = run(qtbot, tab.print_id_card(printer))
    assert pages >= 1 and "Sent the ID card to the printer" in tab.print_status.text()
    assert len(pypdf.PdfReader(out).pages) == pages

    # Three failed checks lock the path; the form says so and the button waits
    desk.tabs.setCurrentWidget(panel)
    for attempt in range(3):
        panel._form_error("")
        panel.fields["policy_number"].setText("AUT-100234")
        panel.fields["date_of_birth"].setText("1970-01-01")
        panel.fields["postcode"].setText("60657")
        qtbot.mouseClick(panel.verify_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.form_error.isVisible(), timeout=10_000)
        assert "do not match our records" in panel.form_error_text.text(), attempt
    panel._form_error("")
    panel.fields["date_of_birth"].setText("1986-09-02")
    qtbot.mouseClick(panel.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "locked for 15 minutes" in panel.form_error_text.text(), timeout=10_000)
    assert not panel.verify_button.isEnabled()
    assert len(desk.account_tabs()) == 1


def test_supervisor_sees_which_accounts_agents_have_open(
    qtbot: Any, staff_service: str, signed_in: Any
) -> None:
    _client, window = signed_in
    agent = window(staff_service, AGENT)
    agent.search.box.setText("priya")
    qtbot.waitUntil(lambda: agent.search.model.rowCount() == 1, timeout=10_000)
    agent.open_account(agent.search.model.hits[0].account_id, "Priya Shah")
    wait_live(qtbot, agent.account_tabs()[0])
    supervisor = window(staff_service, SUPERVISOR)
    panel = supervisor.open_accounts_panel
    assert panel is not None and supervisor.windowTitle() == "Portal — Supervisor console"
    panel.refresh()
    qtbot.waitUntil(lambda: any(a.account_name == "Shah household" for a in panel.accounts), timeout=10_000)
    row = next(a for a in panel.accounts if a.account_name == "Shah household")
    assert [s.name for s in row.staff] == ["Sam Rivera"] and not row.customer_online
    assert panel.table.item(0, 1).text().startswith("Sam Rivera (agent)")
    # Double-clicking opens it for the supervisor too (and they can act as agents do)
    panel._open_row(panel.accounts.index(row), 0)
    qtbot.waitUntil(lambda: len(supervisor.account_tabs()) == 1, timeout=5_000)
    wait_live(qtbot, supervisor.account_tabs()[0])
    tab = supervisor.account_tabs()[0]
    qtbot.waitUntil(lambda: "Sam Rivera (agent)" in tab.others.text(), timeout=10_000)


def _audit(
    seq: int, action: str, *, entity: str | None = None, outcome: str = "success", **after: Any
) -> Any:
    from portal_app.client import AuditEvent

    return AuditEvent.from_json(
        {
            "seq": seq,
            "action": action,
            "actor_name": "Alex Morgan",
            "actor_role": "policyholder",
            "channel": "portal",
            "entity_type": "notification" if action.startswith("notification") else "payment",
            "entity_id": entity,
            "occurred_at": f"2026-11-23T09:15:{seq:02d}Z",
            "outcome": outcome,
            "after": after,
        }
    )


def test_change_log_groups_notice_deliveries_under_the_event_that_sent_them(qtbot: Any) -> None:
    from ui.activity_model import WHAT_COLUMN, ActivityTableModel
    from ui.staff.changelog import ChangeLogPanel

    events = [
        _audit(1, "payment.succeeded", entity="pay1", amount_minor=1500, currency="USD"),
        _audit(
            2,
            "notification.sent",
            entity="n1",
            cause_seq=1,
            channel="email",
            to="alex@example.com",
            title="Payment received",
        ),
        _audit(
            3,
            "notification.sent",
            entity="n1",
            cause_seq=1,
            channel="sms",
            to="+13125550123",
            title="Payment received",
        ),
        _audit(
            4,
            "notification.sent",
            entity="n2",
            channel="email",
            to="alex@example.com",
            title="Payment due soon",
        ),
        _audit(
            5,
            "notification.failed",
            entity="n2",
            outcome="failure",
            channel="sms",
            to="+1",
            title="Payment due soon",
        ),
        _audit(6, "account.viewed"),
    ]
    for model in (ActivityTableModel(), ChangeLogPanel().model):
        # Given six events, four of them deliveries of two notices
        model.add_events(events)
        # Then the log has three rows: the viewing, the calendar's notice, and the payment
        assert model.row_actions() == ["account.viewed", "notification.sent", "payment.succeeded"]
        payment = model.index(2, 0)
        assert model.rowCount(payment) == 2  # its two deliveries, one row each when expanded
        assert model.group_at(1).title() == "Notice sent: Payment due soon (2 deliveries, 1 failed)"
        assert model.group_at(2).notices_summary() == "2 notices sent"
        # When one more delivery of the payment's notice arrives live, it joins its cause
        model.add_events(
            [_audit(7, "notification.sent", entity="n3", cause_seq=1, channel="push", title="Paid")]
        )
        assert model.rowCount() == 3 and model.rowCount(model.index(2, 0)) == 3
        assert model.parent(model.index(0, 0, model.index(2, 0))).row() == 2
        # And a resume that brings an older event in keeps the groups in order
        model.add_events([_audit(0, "auth.signed_in")])
        assert model.row_actions()[-1] == "auth.signed_in" and model.rowCount(model.index(2, 0)) == 3
    activity = ActivityTableModel()
    activity.add_events(events)
    assert activity.data(activity.index(2, WHAT_COLUMN)).endswith("· 2 notices sent")


def test_change_log_row_shows_its_main_fact_in_full_at_any_width(qtbot: Any) -> None:
    from ui.staff.changelog import ChangeLogPanel

    panel = ChangeLogPanel()
    qtbot.addWidget(panel)
    long_title = "Your payment for the home policy HOM-200871 and the auto policy AUT-100234 was received"
    panel.add_events([_audit(1, "notification.sent", entity="n1", title=long_title)], highlight=True)
    heights = []
    for width in (700, 330):
        panel.resize(width, 500)
        panel.show()
        qtbot.waitUntil(lambda w=width: panel.width() == w)
        index = panel.model.index(0, 0)
        heights.append(
            panel.list.itemDelegate()
            .sizeHint(
                panel.list.viewOptions() if hasattr(panel.list, "viewOptions") else _option(panel.list), index
            )
            .height()
        )
    # Narrower means more lines, never a cut: the row grows
    assert heights[1] > heights[0]


def _option(view: Any) -> Any:
    from PySide6.QtWidgets import QStyleOptionViewItem

    option = QStyleOptionViewItem()
    option.font = view.font()
    option.fontMetrics = view.fontMetrics()
    return option


def test_cases_queue_updates_by_itself_and_on_f5(qtbot: Any, staff_service: str, signed_in: Any) -> None:
    client, window = signed_in
    agent = window(staff_service, AGENT)
    queue = agent.case_queue
    assert queue is not None and agent.cases_page is not None
    agent.tabs.setCurrentWidget(agent.cases_page)
    qtbot.waitUntil(lambda: queue.loaded_at is not None, timeout=15_000)
    # Given the agent has the customer's account open (its live feed carries case events)
    alex = client(staff_service, ALEX)
    assert alex.user is not None
    account = alex.user.accounts[0].id
    tab = agent.open_account(account, "Alex Morgan")
    wait_live(qtbot, tab)
    # When the customer raises a complaint
    subject = "Queue should show this at once"
    run(
        qtbot,
        alex.raise_case(
            account,
            kind="complaint",
            category="service",
            subject=subject,
            description="Nobody called me back about my claim, twice now.",
        ),
    )
    # Then it is in the queue without anyone pressing anything
    qtbot.waitUntil(lambda: subject in [c.subject for c in queue.model.cases], timeout=15_000)
    # And F5 on the Cases tab reloads it. Nothing else may reload it meanwhile, or the test would
    # pass without F5: close the account (its feed reloads the queue on case events), stop the
    # timer and let any fetch still owed to an earlier event finish.
    agent._close_tab(agent.tabs.indexOf(tab))
    qtbot.waitUntil(lambda: not agent.account_tabs(), timeout=5_000)
    agent.tabs.setCurrentWidget(agent.cases_page)
    queue.refresh_timer.stop()
    qtbot.waitUntil(lambda: not queue.loading, timeout=15_000)
    before = queue.loaded_at
    # A window shortcut only fires in the active window, as for a person at the keyboard; the
    # activation arrives asynchronously, so wait for it rather than pressing F5 into a window
    # that is not active yet (the key then does nothing). F5 goes to the focused widget inside.
    agent.activateWindow()
    qtbot.waitUntil(agent.isActiveWindow, timeout=10_000)
    queue.table.setFocus()
    qtbot.keyClick(queue.table, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: queue.loaded_at != before, timeout=15_000)
    assert "updates by itself" in queue.status.text()
