"""Screenshots of the staff window (issue 7), called from portal_app.screenshots.

The customer's window is already open and live; an agent searches, opens the account and
watches the customer's own changes arrive; a supervisor sees who views what; branch staff
verify a customer (with an inline refusal first) and reach the counter tools.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from portal_app.client import LiveState, PortalClient
from ui.staff.window import StaffWindow

PASSWORD = "portal-demo-2026"
SIZE = (1440, 880)


async def _until(check: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


async def _window(
    base: str, email: str, data_dir: Path, headers: dict[str, str] | None = None
) -> StaffWindow:
    client = PortalClient(base, service_headers=headers)
    await client.sign_in(email, PASSWORD)
    assert client.user is not None
    window = StaffWindow(client, client.user, data_dir=data_dir / email)
    window.resize(*SIZE)
    window.show()
    await asyncio.sleep(0.3)
    return window


async def _close(window: StaffWindow) -> None:
    await window.aclose()
    await asyncio.sleep(0.3)
    window.hide()
    await window.client.aclose()


async def shoot_staff(
    base: str,
    out: Path,
    data_dir: Path,
    save: Callable[[Any, Path], None],
    customer: PortalClient,
    customer_window: Any,
    headers: dict[str, str] | None = None,
) -> None:
    """Save staff-*.png, branch-*.png and customer-sees-agent.png into `out`.

    `headers`: what the app's own embedded service asks of every client (its launch key)."""
    agent = await _window(base, "agent@portal.example", data_dir, headers)
    try:
        save(agent, out / "staff-start.png")
        agent.search.box.setText("mor")
        await _until(lambda: agent.search.model.rowCount() >= 2, 20, "search results")
        await asyncio.sleep(0.3)
        save(agent, out / "staff-search.png")
        hit = agent.search.model.hits[0]
        tab = agent.open_account(hit.account_id, hit.full_name)
        await _until(
            lambda: tab.view.feed_state is LiveState.LIVE and tab.view.overview is not None, 30, "the tab"
        )
        await _until(lambda: tab.presence.property("online") is True, 20, "the customer's presence")
        await asyncio.sleep(2.0)  # the pages' own loads (documents, cards) settle
        # The customer, in their own window, changes the payment day and a phone number.
        overview = tab.view.overview
        assert overview is not None
        auto = next(p for p in overview.policies if p.product_line == "auto")
        await customer.set_payment_day(auto.id, 18 if auto.payment_day != 18 else 19)
        holder = next(h for h in overview.holders if h.is_primary)
        await customer.update_holder_contact(hit.account_id, holder.id, phone="+1 312 555 0123")
        await _until(
            lambda: "holder.contact_updated" in tab.changelog.model.fresh_actions(), 20, "the live change"
        )
        await asyncio.sleep(1.0)
        await _until(lambda: not tab.view.progress.isVisible(), 20, "the view's refresh")
        save(agent, out / "staff-account-live.png")
        save(customer_window, out / "customer-sees-agent.png")
        tab.side_tabs.setCurrentWidget(tab.notes)
        tab.notes.editor.setPlainText("Customer moved their payment day to match payday; no fee applies.")
        await tab.notes.add_note()
        await asyncio.sleep(0.5)
        save(agent, out / "staff-notes.png")

        supervisor = await _window(base, "supervisor@portal.example", data_dir, headers)
        try:
            viewing = supervisor.open_accounts_panel
            assert viewing is not None
            supervisor.tabs.setCurrentWidget(viewing)
            viewing.refresh()
            await _until(lambda: bool(viewing.accounts), 20, "the accounts being viewed")
            await asyncio.sleep(0.3)
            save(supervisor, out / "supervisor-open-accounts.png")
        finally:
            await _close(supervisor)
    finally:
        await _close(agent)

    desk = await _window(base, "branch@portal.example", data_dir, headers)
    try:
        panel = desk.verify_panel
        assert panel is not None
        desk.search.box.setText("jamie mor")
        await _until(lambda: desk.search.model.rowCount() >= 1, 20, "search results")
        desk.search._open_first()
        panel.fields["date_of_birth"].setText("1986-09-20")
        panel.fields["postcode"].setText("60657")
        await panel.verify()
        await _until(lambda: panel.form_error.isVisible(), 20, "the refusal")
        await asyncio.sleep(0.3)
        save(desk, out / "branch-verify-error.png")
        panel.fields["date_of_birth"].setText("1986-09-02")
        await panel.verify()
        await _until(lambda: bool(desk.account_tabs()), 20, "the verified account")
        tab = desk.account_tabs()[0]
        await _until(
            lambda: tab.view.feed_state is LiveState.LIVE and tab.view.overview is not None, 30, "the tab"
        )
        await asyncio.sleep(2.0)
        save(desk, out / "branch-account.png")
        desk.tabs.setCurrentWidget(panel)
        panel.prefill("")
        await asyncio.sleep(0.3)
        save(desk, out / "branch-verify.png")
    finally:
        await _close(desk)


# Every staff page, for every staff role, at the smallest and the common laptop size (issue 14).
SIZES = ((1024, 700), (1366, 850))
ACCOUNT_PAGES = (
    "overview",
    "policies",
    "documents",
    "idcards",
    "payments",
    "claims",
    "cases",
    "activity",
    "help",
)


async def _settled(tab: Any) -> None:
    await _until(
        lambda: tab.view.feed_state is LiveState.LIVE and tab.view.overview is not None, 30, "the tab"
    )
    await asyncio.sleep(1.5)  # the pages' own loads (documents, cards, payments) settle
    await _until(lambda: not tab.view.progress.isVisible(), 20, "the view's refresh")


