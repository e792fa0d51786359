"""Documents figures (prints; never asserts).

    .venv/bin/python bench/documents.py [--runs 20] [--documents 200]

- Generating a declarations page PDF and an ID card PDF (printable page + wallet card), from the
  demo auto policy in a real SQLite database: first (cold) run, then median and worst of N.
- Showing the Documents page for an account holding 200 real PDFs: from asking the service for
  the list to the table painted (HTTP on loopback + JSON + item model + first paint), offscreen.
- A same-run baseline: a plain reportlab document (built-in Helvetica, nothing embedded, 30
  paragraphs and a 20-row table), so the ratios below compare across loaded machines.
Targets from issue 4: a declarations page or ID card PDF in <= 200 ms; the Documents page for
200 documents shown in <= 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "portal-demo-2026"


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values):7.1f} ms   worst {max(values):7.1f} ms"


def baseline_pdf() -> None:
    """What reportlab alone costs for a two-page document: the yardstick for the ratios."""
    import io

    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table

    styles = getSampleStyleSheet()
    story = [
        Paragraph(f"Paragraph {i}: the quick brown fox jumps over the lazy dog.", styles["Normal"])
        for i in range(30)
    ]
    story.append(Table([[f"row {i}", "Collision", "$1,000.00", "$300.00"] for i in range(20)]))
    SimpleDocTemplate(io.BytesIO(), invariant=1).build(story)


def timed(fn: object, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - started) * 1000)
    return out


def generation(container: object, runs: int) -> None:
    from sqlalchemy import select

    from services.actor import Actor
    from services.documents import templates
    from services.documents.models import Document, IdCard
    from services.documents.service import ensure_policy_documents
    from services.idcards.render import page_pdf, wallet_pdf
    from services.idcards.service import card_face
    from services.policies.models import InsuredVehicle, Policy
    from services.policies.service import policy_facts

    c = container
    with c.db.write() as session:  # type: ignore[attr-defined]
        policy = session.scalars(select(Policy).where(Policy.number == "AUT-100234")).one()
        facts = policy_facts(session, policy)
        now = c.clock.now()  # type: ignore[attr-defined]
        started = time.perf_counter()
        templates.declarations(facts, issued_at=now)
        cold_decl = (time.perf_counter() - started) * 1000
        decl = []
        for _ in range(runs):
            started = time.perf_counter()
            templates.declarations(facts, issued_at=now)
            decl.append((time.perf_counter() - started) * 1000)
        ensure_policy_documents(session, c.clock, c.extras["idcard_key"], policy)  # type: ignore[attr-defined]
        card = session.scalars(select(IdCard).where(IdCard.policy_id == policy.id)).first()
        assert card is not None
        vehicle = session.get(InsuredVehicle, card.vehicle_id)
        face = card_face(facts, vehicle, card.code)  # type: ignore[arg-type]
        page, wallet, both = [], [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            page_pdf(face, issued_at=now, time_zone=policy.time_zone)
            t1 = time.perf_counter()
            wallet_pdf(face, issued_at=now)
            t2 = time.perf_counter()
            page.append((t1 - t0) * 1000)
            wallet.append((t2 - t1) * 1000)
            both.append((t2 - t0) * 1000)
        stored = session.scalar(select(Document.size_bytes).where(Document.kind == "declarations"))
        _ = Actor
    baseline_pdf()  # warm
    base = statistics.median(timed(baseline_pdf, runs))
    print(f"baseline: plain reportlab 2-page PDF   median {base:7.1f} ms")
    print(f"declarations page PDF   first {cold_decl:7.1f} ms   {_ms(decl)}   ({stored} bytes, 2 pages)")
    print(f"ID card printable page  {_ms(page)}")
    print(f"ID card wallet card     {_ms(wallet)}")
    print(f"ID card, both layouts   {_ms(both)}   (target <= 200 ms per PDF)")
    ratio = {
        k: statistics.median(v) / base
        for k, v in (("declarations", decl), ("ID page", page), ("wallet", wallet))
    }
    print("ratio to baseline (median): " + ", ".join(f"{k} {r:.2f}" for k, r in ratio.items()))


def fill_account(container: object, total: int) -> str:
    """Give the Morgan household `total` documents: its own, then monthly statements going back."""
    from sqlalchemy import func, select

    from services.accounts.models import Account
    from services.actor import Actor
    from services.documents import templates
    from services.documents.models import Document
    from services.documents.service import ensure_policy_documents, store_document
    from services.payments.models import Installment
    from services.policies.models import Policy
    from services.policies.service import policy_facts

    c = container
    with c.db.write() as session:  # type: ignore[attr-defined]
        account = session.scalars(select(Account).where(Account.name == "Morgan household")).one()
        policies = list(session.scalars(select(Policy).where(Policy.account_id == account.id)))
        for p in policies:
            ensure_policy_documents(session, c.clock, c.extras["idcard_key"], p)  # type: ignore[attr-defined]
        have = session.scalar(select(func.count()).where(Document.account_id == account.id)) or 0
        system = Actor.system("Bench")
        month = 0
        while have < total:
            p = policies[month % len(policies)]
            facts = policy_facts(session, p)
            installments = list(session.scalars(select(Installment).where(Installment.policy_id == p.id)))
            day = p.effective_date - timedelta(days=31 * (month // len(policies) + 1))
            rendered = templates.billing_statement(facts, installments, today=day, issued_at=c.clock.now())  # type: ignore[attr-defined]
            store_document(
                session,
                c.clock,  # type: ignore[attr-defined]
                system,
                policy=p,
                kind="billing_statement",
                slot=f"bench:{p.id}:{month}",
                title=rendered.title,
                file_name=rendered.file_name,
                content=rendered.content,
                page_count=rendered.page_count,
            )
            have += 1
            month += 1
        return account.id


async def show_page(url: str, account_id: str, runs: int) -> tuple[list[float], list[float], int]:
    from PySide6.QtWidgets import QApplication

    from portal_app.client import PortalClient
    from ui.pages.documents import DocumentsPage

    client = PortalClient(url)
    await client.sign_in("alex.morgan@example.com", PASSWORD)
    page = DocumentsPage(client, account_id)
    page.resize(1052, 712)
    totals, models = [], []
    rows = 0
    for _ in range(runs + 1):  # the first run warms imports and the connection: not counted
        shown = asyncio.get_running_loop().create_future()

        def done(n: int, fut: asyncio.Future[int] = shown) -> None:
            if not fut.done():
                fut.set_result(n)

        page.documentsShown.connect(done)
        started = time.perf_counter()
        page.refresh()
        if not page.isVisible():
            page.show()
        rows = await shown
        page.grab()  # paint the table now, as the screen would
        QApplication.processEvents()
        elapsed = (time.perf_counter() - started) * 1000
        page.documentsShown.disconnect(done)
        totals.append(elapsed)
        models.append(page.last_load_ms)
    await client.aclose()
    return totals[1:], models[1:], rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--documents", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import keyring
    import keyring.backends.null

    keyring.set_keyring(keyring.backends.null.Keyring())  # never the developer's keyring
    import qasync

    from portal_app.embedded import EmbeddedService
    from services.config import ServiceSettings
    from ui.app import create_application

    print(
        f"machine load (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="portal-bench-docs-") as tmp:
        service = EmbeddedService(ServiceSettings(data_dir=Path(tmp)))
        url = service.start()
        try:
            container = service.container
            generation(container, args.runs)
            started = time.perf_counter()
            account_id = fill_account(container, args.documents)
            print(
                f"filled the account with {args.documents} real PDFs in {time.perf_counter() - started:.1f} s"
            )
            app = create_application()
            loop = qasync.QEventLoop(app)
            asyncio.set_event_loop(loop)
            with loop:
                totals, models, rows = loop.run_until_complete(show_page(url, account_id, min(args.runs, 10)))
            print(f"Documents page, {rows} documents: list fetched + shown + painted   {_ms(totals)}")
            print(f"  of which model reset + filters                              {_ms(models)}")
            print("targets: PDF <= 200 ms; Documents page for 200 documents <= 300 ms")
            print(f"machine load at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        finally:
            service.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
