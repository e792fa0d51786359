"""Screenshots of complaints, evidence and the supervisor dashboard, from a real service.

    python -m portal_app.case_screenshots OUTDIR

With a display (DISPLAY set) it draws on the real xcb platform; the staff window is shot for every
role and every page at 1024x700 and 1366x850 (staff-<role>-<size>-<page>.png).

Starts the embedded service on a temporary database with its clock set two weeks back, then
lives through those two weeks over HTTP as customers, agents and a supervisor would (cases raised,
acknowledged, answered, escalated when deadlines pass, resolved; a renters policy lapsing for
non-payment), so every chart and list shows what the product actually computed. Also writes the
evidence pack of the Shah household and renders its PDF pages to PNG when pdftoppm is installed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

SIZE = (1280, 800)
PASSWORD = "portal-demo-2026"
ALEX, PRIYA, JAMIE = "alex.morgan@example.com", "priya.shah@example.com", "jamie.morgan@example.com"
AGENT, SUPERVISOR = "agent@portal.example", "supervisor@portal.example"

# (day, customer, kind, category, subject, hours to acknowledge or None, hours to resolve or None)
HISTORY = [
    (0, ALEX, "complaint", "service", "Nobody called me back about my claim", 2, 20),
    (1, PRIYA, "dispute", "double_charge", "Two charges for my October renters premium", 3, 9),
    (2, JAMIE, "complaint", "billing", "Premium went up without notice", 5, 30),
    (3, ALEX, "complaint", "claim_handling", "Repair shop not approved yet", 1, 6),
    (4, PRIYA, "complaint", "service", "Agent was rude on the phone", 30, None),
    (6, JAMIE, "dispute", "payment_not_applied", "Payment on the 1st not showing", 2, 4),
    (7, ALEX, "complaint", "billing", "Paperless still sends letters", 4, 18),
    (8, PRIYA, "dispute", "cancellation", "Cancelled although I paid", 1, None),
    (9, JAMIE, "complaint", "other", "The app logged me out twice", 6, 50),
    (10, ALEX, "dispute", "double_charge", "Autopay ran twice this month", 2, 3),
    (11, PRIYA, "complaint", "claim_handling", "No update on my claim for a week", None, None),
    (12, JAMIE, "complaint", "service", "Hold time over 40 minutes", 3, None),
    (13, ALEX, "complaint", "billing", "Receipt shows the wrong date", None, None),
]


def _client(url: str, email: str) -> httpx.Client:
    r = httpx.post(f"{url}/api/v1/auth/sign-in", json={"email": email, "password": PASSWORD}, timeout=20)
    r.raise_for_status()
    token = r.json()["access_token"]
    return httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def live_two_weeks(url: str, container: Any, clock: Any) -> None:
    """Forty days, lived forward: a renters policy lapses for non-payment in the first month, then
    two weeks of cases with the escalation job running between every step."""
    from services.cases.service import escalate_overdue
    from services.payments import delinquency
    from services.payments.runtime import payments_runtime
    from services.policies.models import Policy

    ctx = container.extras["case_context"]
    rt = payments_runtime(container)
    elapsed = 0.0  # hours since the seed

    def to(hours: float) -> None:
        nonlocal elapsed
        clock.advance(timedelta(hours=hours - elapsed))
        elapsed = hours
        with container.db.write() as session:
            escalate_overdue(session, clock, ctx)

    # The Shahs' renters installment is already unpaid: grace, pending cancellation, cancelled.
    for day in (1, 12, 23):
        to(day * 24 + 10)
        with _client(url, PRIYA):
            pass  # she signs in to look: each sign-in is on the trail
        with container.db.write() as session:
            for policy in session.query(Policy).filter(Policy.number == "REN-310455"):
                delinquency.advance(session, rt, policy)

    # Two weeks of cases: every step at its own hour, in time order.
    start = 26 * 24
    steps: list[tuple[float, int, str]] = []
    for n, (when, _e, _k, _c, _s, ack, resolve) in enumerate(HISTORY):
        opened = start + when * 24 + 3
        steps.append((opened, n, "open"))
        if ack is not None:
            steps.append((opened + ack, n, "acknowledge"))
        if resolve is not None:
            steps.append((opened + resolve + 0.5, n, "resolve"))
    ids: dict[int, str] = {}
    for at, n, step in sorted(steps):
        to(at)
        _when, email, kind, category, subject, _ack, resolve = HISTORY[n]
        if step == "open":
            with _client(url, email) as customer:
                account = customer.get("/me").json()["accounts"][0]["id"]
                case = customer.post(
                    f"/accounts/{account}/cases",
                    json={
                        "kind": kind,
                        "category": category,
                        "subject": subject,
                        "description": f"{subject}. Please look into it and tell me what you will do.",
                    },
                ).json()
                ids[n] = case["id"]
            continue
        senior = category in ("cancellation", "legal") or (resolve or 0) > 24
        with _client(url, SUPERVISOR if senior else AGENT) as staff:
            if step == "acknowledge":
                staff.post(f"/cases/{ids[n]}/acknowledge", json={})
                staff.post(
                    f"/cases/{ids[n]}/responses",
                    json={
                        "message": "Thank you. We are checking our records and will come back to you today."
                    },
                )
            else:
                staff.post(
                    f"/cases/{ids[n]}/resolution",
                    json={
                        "outcome": "partially_upheld",
                        "resolution": "We checked the records and put it right; details are in our reply.",
                        "remedy_kind": "goodwill",
                        "remedy_minor": 2500,
                    },
                )
    # Priya says the rude-agent complaint is still not resolved.
    to(elapsed + 1)
    with _client(url, PRIYA) as priya:
        account = priya.get("/me").json()["accounts"][0]["id"]
        for c in priya.get(f"/accounts/{account}/cases").json()["cases"]:
            if c["subject"].startswith("Agent was rude"):
                priya.post(
                    f"/accounts/{account}/cases/{c['id']}/messages",
                    json={"message": "Still nothing. This is not resolved.", "still_unresolved": True},
                )
    to(40 * 24 - 0.2)  # back to the present, so the app's countdowns and the service agree


async def _until(check: Any, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise TimeoutError(str(check))
        await asyncio.sleep(0.05)


def _save(widget: Any, path: Path) -> None:
    widget.grab().save(str(path))
    print(f"saved {path}")


async def shoot(out: Path, url: str, data_dir: Path) -> None:
    from portal_app.client import PortalClient
    from ui.account_view import AccountView
    from ui.staff_evidence import EvidencePanel
    from ui.supervisor_dashboard import SupervisorDashboard

    # The customer's Complaints page.
    alex = PortalClient(url)
    await alex.sign_in(ALEX, PASSWORD)
    assert alex.user is not None
    view = AccountView(alex, alex.user.accounts[0].id, first_name="Alex", data_dir=data_dir / "alex")
    view.resize(*SIZE)
    view.show()
    view.start()
    await _until(lambda: view.overview is not None)
    view.show_page("cases")
    page = view.cases_page
    await _until(lambda: bool(page.cards))
    await asyncio.sleep(0.5)
    _save(view, out / "cases.png")
    # A reply that escalates, then the form with an inline error from the service.
    first = next(iter(page.cards.values()))
    first.reply.setPlainText("I have now called three times. This is still not sorted.")
    first.unresolved.setChecked(True)
    first._send()
    await _until(lambda: any(c.id == first.case.id and c.status == "escalated" for c in page.cases))
    await asyncio.sleep(0.4)
    _save(view, out / "cases-escalated.png")
    page.open_form()
    page.form.category.setCurrentIndex(page.form.category.findData("double_charge"))
    page.form.kind.setCurrentIndex(1)
    page.form.subject.setText("Charged twice")
    page.form.description.setPlainText("Twice?")
    page.submit()
    await _until(lambda: bool(page.form.error_text("description")))
    page.verticalScrollBar().setValue(0)
    await asyncio.sleep(0.4)
    _save(view, out / "cases-form-error.png")
    await view.aclose()
    await alex.aclose()

    # Staff: evidence for the Shah household (the renters policy lapsed for non-payment).
    agent = PortalClient(url)
    await agent.sign_in(AGENT, PASSWORD)
    shah_id = await _shah_account(url)
    overview = await agent.account(shah_id)
    panel = EvidencePanel(agent, shah_id)
    panel.resize(*SIZE)
    panel.setStyleSheet("#EvidencePanel { background: #F3F6FA; }")
    panel.show()
    panel.show_overview(overview)
    renters = next(p for p in overview.policies if p.number.startswith("REN"))
    panel.policy.setCurrentIndex(panel.policy.findData(renters.id))
    panel.load_answer("cancellation")
    await _until(lambda: panel.answer is not None)
    packs = out / "evidence-pack"
    shutil.rmtree(packs, ignore_errors=True)
    packs.mkdir()
    panel.export_to(packs)
    await _until(lambda: panel.last_pack is not None, 60)
    await asyncio.sleep(0.4)
    _save(panel, out / "staff-evidence.png")
    panel.load_answer("charges")
    await _until(lambda: panel.answer is not None and "charges" in panel.answer)
    await asyncio.sleep(0.3)
    _save(panel, out / "staff-evidence-charges.png")
    await agent.aclose()

    # The supervisor's dashboard.
    sup = PortalClient(url)
    await sup.sign_in(SUPERVISOR, PASSWORD)
    dash = SupervisorDashboard(sup)
    dash.resize(1280, 1500)
    dash.show()
    dash.reload()
    await _until(lambda: dash.figures is not None and dash.queue.model.cases)
    await asyncio.sleep(0.6)
    _save(dash, out / "supervisor-dashboard.png")
    dash.resize(*SIZE)
    await asyncio.sleep(0.3)
    _save(dash, out / "supervisor-dashboard-top.png")
    dash.queue.stop()
    await sup.aclose()
    for widget in (view, panel, dash):
        widget.close()
        widget.deleteLater()
    await asyncio.sleep(0.3)

    # Every staff page for every staff role, at 1024x700 and 1366x850, in the staff window.
    from ui.staff.screenshots import shoot_every_staff_page

    morgan = await _account_of(url, ALEX)
    await shoot_every_staff_page(url, out, data_dir / "staff", _save, morgan=morgan, shah=shah_id)

    pdf = panel.last_pack / "evidence.pdf" if panel.last_pack else None
    if pdf is not None and shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "80", str(pdf), str(out / "evidence-pdf")], check=True)
        print(f"rendered {pdf} to {out}/evidence-pdf-*.png")


async def _shah_account(url: str) -> str:
    return await _account_of(url, PRIYA)


async def _account_of(url: str, email: str) -> str:
    with _client(url, email) as customer:
        return str(customer.get("/me").json()["accounts"][0]["id"])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m portal_app.case_screenshots OUTDIR", file=sys.stderr)
        return 2
    # On a display (DISPLAY set, e.g. `xvfb-run` or a desktop) the real xcb platform draws the
    # pictures, as people see them; without one, offscreen.
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")
    out = Path(args[0]).resolve()
    out.mkdir(parents=True, exist_ok=True)

    import keyring
    import qasync

    from portal_app.embedded import EmbeddedService
    from portal_app.screenshots import _memory_keyring
    from services.clock import OffsetClock
    from services.config import ServiceSettings
    from ui.app import create_application

    keyring.set_keyring(_memory_keyring())  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory(prefix="portal-case-shots-") as tmp:
        clock = OffsetClock()
        clock.advance(timedelta(days=-40))
        settings = ServiceSettings(database_url=f"sqlite:///{tmp}/portal.sqlite3", data_dir=Path(tmp))
        service = EmbeddedService(settings, seed_demo=True, clock=clock)
        url = service.start()
        try:
            assert service.container is not None
            live_two_weeks(url, service.container, clock)
            app = create_application()
            loop = qasync.QEventLoop(app)
            asyncio.set_event_loop(loop)
            with loop:
                loop.run_until_complete(shoot(out, url, Path(tmp)))
        finally:
            service.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
