"""The evidence pack: what happened on an account, readable by a person and checkable by anyone.

A pack is a folder (or the same files zipped, from the API):
    evidence.pdf       the timeline in plain English: exact UTC time, the policy's local time, who
                       or what did it, through which channel
    events.json        the events themselves with their hashes (the machine-readable record)
    checkpoints.json   signed checkpoints sealing the chain, the newest covering the last event
    public_key.json    the service's Ed25519 public key (compare with GET /api/v1/audit/public-key)
    manifest.json      SHA-256 of each file above, signed in manifest.sig
    verify_pack.py     a stand-alone verifier (Python + cryptography): `python verify_pack.py .`
    README.txt         what the pack is and how to check it

With --from/--to the PDF shows the period; events.json holds the period's events plus the later
ones up to the covering checkpoint, because only an unbroken run of hashes reaches the seal.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.platypus import CondPageBreak, Paragraph, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.models import Account, AccountHolder
from services.accounts.service import authorize_account
from services.actor import Actor
from services.audit import service as audit
from services.audit.chain import HASHED_SCALARS, format_utc
from services.audit.checkpoint_models import AuditCheckpoint
from services.audit.checkpoints import checkpoint_dict, latest_checkpoint, public_key_b64, seal_checkpoints
from services.audit.models import AuditEvent
from services.audit.narrative import category, describe, who
from services.clock import Clock
from services.documents.render import BrandedDocument, escape, pdf_date
from services.errors import Forbidden, Invalid
from services.idcards.keys import SigningKey
from services.policies.models import Policy

VERIFIER_SOURCE = Path(__file__).with_name("verify_pack.py")
PACK_FORMAT = "portal-evidence/1"
EXPORT_ROLES = {"agent", "supervisor", "admin"}


@dataclass
class EvidencePack:
    account_id: str
    files: dict[str, bytes] = field(default_factory=dict)
    events_in_range: int = 0
    events_total: int = 0
    pdf_pages: int = 0

    def write(self, out_dir: Path) -> Path:
        """Write the pack's files into `out_dir` (created if needed)."""
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, content in self.files.items():
            (out_dir / name).write_bytes(content)
        return out_dir

    def zip_bytes(self) -> bytes:
        buffer = io.BytesIO()
        folder = f"evidence-{self.account_id}"
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, content in self.files.items():
                zf.writestr(f"{folder}/{name}", content)
        return buffer.getvalue()


def _event_json(e: AuditEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"seq": e.seq}
    for name in HASHED_SCALARS:
        out[name] = getattr(e, name)
    out["occurred_at"] = format_utc(e.occurred_at)
    out["before"] = e.before
    out["after"] = e.after
    out["hash"] = e.hash
    return out


def _bounds(
    date_from: date | None, date_to: date | None, time_zone: str
) -> tuple[datetime | None, datetime | None]:
    zone = ZoneInfo(time_zone)
    start = datetime.combine(date_from, time(0), tzinfo=zone).astimezone(UTC) if date_from else None
    end = (
        datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        if date_to
        else None
    )
    return start, end


