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
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Flowable
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
from services.errors import Forbidden, Invalid
from services.pdf import BrandedDocument, TextWriter, fonts, pdf_date
from services.policies.models import Policy
from services.signing import SigningKey

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
            .order_by(AccountHolder.is_primary.desc(), AccountHolder.full_name)
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
    files["events.json"] = _events_json(events_doc)
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


def _events_json(doc: dict[str, Any]) -> bytes:
    """Readable JSON with one event per line, written by the C encoder (indent= is pure Python)."""
    head = {k: v for k, v in doc.items() if k != "events"}
    lines = ",\n".join(json.dumps(e, ensure_ascii=False) for e in doc["events"])
    text = json.dumps(head, indent=1, ensure_ascii=False)[:-2] + ',\n "events": [\n' + lines + "\n ]\n}\n"
    return text.encode()


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
            ("Policyholders", ", ".join(h.full_name for h in holders) or "—"),
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
    if rows:
        doc.spacer(6)
        doc.flowable(_timeline(doc, rows, time_zone))
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


class _Row:
    """One laid-out line of the timeline: a day heading or an event with its wrapped text."""

    __slots__ = ("cells", "day", "height", "shade", "what", "who")

    def __init__(
        self,
        height: float,
        *,
        day: str = "",
        cells: tuple[str, ...] = (),
        what: list[str] | None = None,
        who: list[str] | None = None,
        shade: str | None = None,
    ) -> None:
        self.height = height
        self.day = day
        self.cells = cells
        self.what = what or []
        self.who = who or []
        self.shade = shade


class TimelineFlowable(Flowable):
    """The event timeline, laid out once and drawn straight onto the canvas.

    A platypus Table of Paragraphs costs ~10 ms per event to wrap and split; an evidence record of
    10,000 events must render in seconds, so rows are wrapped here with cached word widths and a
    page takes the rows that fit (split() only walks the rows of the page it fills)."""

    HEAD = ("#", "UTC", "Local", "What happened", "Who / how")
    PAD = 3.0
    HEAD_H = 16.0

    def __init__(
        self,
        rows: list[_Row],
        widths: list[float],
        colours: dict[str, Any],
        span: tuple[int, int] | None = None,
        prefix: list[float] | None = None,
    ) -> None:
        super().__init__()
        self.all_rows = rows
        self.widths = widths
        self.colours = colours
        self.start, self.end = span or (0, len(rows))
        # Running heights, shared by every piece: a piece's height is one subtraction.
        self.prefix = prefix if prefix is not None else [0.0, *accumulate(r.height for r in rows)]

    @property
    def rows(self) -> list[_Row]:
        return self.all_rows[self.start : self.end]

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = sum(self.widths)
        self.height = self.HEAD_H + self.prefix[self.end] - self.prefix[self.start]
        return self.width, self.height

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        room = avail_height - self.HEAD_H + self.prefix[self.start]
        cut = bisect_right(self.prefix, room, self.start, self.end + 1) - 1  # rows start..cut fit
        # Never leave a day heading alone at the foot of a page.
        while cut > self.start and self.all_rows[cut - 1].day:
            cut -= 1
        if cut <= self.start:
            return []
        return [
            TimelineFlowable(self.all_rows, self.widths, self.colours, (self.start, cut), self.prefix),
            TimelineFlowable(self.all_rows, self.widths, self.colours, (cut, self.end), self.prefix),
        ]

    def draw(self) -> None:
        c = self.canv
        # Text operators are written directly (services.pdf.TextWriter: the embedded DejaVu subsets,
        # as drawString would write them): drawString's per-call machinery (~100 us a call) alone
        # would take longer than the whole export may.
        f = fonts()
        bold, regular = f.bold, f.regular

        _text = TextWriter(c).op

        code = c._code
        x0 = [sum(self.widths[:i]) for i in range(len(self.widths))]
        top = self.height
        c.setFillColor(self.colours["primary"])
        c.rect(0, top - self.HEAD_H, self.width, self.HEAD_H, stroke=0, fill=1)
        c.setFillColor(colors.white)
        for i, text in enumerate(self.HEAD):
            code.append(_text(bold, 8.5, x0[i] + 4, top - self.HEAD_H + 5, text))
        y = top - self.HEAD_H
        c.setLineWidth(0.4)
        c.setStrokeColor(self.colours["rule"])
        for row in self.rows:
            y -= row.height
            if row.day:
                c.setFillColor(self.colours["primary"])
                code.append(_text(bold, 11, 0, y + 7, row.day))
                c.setFillColor(self.colours["muted"])
                code.append(
                    _text(regular, 8, pdfmetrics.stringWidth(row.day, bold, 11) + 6, y + 7, "(local date)")
                )
                continue
            if row.shade:
                c.setFillColor(self.colours[row.shade])
                c.rect(0, y, self.width, row.height, stroke=0, fill=1)
            c.line(0, y, self.width, y)
            line_top = y + row.height - self.PAD - 8.5
            c.setFillColor(self.colours["text"])
            for i, text in enumerate(row.cells):
                code.append(_text(regular, 8, x0[i] + 4, line_top, text))
            for n, line in enumerate(row.what):
                if n == 0 and " · " in line:
                    head, _, rest = line.partition(" · ")
                    code.append(_text(bold, 8.5, x0[3] + 4, line_top, head + " ·"))
                    w = pdfmetrics.stringWidth(head + " · ", bold, 8.5)
                    code.append(_text(regular, 8.5, x0[3] + 4 + w, line_top, rest))
                else:
                    code.append(_text(regular, 8.5, x0[3] + 4, line_top - n * 11, line))
            c.setFillColor(self.colours["muted"])
            for n, line in enumerate(row.who):
                code.append(_text(regular, 7.5, x0[4] + 4, line_top - n * 9.5, line))