async def _account_pages(
    window: StaffWindow, tab: Any, out: Path, prefix: str, save: Callable[[Any, Path], None]
) -> None:
    for page in ACCOUNT_PAGES:
        tab.view.show_page(page)
        await asyncio.sleep(1.5 if page in ("documents", "idcards", "payments", "claims") else 0.3)
        save(window, out / f"{prefix}-{page}.png")


async def shoot_every_staff_page(
    base: str,
    out: Path,
    data_dir: Path,
    save: Callable[[Any, Path], None],
    *,
    morgan: str,
    shah: str,
    sizes: tuple[tuple[int, int], ...] = SIZES,
) -> None:
    """staff-<role>-<w>x<h>-<page>.png for the agent, branch staff and the supervisor."""
    for width, height in sizes:
        await _shoot_size(base, out, data_dir, save, morgan=morgan, shah=shah, width=width, height=height)


async def _shoot_size(
    base: str,
    out: Path,
    data_dir: Path,
    save: Callable[[Any, Path], None],
    *,
    morgan: str,
    shah: str,
    width: int,
    height: int,
) -> None:
    size = f"{width}x{height}"
    # The agent: start, search, every page of an open account, each side panel, the queue.
    agent = await _window(base, "agent@portal.example", data_dir)
    try:
        agent.resize(width, height)
        await asyncio.sleep(0.3)
        save(agent, out / f"staff-agent-{size}-start.png")
        agent.search.box.setText("mor")
        await _until(lambda: agent.search.model.rowCount() >= 2, 20, "search results")
        await asyncio.sleep(0.3)
        save(agent, out / f"staff-agent-{size}-search.png")
        tab = agent.open_account(morgan, "Alex Morgan")
        await _settled(tab)
        await _account_pages(agent, tab, out, f"staff-agent-{size}", save)
        tab.view.show_page("overview")
        tab.side_tabs.setCurrentWidget(tab.changelog)
        tab.side_toggle.setChecked(True)  # a drawer on screens below DRAWER_BELOW: open it
        await asyncio.sleep(0.3)
        save(agent, out / f"staff-agent-{size}-changelog.png")
        tab.side_tabs.setCurrentWidget(tab.notes)
        await asyncio.sleep(0.3)
        save(agent, out / f"staff-agent-{size}-notes.png")
        assert tab.evidence is not None
        tab.show_evidence()
        auto = tab.evidence.policy.findText("AUT", Qt.MatchFlag.MatchStartsWith)
        tab.evidence.policy.setCurrentIndex(max(auto, 0))
        tab.evidence.load_answer("charges")
        await _until(lambda: tab.evidence is not None and tab.evidence.answer is not None, 20, "the answer")
        await asyncio.sleep(0.4)
        save(agent, out / f"staff-agent-{size}-evidence-charges.png")
        shah_tab = agent.open_account(shah, "Priya Shah")
        await _settled(shah_tab)
        assert shah_tab.evidence is not None
        shah_tab.show_evidence()
        renters = shah_tab.evidence.policy.findText("REN", Qt.MatchFlag.MatchStartsWith)
        shah_tab.evidence.policy.setCurrentIndex(max(renters, 0))
        shah_tab.evidence.load_answer("cancellation")
        await _until(
            lambda: shah_tab.evidence is not None and shah_tab.evidence.answer is not None, 20, "answer"
        )
        await asyncio.sleep(0.4)
        save(agent, out / f"staff-agent-{size}-evidence-cancellation.png")
        assert agent.cases_page is not None and agent.case_queue is not None
        agent.tabs.setCurrentWidget(agent.cases_page)
        await _until(
            lambda: agent.case_queue is not None and agent.case_queue.loaded_at is not None, 20, "queue"
        )
        await asyncio.sleep(0.4)
        save(agent, out / f"staff-agent-{size}-cases.png")
    finally:
        await _close(agent)

    # Branch staff: the counter, a refusal, the verified account with the counter tools.
    desk = await _window(base, "branch@portal.example", data_dir)
    try:
        desk.resize(width, height)
        panel = desk.verify_panel
        assert panel is not None
        await asyncio.sleep(0.3)
        save(desk, out / f"staff-branch-{size}-counter.png")
        panel.fields["policy_number"].setText("AUT-100234")
        panel.fields["date_of_birth"].setText("1984-03-14")
        panel.fields["postcode"].setText("60657")
        await panel.verify()
        await _until(lambda: bool(desk.account_tabs()), 20, "the verified account")
        tab = desk.account_tabs()[0]
        await _settled(tab)
        await _account_pages(desk, tab, out, f"staff-branch-{size}", save)
    finally:
        await _close(desk)

    # The supervisor: who views what, the dashboard, an account with its evidence.
    sup = await _window(base, "supervisor@portal.example", data_dir)
    try:
        sup.resize(width, height)
        viewing = sup.open_accounts_panel
        assert viewing is not None
        sup.tabs.setCurrentWidget(viewing)
        await asyncio.sleep(0.5)
        save(sup, out / f"staff-supervisor-{size}-being-viewed.png")
        sup.tabs.setCurrentWidget(sup.service_dashboard)
        await _until(lambda: sup.service_dashboard.figures is not None, 20, "the figures")
        await asyncio.sleep(0.6)
        save(sup, out / f"staff-supervisor-{size}-dashboard.png")
        tab = sup.open_account(shah, "Priya Shah")
        await _settled(tab)
        tab.view.show_page("activity")
        await asyncio.sleep(0.3)
        save(sup, out / f"staff-supervisor-{size}-account-activity.png")
        tab.show_evidence()
        await asyncio.sleep(0.5)
        save(sup, out / f"staff-supervisor-{size}-account-evidence.png")
    finally:
        await _close(sup)