def export_dispute_evidence(
    session: Session,
    actor: Actor,
    clock: Clock,
    key: SigningKey,
    *,
    account_id: str,
    date_from: date | None = None,
    date_to: date | None = None,
) -> EvidencePack:
    """Build the evidence pack for an account (staff, or the operator's CLI as a system actor).

    Runs in a write transaction: the export itself goes on the trail, then the chain is sealed
    so the newest checkpoint covers every exported event, the export event included."""
    if actor.role != "system" and actor.role not in EXPORT_ROLES:
        raise Forbidden("evidence.staff_only", "Only call-centre staff and supervisors export evidence.")
    if date_from and date_to and date_from > date_to:
        raise Invalid("evidence.period_invalid", "The period must start before it ends.", field="from")
    if actor.role == "system":
        account = session.get(Account, account_id)
        if account is None:
            raise Invalid("evidence.account_unknown", "There is no account with that id.", field="account")
        acting = actor
    else:
        account, acting = authorize_account(session, actor, clock, account_id)
    policies = list(
        session.scalars(select(Policy).where(Policy.account_id == account.id).order_by(Policy.number))
    )
    time_zone = policies[0].time_zone if policies else "UTC"
    audit.record(
        session,
        acting,
        clock,
        action="evidence.exported",
        account_id=account.id,
        entity_type="account",
        entity_id=account.id,
        after={
            "from": date_from.isoformat() if date_from else None,
            "to": date_to.isoformat() if date_to else None,
        },
    )
    seal_checkpoints(session, clock, key, chain_key=account.id)
    exported_at = clock.now()

    start, end = _bounds(date_from, date_to, time_zone)
    events = list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.chain_key == account.id).order_by(AuditEvent.chain_index)
        )
    )
    in_range_flags = [
        (start is None or e.occurred_at >= start) and (end is None or e.occurred_at < end) for e in events
    ]
    first = next((i for i, flag in enumerate(in_range_flags) if flag), None)
    if first is None:
        raise Invalid("evidence.no_events", "Nothing happened on this account in that period.", field="from")
    shipped = events[first:]  # the period, then everything up to the covering checkpoint
    covering = latest_checkpoint(session, account.id, at_least=shipped[-1].chain_index)
    assert covering is not None and covering.length == shipped[-1].chain_index  # sealed just above
    earlier = list(
        session.scalars(
            select(AuditCheckpoint)
            .where(
                AuditCheckpoint.chain_key == account.id,
                AuditCheckpoint.length >= shipped[0].chain_index,
                AuditCheckpoint.length <= covering.length,
                # Earlier seals made with another key (a per-process key before a restart) cannot
                # be checked against the one public key the pack carries.
                AuditCheckpoint.key_id == key.key_id,
            )
            .order_by(AuditCheckpoint.length)
        )
    )
    public = public_key_b64(key)
    rows = [e for e, flag in zip(events, in_range_flags, strict=True) if flag]
    holders = list(
        session.scalars(
            select(AccountHolder)
            .where(AccountHolder.account_id == account.id)
            .order_by(AccountHolder.is_primary.desc())
        )
    )
    events_doc = {
        "format": PACK_FORMAT,
        "account_id": account.id,
        "account_name": account.name,
        "exported_at": format_utc(exported_at),
        "exported_by": {"name": acting.name, "role": acting.role, "channel": acting.channel},
        "period": {
            "from": date_from.isoformat() if date_from else None,
            "to": date_to.isoformat() if date_to else None,
            "time_zone": time_zone,
        },
        "hash_scheme": (
            "sha256 of: JSON array of the fields event_id..prev_hash (compact, in the order verify_pack.py "
            "lists) + U+001F + canonical JSON of before + U+001F + canonical JSON of after"
        ),
        "events": [
            {**_event_json(e), "in_period": flag}
            for e, flag in zip(events[first:], in_range_flags[first:], strict=True)
        ],
    }
    files: dict[str, bytes] = {}
    pdf, pages = _render_pdf(
        account=account,
        holders=holders,
        policies=policies,
        rows=rows,
        time_zone=time_zone,
        exported_at=exported_at,
        acting=acting,
        date_from=date_from,
        date_to=date_to,
        covering=covering,
        key=key,
        shipped=len(shipped),
    )
    files["evidence.pdf"] = pdf
    files["events.json"] = json.dumps(events_doc, indent=1, ensure_ascii=False).encode()
    files["checkpoints.json"] = json.dumps(
        {"checkpoints": [checkpoint_dict(cp) for cp in earlier]}, indent=1
    ).encode()
    files["public_key.json"] = json.dumps(
        {"algorithm": "Ed25519", "key_id": key.key_id, "public_key": public}, indent=1
    ).encode()
    files["verify_pack.py"] = VERIFIER_SOURCE.read_bytes()
    files["README.txt"] = _readme(account.id, key.key_id).encode()
    manifest = {
        "format": PACK_FORMAT,
        "account_id": account.id,
        "exported_at": format_utc(exported_at),
        "key_id": key.key_id,
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in files.items()},
    }
    manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()
    files["manifest.json"] = manifest_bytes
    files["manifest.sig"] = base64.b64encode(key.sign(manifest_bytes)) + b"\n"
    return EvidencePack(
        account_id=account.id,
        files=files,
        events_in_range=len(rows),
        events_total=len(shipped),
        pdf_pages=pages,
    )


def _readme(account_id: str, key_id: str) -> str:
    return f"""Portal evidence pack for account {account_id}

evidence.pdf      the account's timeline, for people: every sign-in, payment attempt, scheduled
                  payment, autopay charge, notice and status change, with the exact time in UTC and
                  in the policy's local time, and who or what did it.
events.json       the same events as recorded, with their SHA-256 hashes.
checkpoints.json  signed seals of the chain; the newest covers the last event.
public_key.json   the public half of the key that signed them (key id {key_id}).
manifest.json     SHA-256 of each file, signed in manifest.sig.

To check the pack yourself (Python 3.9+ with `pip install cryptography`):

    python verify_pack.py .
    python verify_pack.py . --public-key <key from GET /api/v1/audit/public-key>

It prints VERIFIED and exits 0 only if no byte of the events was changed, nothing was removed,
inserted or reordered, and the insurer's key sealed exactly these events.
"""


def _local(value: datetime, time_zone: str) -> str:
    local = value.astimezone(ZoneInfo(time_zone))
    return local.strftime("%H:%M:%S ") + (local.tzname() or "")