class _Wrapper:
    """Greedy word wrap with a width cache: the timeline's vocabulary is small and repeats."""

    def __init__(self, font: str, size: float) -> None:
        self.font, self.size = font, size
        self.cache: dict[str, float] = {}
        self.space = self.width(" ")

    def width(self, word: str) -> float:
        w = self.cache.get(word)
        if w is None:
            w = self.cache[word] = pdfmetrics.stringWidth(word, self.font, self.size)
        return w

    def lines(self, text: str, limit: float, indent: float = 0.0) -> list[str]:
        """Lines of at most `limit` points; the first starts `indent` points in (a bold lead-in)."""
        out: list[str] = []
        current: list[str] = []
        used = indent
        width, space = self.width, self.space
        for word in text.split():
            w = width(word)
            if w > limit:  # rare: a name or id wider than the column is cut where it must be
                pieces = self._cut(word, limit)
                word, w = pieces[-1], width(pieces[-1])
                if current or used:
                    out.append(" ".join(current))
                out.extend(pieces[:-1])
                current, used = [], 0.0
            extra = used + w if not current else used + space + w
            if (current or used) and extra > limit:
                out.append(" ".join(current))
                current, used = [word], w
            else:
                current.append(word)
                used = extra
        if current:
            out.append(" ".join(current))
        return out or [""]

    def _cut(self, word: str, limit: float) -> list[str]:
        """A word wider than a whole line, in pieces that each fit."""
        pieces: list[str] = []
        while len(word) > 1 and self.width(word) > limit:
            cut = len(word) - 1
            while cut > 1 and pdfmetrics.stringWidth(word[:cut], self.font, self.size) > limit:
                cut -= 1
            pieces.append(word[:cut])
            word = word[cut:]
        return [*pieces, word]


def _timeline(doc: BrandedDocument, rows: list[AuditEvent], time_zone: str) -> TimelineFlowable:
    widths = [w * doc.width / 100 for w in (6, 15, 13, 38, 28)]
    f = fonts()
    what_wrap = _Wrapper(f.regular, 8.5)
    who_wrap = _Wrapper(f.regular, 7.5)
    lead_width = cache(lambda lead: pdfmetrics.stringWidth(lead + " ", f.bold, 8.5))
    zone = ZoneInfo(time_zone)
    laid: list[_Row] = []
    current_day = None
    stripe = False
    for e in rows:
        local = e.occurred_at.astimezone(zone)
        if local.date() != current_day:
            current_day = local.date()
            laid.append(_Row(26.0, day=f"{local:%A} {local.day} {local:%B %Y}"))
            stripe = False
        what = describe(e.action, e.after, e.before, e.outcome)
        if e.outcome != "success":
            what = f"{what} [{e.outcome}]"
        # The bold "Category · " lead-in is measured in bold; the text wraps after it.
        lead = f"{category(e.action).capitalize()} ·"
        what_lines = what_wrap.lines(what, widths[3] - 8, indent=lead_width(lead))
        what_lines[0] = f"{lead} {what_lines[0]}" if what_lines[0] else lead
        who_lines = who_wrap.lines(
            who(e.actor_role, e.actor_name, e.channel, e.on_behalf_of, e.branch_id), widths[4] - 8
        )
        height = max(len(what_lines) * 11, len(who_lines) * 9.5, 11) + 2 * TimelineFlowable.PAD
        stripe = not stripe
        laid.append(
            _Row(
                height,
                cells=(
                    str(e.chain_index),
                    f"{e.occurred_at:%b} {e.occurred_at.day} {e.occurred_at:%H:%M:%S}",
                    f"{local:%H:%M:%S} {local.tzname() or ''}",
                ),
                what=what_lines,
                who=who_lines,
                shade="failed" if e.outcome != "success" else ("stripe" if not stripe else None),
            )
        )
    colours = {
        "primary": doc.branding.color("primary"),
        "muted": doc.branding.color("muted"),
        "text": doc.branding.color("text"),
        "rule": doc.branding.color("rule"),
        "stripe": colors.HexColor("#F7F9FC"),
        "failed": colors.HexColor("#FDF1F0"),
    }
    return TimelineFlowable(laid, widths, colours)
