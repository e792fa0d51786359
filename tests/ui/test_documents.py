"""Policies, documents and ID cards in the desktop app, against the real embedded service."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QLabel

from portal_app.client import PortalClient
from tests.pdf_support import pdf_text
from tests.ui.conftest import PASSWORD, run
from ui.account_view import AccountView
from ui.pages.idcards import IdCardsPage

JAMIE, PRIYA, AGENT = "jamie.morgan@example.com", "priya.shah@example.com", "agent@portal.example"


def texts(widget: Any) -> str:
    return " | ".join(label.text() for label in widget.findChildren(QLabel))


def open_view(
    qtbot: Any, service_url: str, email: str, data_dir: Path, account_id: str | None = None
) -> AccountView:
    client = PortalClient(service_url)
    run(qtbot, client.sign_in(email, PASSWORD))
    assert client.user is not None
    view = AccountView(client, account_id or client.user.accounts[0].id, data_dir=data_dir)
    view.resize(1280, 800)
    qtbot.addWidget(view)
    view.show()
    view.start()
    qtbot.waitUntil(lambda: view.overview is not None, timeout=20_000)
    return view


def close_view(qtbot: Any, view: AccountView) -> None:
    run(qtbot, view.aclose())
    run(qtbot, view.client.aclose())


def test_policy_detail_and_contact_details_reach_the_agent_at_once(
    qtbot: Any, service_url: str, tmp_path: Path
) -> None:
    # Given Jamie on the Policies page, and an agent with the same account open elsewhere
    view = open_view(qtbot, service_url, JAMIE, tmp_path / "jamie")
    agent = open_view(qtbot, service_url, AGENT, tmp_path / "agent", account_id=view.account_id)
    qtbot.waitUntil(lambda: agent.feed_state.value == "live", timeout=15_000)
    try:
        view.show_page("policies")
        page = view.policies_page
        assert "Policy AUT-100234" in texts(page) and "Policy HOM-200871" in texts(page)

        # When Jamie opens the auto policy, the detail shows people, vehicles and coverages
        auto = next(p for p in view.overview.policies if p.product_line == "auto")  # type: ignore[union-attr]
        page.open_policy(auto.id)
        qtbot.waitUntil(lambda: page.detail_view is not None, timeout=10_000)
        shown = texts(page.detail_view)
        for needle in (
            "2021 Toyota RAV4 XLE",
            "19XFC2F59JE012345",
            "Riley Morgan (Child)",
            "Bodily injury liability",
        ):
            assert needle in shown, needle
        assert "$100,000.00 each person · $300,000.00 each accident" in shown
        page.detail_view.back_button.click()  # type: ignore[union-attr]
        assert page.detail_view is None and page.list_area.isVisible()

        # When Jamie types a bad phone number, the error sits under the field and nothing is sent
        card = page.contact
        assert card.holder is not None and card.holder.full_name == "Jamie Morgan"

        def contact_changes() -> int:
            events = run(qtbot, view.client.account_events(view.account_id, limit=500)).events
            return sum(e.action == "holder.contact_updated" for e in events)

        before = contact_changes()
        card.inputs["phone"].setText("12")
        card.inputs["phone"].setModified(True)
        card.save()
        qtbot.waitUntil(lambda: bool(card.field_error_text("phone")), timeout=15_000)
        assert "at least 7 digits" in card.field_error_text("phone")
        assert card.inputs["phone"].property("invalid") is True
        assert contact_changes() == before

        # When the phone is fixed and paperless switched on, Save sends both
        card.inputs["phone"].setText("+1 312 555 0190")
        card.inputs["email"].setText("not-an-email")
        card.inputs["email"].setModified(True)
        card.save()
        qtbot.waitUntil(lambda: bool(card.field_error_text("email")), timeout=15_000)
        assert "name@example.com" in card.field_error_text("email")
        card.inputs["email"].setText("jamie.morgan@example.com")
        card.paperless.setChecked(True)
        card.save()
        qtbot.waitUntil(lambda: card.result.text().startswith("Saved"), timeout=10_000)
        assert card.holder.phone == "+1 312 555 0190" and card.holder.paperless is True
        assert not card.field_error_text("phone") and not card.field_error_text("email")

        # Then the agent's open account view shows the change without anyone reloading
        def agent_sees() -> bool:
            jamie = next((h for h in agent.overview.holders if h.full_name == "Jamie Morgan"), None)  # type: ignore[union-attr]
            return jamie is not None and jamie.phone == "+1 312 555 0190" and jamie.paperless

        qtbot.waitUntil(agent_sees, timeout=10_000)
        agent.show_page("policies")
        agent.policies_page.contact.who.setCurrentIndex(
            agent.policies_page.contact.who.findText("Jamie Morgan")
        )
        assert agent.policies_page.contact.inputs["phone"].text() == "+1 312 555 0190"
        events = run(qtbot, view.client.account_events(view.account_id, limit=500)).events
        change = [e for e in events if e.action == "holder.contact_updated"][-1]
        assert change.after == {"phone": "+1 312 555 0190", "paperless": True}
        assert change.before == {"phone": "+1 312 555 0177", "paperless": False}
        # Staff desks keep no offline copies of a customer's cards (and record no downloads)
        agent.show_page("idcards")
        qtbot.waitUntil(lambda: bool(agent.idcards_page.cards), timeout=20_000)
        assert not agent.idcards_page.keeps_copies
        assert not (tmp_path / "agent" / "offline-id-cards").exists()
        assert not [e for e in events if e.action == "document.downloaded" and e.actor_role == "agent"]
    finally:
        close_view(qtbot, agent)
        close_view(qtbot, view)


def test_documents_page_filters_views_saves_and_prints(qtbot: Any, service_url: str, tmp_path: Path) -> None:
    view = open_view(qtbot, service_url, JAMIE, tmp_path / "jamie")
    try:
        page = view.documents_page
        view.show_page("documents")
        qtbot.waitUntil(lambda: page.loaded, timeout=20_000)
        assert page.model.rowCount() == 10
        # Filters: type, policy, text
        page.kind_filter.setCurrentIndex(page.kind_filter.findText("ID cards"))
        assert {d.kind for d in page.visible_documents()} == {"id_card", "id_card_wallet"}
        assert len(page.visible_documents()) == 4
        page.kind_filter.setCurrentIndex(0)
        home = next(p for p in view.overview.policies if p.product_line == "home")  # type: ignore[union-attr]
        page.filter_policy(home.id)
        assert {d.policy_number for d in page.visible_documents()} == {"HOM-200871"}
        page.search.setText("declarations")
        assert [d.kind for d in page.visible_documents()] == ["declarations"]
        page.search.setText("no such paper")
        assert page.visible_documents() == [] and page.empty.isVisible()
        page.search.clear()

        # Opening a document shows it in the viewer and records a view
        declarations = next(d for d in page.visible_documents() if d.kind == "declarations")
        page.open_document(declarations.id)
        qtbot.waitUntil(lambda: page.viewer.document is not None, timeout=10_000)
        assert page.viewer.pdf.pageCount() == declarations.page_count
        assert page.viewer.view.isVisible() and page.viewer.save_button.isEnabled()

        # Save as writes the exact bytes the service holds (and records a download)
        target = tmp_path / "saved.pdf"
        page.save_as(target)
        qtbot.waitUntil(target.exists, timeout=10_000)
        assert hashlib.sha256(target.read_bytes()).hexdigest() == declarations.sha256

        # Print renders every page to the printer (a PDF printer here)
        printed = tmp_path / "printed.pdf"
        printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(printed))
        assert page.print_document(printer) == declarations.page_count
        assert pdf_text(printed.read_bytes())[0] == declarations.page_count

        events = run(qtbot, view.client.account_events(view.account_id, limit=500)).events
        mine = [(e.action, e.actor_name) for e in events if e.entity_id == declarations.id]
        assert ("document.viewed", "Jamie Morgan") in mine
        assert ("document.downloaded", "Jamie Morgan") in mine
    finally:
        close_view(qtbot, view)


def test_id_cards_show_offline_from_the_last_fetch(qtbot: Any, service_url: str, tmp_path: Path) -> None:
    # Given Priya has opened the app once while Portal was reachable
    view = open_view(qtbot, service_url, PRIYA, tmp_path)
    try:
        page = view.idcards_page
        view.show_page("idcards")  # cards are fetched when the page is first shown
        qtbot.waitUntil(lambda: bool(page.cards), timeout=20_000)
        card = page.cards[0]
        assert card.vehicle.description == "2019 Subaru Outback Premium" and card.status == "valid"
        assert "2019 Subaru Outback Premium" in texts(page) and not page.offline
        assert page.store is not None and page.keeps_copies
        # Priya saves the wallet card once (a recorded download; the copy is kept for offline use)
        online_wallet = tmp_path / "online-wallet.pdf"
        page.save(card, "wallet", online_wallet)
        qtbot.waitUntil(online_wallet.exists, timeout=10_000)
        assert page.store.pdf(card.wallet_document_id) == online_wallet.read_bytes()
        assert page.store.pdf(card.page_document_id) is None  # nothing fetched that she did not ask for
        account_id = view.account_id
    finally:
        close_view(qtbot, view)

    # When the app next starts and the service cannot be reached
    offline_client = PortalClient("http://127.0.0.1:9")
    offline_client.restore("kept-refresh-token")  # as after a restart with "keep me signed in"
    offline = IdCardsPage(offline_client, account_id, data_dir=tmp_path)
    qtbot.addWidget(offline)
    offline.show()
    offline.refresh()
    qtbot.waitUntil(lambda: bool(offline.cards), timeout=15_000)
    # Then the saved cards show, marked as offline with when they were fetched
    assert offline.offline and offline.cards[0].code == card.code
    shown = texts(offline)
    assert "You are offline" in shown and "Fetched " in shown
    assert "2019 Subaru Outback Premium" in shown
    # And the wallet PDF saves from the kept copy, the printable page is drawn from the kept data
    wallet, printable = tmp_path / "wallet.pdf", tmp_path / "page.pdf"
    offline.save(offline.cards[0], "wallet", wallet)
    offline.save(offline.cards[0], "page", printable)
    qtbot.waitUntil(lambda: wallet.exists() and printable.exists(), timeout=10_000)
    assert wallet.read_bytes() == online_wallet.read_bytes()
    pages, text = pdf_text(printable.read_bytes())
    flat = " ".join(text.replace("\ufb04", "ffl").split())  # Qt's PDF keeps the "ffl" ligature
    assert pages == 1 and "AUT-100877" in flat and "Printed offline from the card fetched" in flat
    run(qtbot, offline_client.aclose())