def _render_pdf(
    *,
    account: Account,
    holders: list[AccountHolder],
    policies: list[Policy],
    rows: list[AuditEvent],
    time_zone: str,
    exported_at: datetime,
    acting: Actor,
    date_from: date | None,
    date_to: date | None,
    covering: AuditCheckpoint,
    key: SigningKey,
    shipped: int,
) -> tuple[bytes, int]:
    doc = BrandedDocument(
        "Evidence record",
        subtitle=f"Account {account.name}",
        reference=account.id,
        issued_at=exported_at,
        time_zone=time_zone,
    )
    start_text = pdf_date(date_from) if date_from else "first event"
    period = f"{start_text} to {pdf_date(date_to) if date_to else 'export'}"
    doc.facts(
        [
            ("Account", account.name),
            ("Policyholder", holders[0].full_name if holders else "—"),
            ("Policies", ", ".join(p.number for p in policies) or "—"),
            ("Local time zone", time_zone),
            ("Period", period),
            ("Events in period", f"{len(rows):,}"),
            ("Exported", f"{format_utc(exported_at)[:19]}Z UTC"),
            ("Exported by", f"{acting.name} ({acting.role})"),
        ]
    )
    doc.spacer(6)
    doc.paragraph(
        "This record lists, in the order they happened, every event our systems recorded on this account "
        "in the period: sign-ins, payment attempts and their results, scheduled payments, autopay charges, "
        "notices we sent, and changes of status. Each line gives the exact time in UTC and in the policy's "
        "local time, and who or what did it. Times come from our servers' clocks.",
    )
    doc.paragraph(
        f"Each event is hash-chained to the one before it, and the chain is sealed with our signing key "
        f"(key id {key.key_id}). The last event here, #{covering.length}, is sealed by a checkpoint signed "
        f"{format_utc(covering.sealed_at)[:19]}Z. The accompanying files let anyone check that nothing was "
        f"changed: run “python verify_pack.py .” in the pack's folder.",
        "small",
    )
    by_day: dict[date, list[AuditEvent]] = {}
    for e in rows:
        by_day.setdefault(e.occurred_at.astimezone(ZoneInfo(time_zone)).date(), []).append(e)
    styles = doc.styles
    widths = [w * doc.width / 100 for w in (6, 15, 13, 38, 28)]
    head = [
        Paragraph(escape(h), styles["cell_head"]) for h in ("#", "UTC", "Local", "What happened", "Who / how")
    ]
    day_style = ParagraphStyle("day", parent=styles["heading"], keepWithNext=0)
    for day, items in by_day.items():
        # A heading needs a few rows under it; the tables themselves split across pages.
        doc.flowable(CondPageBreak(1.3 * inch))
        title = day.strftime("%A %d %B %Y").replace(" 0", " ")
        doc.flowable(
            Paragraph(f"{escape(title)} <font size=8 color='#6B7A90'>(local date)</font>", day_style)
        )
        # Tables of at most 60 rows: reportlab splits long tables page by page, and one huge table
        # costs quadratic time; small ones keep a 10,000-event record within seconds.
        for chunk_start in range(0, len(items), 60):
            data: list[list[Any]] = [head]
            style: list[tuple[Any, ...]] = [
                ("BACKGROUND", (0, 0), (-1, 0), doc.branding.color("primary")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 1), (2, -1), doc.fonts.regular),
                ("FONTSIZE", (0, 1), (2, -1), 8),
                ("TEXTCOLOR", (0, 1), (2, -1), doc.branding.color("text")),
                ("LINEBELOW", (0, 1), (-1, -1), 0.4, doc.branding.color("rule")),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
            for offset, e in enumerate(items[chunk_start : chunk_start + 60], start=1):
                what = describe(e.action, e.after, e.before, e.outcome)
                if e.outcome != "success":
                    what = f"{what} [{e.outcome}]"
                data.append(
                    [
                        str(e.chain_index),
                        f"{e.occurred_at:%b} {e.occurred_at.day} {e.occurred_at:%H:%M:%S}",
                        _local(e.occurred_at, time_zone),
                        Paragraph(
                            f"<b>{escape(category(e.action).capitalize())}</b> · {escape(what)}",
                            styles["cell"],
                        ),
                        Paragraph(
                            escape(who(e.actor_role, e.actor_name, e.channel, e.on_behalf_of, e.branch_id)),
                            styles["small"],
                        ),
                    ]
                )
                if e.outcome != "success":
                    style.append(("BACKGROUND", (0, offset), (-1, offset), colors.HexColor("#FDF1F0")))
                elif offset % 2 == 0:
                    style.append(("BACKGROUND", (0, offset), (-1, offset), colors.HexColor("#F7F9FC")))
            table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
            table.setStyle(TableStyle(style))
            doc.flowable(table)
    if not rows:
        doc.paragraph("No events were recorded in this period.")
    doc.heading("How to check this record")
    doc.paragraph(
        f"events.json holds the {shipped:,} events from the first one above to the sealed checkpoint, "
        "each with its SHA-256 hash and the hash of the event before it. Changing, removing, inserting "
        "or reordering any event breaks the chain; the checkpoint and manifest are signed with our "
        "Ed25519 key, whose public half is in public_key.json and published at /api/v1/audit/public-key.",
        "small",
    )
    pdf = doc.render()
    return pdf, doc.page_count
