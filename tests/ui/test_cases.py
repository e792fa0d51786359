"""Complaints, evidence export and the supervisor dashboard in the app, against the real service."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from portal_app.client import PortalClient
from tests.ui.conftest import PASSWORD, run
from ui.account_view import PAGES, AccountView
from ui.staff_evidence import EvidencePanel
from ui.supervisor_dashboard import SupervisorDashboard

JAMIE, AGENT, SUPERVISOR = "jamie.morgan@example.com", "agent@portal.example", "supervisor@portal.example"


def texts(widget: Any) -> str:
    return " | ".join(label.text() for label in widget.findChildren(QLabel))


def _client(qtbot: Any, service_url: str, email: str) -> PortalClient:
    client = PortalClient(service_url)
    run(qtbot, client.sign_in(email, PASSWORD))
    return client


def test_customer_raises_a_case_with_an_inline_error_then_escalates_it(
    qtbot: Any, service_url: str, tmp_path: Path
) -> None:
    client = _client(qtbot, service_url, JAMIE)
    assert client.user is not None
    view = AccountView(client, client.user.accounts[0].id, data_dir=tmp_path)
    view.resize(1280, 800)
    qtbot.addWidget(view)
    view.show()
    view.start()
    try:
        qtbot.waitUntil(lambda: view.overview is not None, timeout=20_000)
        # The Complaints page sits in the navigation with its own Ctrl+N.
        index = [k for k, *_ in PAGES].index("cases")
        qtbot.keyClick(view, Qt.Key.Key_1 + index, Qt.KeyboardModifier.ControlModifier)
        assert view.current_page() == "cases"
        page = view.cases_page
        qtbot.waitUntil(lambda: bool(page.cards) or "No complaints" in texts(page), timeout=10_000)
        before = len(page.cases)

        # Given the form with a description the service will refuse (checked client-side first)
        page.open_form()
        form = page.form
        # The form checks files against the limits the service states, not a copied constant
        qtbot.waitUntil(lambda: form.limits is not None, timeout=10_000)
        limits = run(qtbot, client.case_list(view.account_id))[1]
        assert form.limits == limits
        big = tmp_path / "scan.txt"
        big.write_bytes(b"x" * (limits.max_attachment_bytes + 1))
        form.add_files([big])
        assert form.attachments == []
        assert (
            form.error_text("attachments")
            == f"scan.txt is larger than {limits.max_attachment_bytes // 1000} KB."
        )
        form.category.setCurrentIndex(form.category.findData("double_charge"))
        form.subject.setText("Charged twice in November")
        form.description.setPlainText("Twice?")
        page.submit()
        qtbot.waitUntil(lambda: bool(form.error_text("description")), timeout=5_000)
        assert form.error_text("description").startswith("Tell us a little more")
        # And an attachment of a type the service refuses: its problem code is worded inline.
        bad = tmp_path / "statement.pdf"
        bad.write_bytes(b"not really a pdf")
        form.add_files([bad])
        form.description.setPlainText("My card was charged twice on 3 November for the same premium.")
        page.submit()
        qtbot.waitUntil(lambda: bool(form.error_text("attachments")), timeout=10_000)
        assert form.error_text("attachments") == "Attach PDF, PNG, JPEG or text files only."
        assert len(run(qtbot, client.cases(view.account_id))) == before  # nothing was written

        # When the file is a real one, the case is raised and listed with its next promise.
        good = tmp_path / "statement.txt"
        good.write_text("Card ending 4242: 3 Nov $124.00, 3 Nov $124.00")
        form.attachments = []
        form.add_files([good])
        page.submit()
        qtbot.waitUntil(lambda: len(page.cases) == before + 1, timeout=10_000)
        case = page.cases[0]
        assert case.subject == "Charged twice in November" and case.status == "open"
        card = page.cards[case.id]
        assert "Next promised by" in texts(card) and "statement.txt" in texts(card)

        # When the customer says it is still not resolved, it goes to a senior handler at once.
        card.reply.setPlainText("Nobody has called me back and the money is still gone.")
        card.unresolved.setChecked(True)
        qtbot.mouseClick(card.send_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda: any(c.id == case.id and c.status == "escalated" for c in page.cases), timeout=10_000
        )
        assert "With a senior handler" in texts(page.cards[case.id])
    finally:
        run(qtbot, view.aclose())
        run(qtbot, client.aclose())


def test_agent_exports_evidence_that_verifies_and_reads_a_dispute_answer(
    qtbot: Any, service_url: str, tmp_path: Path
) -> None:
    agent = _client(qtbot, service_url, AGENT)
    jamie = _client(qtbot, service_url, JAMIE)
    assert jamie.user is not None
    account = jamie.user.accounts[0].id
    panel = EvidencePanel(agent, account)
    qtbot.addWidget(panel)
    panel.resize(1100, 760)
    panel.show()
    try:
        panel.show_overview(run(qtbot, agent.account(account)))
        assert panel.policy.count() >= 2
        # Export: progress while it runs, then the pack on disk...
        panel.export_to(tmp_path)
        qtbot.waitUntil(lambda: panel.last_pack is not None or panel.export_error.isVisible(), timeout=30_000)
        assert panel.last_pack is not None, panel.export_error.text()
        assert not panel.progress.isVisible() and "Saved" in panel.export_status.text()
        # ...which anyone can verify with the script inside it, without Portal installed.
        check = subprocess.run(
            [sys.executable, "-I", "verify_pack.py", "."], cwd=panel.last_pack, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout
        events = json.loads((panel.last_pack / "events.json").read_text())["events"]
        assert events[-1]["action"] == "evidence.exported" and events[-1]["channel"] == "agent"
        # The double-charge answer fills the table from the payment records.
        auto = next(i for i in range(panel.policy.count()) if panel.policy.itemText(i).startswith("AUT"))
        panel.policy.setCurrentIndex(auto)
        panel.load_answer("charges")
        qtbot.waitUntil(lambda: panel.answer is not None, timeout=10_000)
        # The installments paid before Portal (shown as Paid on the Payments page) are counted too.
        assert "recorded as paid without a Portal charge" in panel.summary.text()
        assert " 0 payments" not in panel.summary.text()
        kinds = [panel.table.item(r, 1).text() for r in range(panel.table.rowCount())]
        assert any(k.startswith("Recorded as paid") for k in kinds)

        # Beside an open account the panel is narrow: controls stack, and none is cut short.
        # (a resize stacks the rows, which lowers the minimum width a later resize reaches)
        def narrow() -> bool:
            panel.resize(400, 760)
            return panel.width() == 400

        qtbot.waitUntil(narrow, timeout=5000)
        for control in (panel.limit, panel.cancel_button, panel.charges_button, panel.export_button):
            assert control.width() >= control.sizeHint().width(), control.text()
    finally:
        run(qtbot, agent.aclose())
        run(qtbot, jamie.aclose())


def test_policyholder_cannot_export_and_sees_why(qtbot: Any, service_url: str, tmp_path: Path) -> None:
    jamie = _client(qtbot, service_url, JAMIE)
    assert jamie.user is not None
    panel = EvidencePanel(jamie, jamie.user.accounts[0].id)
    qtbot.addWidget(panel)
    panel.show()
    try:
        panel.export_to(tmp_path)
        qtbot.waitUntil(lambda: panel.export_error.isVisible(), timeout=10_000)
        assert panel.export_error.text() == "Only call-centre staff and supervisors can export evidence."
        assert panel.last_pack is None and panel.export_button.isEnabled()
    finally:
        run(qtbot, jamie.aclose())


def test_supervisor_dashboard_draws_figures_and_counts_down(qtbot: Any, service_url: str) -> None:
    sup = _client(qtbot, service_url, SUPERVISOR)
    dash = SupervisorDashboard(sup)
    qtbot.addWidget(dash)
    dash.resize(1280, 1400)
    dash.show()
    try:
        dash.reload()
        qtbot.waitUntil(lambda: dash.figures is not None and bool(dash.queue.model.cases), timeout=15_000)
        figures = dash.figures
        assert figures is not None and len(figures.days) == 14
        assert dash.tiles["open"][1].text() == str(figures.open_cases)  # type: ignore[attr-defined]
        assert "Opened" in dash.cases_chart.accessibleDescription()
        model = dash.queue.model
        first = model.data(model.index(0, 4))
        qtbot.wait(1100)
        assert model.data(model.index(0, 4)) != first  # the countdown moves every second
        grab = dash.cases_chart.grab()
        assert not grab.isNull() and grab.width() > 100
    finally:
        dash.queue.stop()
        run(qtbot, sup.aclose())
    # An agent is told, in words, that the figures are for supervisors.
    agent = _client(qtbot, service_url, AGENT)
    other = SupervisorDashboard(agent)
    qtbot.addWidget(other)
    other.show()
    try:
        other.reload()
        qtbot.waitUntil(lambda: other.error.isVisible(), timeout=10_000)
        assert other.error.text() == "The service dashboard is for supervisors."
    finally:
        other.queue.stop()
        run(qtbot, agent.aclose())
