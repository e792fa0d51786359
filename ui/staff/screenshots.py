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


async def _window(base: str, email: str, data_dir: Path) -> StaffWindow:
    client = PortalClient(base)
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
) -> None:
    """Save staff-*.png, branch-*.png and customer-sees-agent.png into `out`."""
    agent = await _window(base, "agent@portal.example", data_dir)
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

        supervisor = await _window(base, "supervisor@portal.example", data_dir)
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

    desk = await _window(base, "branch@portal.example", data_dir)
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
