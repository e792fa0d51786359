"""Complaints and disputes: raising a case, the conversation, commitments, escalation, resolution.

Escalation rules (each fires once per case and is recorded with its reason):
- a commitment passes unmet (acknowledge, target resolution, summary resolution, final response);
- the customer has contacted us about it three times (raising it counts as the first contact);
- the customer says it is still unresolved;
- its category needs legal or a supervisor (at the moment it is raised);
- a member of staff escalates it (the front line lacks authority).
Escalating assigns the case up (team supervisor, or legal when the category needs it), to the
supervisor with the fewest open cases, and notifies through `EscalationNotifier`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.accounts.service import authorize_account
from services.actor import Actor
from services.audit import service as audit
from services.auth.models import User
from services.blobs import BlobCorrupted, BlobMissing, BlobStore
from services.cases.commitments import DEADLINES, case_commitments, deadline_states, next_due
from services.cases.models import OPEN_CASE_STATUSES, Case, CaseAttachment, CaseEntry
from services.claims.models import Claim
from services.clock import Clock
from services.db.base import new_id
from services.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from services.payments.models import Payment, Refund
from services.policies.models import Policy

# category -> (label for staff, who must own it from the start: None, "supervisor" or "legal")
CATEGORIES: dict[str, tuple[str, str | None]] = {
    "billing": ("Billing or premium", None),
    "double_charge": ("Charged twice", None),
    "payment_not_applied": ("Payment not applied", None),
    "cancellation": ("Cancellation for non-payment", "supervisor"),
    "claim_handling": ("Claim handling", None),
    "service": ("Service or staff", None),
    "data_protection": ("Personal data", "legal"),
    "legal": ("Legal action or ombudsman", "legal"),
    "other": ("Something else", None),
}
OUTCOMES = ("upheld", "partially_upheld", "not_upheld")
REMEDY_KINDS = ("none", "refund", "adjustment", "goodwill")
STAFF_ROLES = {"agent", "supervisor", "admin", "branch_staff"}
SENIOR_ROLES = {"supervisor", "admin"}
REPEAT_CONTACT_LIMIT = 3
ATTACHMENT_TYPES = {"application/pdf", "image/png", "image/jpeg", "text/plain"}
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 512_000


@dataclass(frozen=True)
class CaseRules:
    """The configurable parts of the commitments (from ServiceSettings)."""

    holidays: frozenset[date] = frozenset()
    final_weeks: int = 8


class EscalationNotifier(Protocol):
    """Tells people a case went up. The notifications domain replaces the default with real
    notices (email/SMS to the supervisor and the customer); it runs inside the escalating
    transaction, so it must only enqueue, never send."""

    def case_escalated(
        self, session: Session, clock: Clock, case: Case, reasons: Sequence[str], assignee: User | None
    ) -> None: ...


class AuditOnlyNotifier:
    """Today's notice: an audit event the agent console and the supervisor dashboard show."""

    def case_escalated(
        self, session: Session, clock: Clock, case: Case, reasons: Sequence[str], assignee: User | None
    ) -> None:
        audit.record(
            session,
            Actor.system("Case escalation"),
            clock,
            action="case.escalation_notified",
            account_id=case.account_id,
            entity_type="case",
            entity_id=case.id,
            after={
                "number": case.number,
                "reasons": list(reasons),
                "team": case.team,
                "notify_user_id": assignee.id if assignee else None,
                "notify_name": assignee.full_name if assignee else None,
            },
        )


@dataclass
class CaseContext:
    rules: CaseRules = field(default_factory=CaseRules)
    notifier: EscalationNotifier = field(default_factory=AuditOnlyNotifier)
    # Where attachment bytes are kept (bootstrap passes the service's store); None keeps them in
    # the database row, as before the blob store.
    blobs: BlobStore | None = None


ATTACHMENTS = "case-attachments"


# --- reading -----------------------------------------------------------------------------------


def _case_or_404(session: Session, case_id: str) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("case.not_found", "We could not find that case.")
    return case


def _authorize_case(
    session: Session, actor: Actor, clock: Clock, case_id: str, account_id: str | None = None
) -> tuple[Case, Actor]:
    case = _case_or_404(session, case_id)
    if account_id is not None and case.account_id != account_id:
        raise NotFound("case.not_found", "We could not find that case.")
    try:
        _, acting = authorize_account(session, actor, clock, case.account_id)
    except NotFound:
        # Another customer's case reads as "no such case", so ids cannot be probed.
        raise NotFound("case.not_found", "We could not find that case.") from None
    return case, acting


def _require_staff(actor: Actor) -> None:
    if actor.role not in STAFF_ROLES:
        raise Forbidden("case.staff_only", "Only our staff can do this on a case.")


def case_dict(session: Session, case: Case, clock: Clock, *, staff: bool) -> dict[str, Any]:
    """A case as the API returns it; customers see only the entries meant for them."""
    now = clock.now()
    entries = session.scalars(
        select(CaseEntry).where(CaseEntry.case_id == case.id).order_by(CaseEntry.position)
    )
    attachments = session.scalars(
        select(CaseAttachment).where(CaseAttachment.case_id == case.id).order_by(CaseAttachment.created_at)
    )
    assignee = session.get(User, case.assigned_to) if case.assigned_to else None
    body: dict[str, Any] = {
        "id": case.id,
        "number": case.number,
        "account_id": case.account_id,
        "kind": case.kind,
        "category": case.category,
        "category_label": CATEGORIES.get(case.category, ("", None))[0],
        "status": case.status,
        "subject": case.subject,
        "description": case.description,
        "policy_id": case.policy_id,
        "payment_id": case.payment_id,
        "claim_id": case.claim_id,
        "channel": case.channel,
        "opened_at": case.opened_at,
        "time_zone": case.time_zone,
        "next_due_at": next_due(case) if case.status != "closed" else None,
        "escalated": bool(case.escalation_reasons),
        "team": case.team,
        "acknowledged_at": case.acknowledged_at,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
        "outcome": case.outcome,
        "resolution": case.resolution,
        "remedy": {
            "kind": case.remedy_kind,
            "amount_minor": case.remedy_minor,
            "currency": case.currency,
            "reference": case.remedy_reference,
        }
        if case.remedy_kind
        else None,
        "deadlines": [
            {
                "name": d.name,
                "due_at": d.due_at,
                "met_at": d.met_at,
                "overdue": d.overdue,
                "late": d.late,
                "seconds_left": d.seconds_left,
            }
            for d in deadline_states(case, now)
        ],
        "entries": [
            {
                "id": e.id,
                "kind": e.kind,
                "at": e.at,
                "author_name": e.author_name,
                "author_role": e.author_role,
                "channel": e.channel,
                "body": e.body,
                "internal": not e.visible_to_customer,
            }
            for e in entries
            if staff or e.visible_to_customer
        ],
        "attachments": [
            {
                "id": a.id,
                "filename": a.filename,
                "media_type": a.media_type,
                "size": a.size,
                "sha256": a.sha256,
            }
            for a in attachments
        ],
    }
    if staff:
        body.update(
            {
                "escalation_reasons": list(case.escalation_reasons or []),
                "escalated_at": case.escalated_at,
                "contact_count": case.contact_count,
                "assigned_to": case.assigned_to,
                "assigned_name": assignee.full_name if assignee else None,
            }
        )
    return body


def list_cases(session: Session, actor: Actor, clock: Clock, *, account_id: str) -> list[Case]:
    """An account's cases, newest first (the customer's own, or any for staff)."""
    authorize_account(session, actor, clock, account_id)
    return list(
        session.scalars(select(Case).where(Case.account_id == account_id).order_by(Case.opened_at.desc()))
    )


def get_case(
    session: Session, actor: Actor, clock: Clock, *, case_id: str, account_id: str | None = None
) -> Case:
    """One case the actor may see."""
    case, _ = _authorize_case(session, actor, clock, case_id, account_id)
    return case


def case_queue(
    session: Session, actor: Actor, clock: Clock, *, team: str | None = None, overdue_only: bool = False
) -> list[Case]:
    """Open cases for staff, the most urgent promise first."""
    if actor.role not in {"agent", "supervisor", "admin"}:
        raise Forbidden("case.staff_only", "Only call-centre staff and supervisors see the case queue.")
    query = select(Case).where(Case.status.in_(OPEN_CASE_STATUSES))
    if team:
        query = query.where(Case.team == team)
    cases = list(session.scalars(query))
    now = clock.now()
    if overdue_only:
        cases = [c for c in cases if any(d.overdue for d in deadline_states(c, now))]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    cases.sort(key=lambda c: next_due(c) or far)
    return cases


@dataclass(frozen=True)
class AttachmentContent:
    attachment: CaseAttachment
    content: bytes


def attachment_content(
    session: Session,
    actor: Actor,
    clock: Clock,
    ctx: CaseContext,
    *,
    case_id: str,
    attachment_id: str,
    account_id: str | None = None,
) -> AttachmentContent | DomainError:
    """A case attachment the actor may open, its SHA-256 checked. A mismatch is recorded on the
    audit trail and the refusal returned, so the view raises it after the event commits."""
    case, acting = _authorize_case(session, actor, clock, case_id, account_id)
    att = session.get(CaseAttachment, attachment_id)
    if att is None or att.case_id != case.id:
        raise NotFound("case.attachment_not_found", "We could not find that attachment.")
    try:
        content = _attachment_bytes(ctx, att)
    except BlobMissing:
        return DomainError(
            "case.attachment_missing", "This attachment's file is missing from our storage.", status=500
        )
    except BlobCorrupted as exc:
        audit.record(
            session,
            acting,
            clock,
            action="case.attachment_integrity_failed",
            account_id=case.account_id,
            entity_type="case_attachment",
            entity_id=att.id,
            after={
                "case_id": case.id,
                "number": case.number,
                "sha256": att.sha256,
                "found_sha256": exc.found,
            },
            outcome="failure",
        )
        return DomainError(
            "case.attachment_corrupted",
            "This attachment failed its integrity check and cannot be shown. We have recorded the problem.",
            status=500,
        )
    return AttachmentContent(att, content)


def _attachment_bytes(ctx: CaseContext, att: CaseAttachment) -> bytes:
    if att.content is not None:  # kept in the row (before the blob store): checked the same way
        found = hashlib.sha256(att.content).hexdigest()
        if found != att.sha256:
            raise BlobCorrupted(ATTACHMENTS, att.sha256, found)
        return att.content
    if ctx.blobs is None:
        raise BlobMissing(ATTACHMENTS, att.sha256)
    return ctx.blobs.open(ATTACHMENTS, att.sha256).read()  # small (under MAX_ATTACHMENT_BYTES)


# --- changing ----------------------------------------------------------------------------------


def _add_entry(
    session: Session,
    case: Case,
    actor: Actor,
    clock: Clock,
    kind: str,
    body: str,
    *,
    visible: bool = True,
    data: dict[str, Any] | None = None,
) -> CaseEntry:
    position = (
        session.scalar(select(func.max(CaseEntry.position)).where(CaseEntry.case_id == case.id)) or 0
    ) + 1
    entry = CaseEntry(
        id=new_id("cse"),
        case_id=case.id,
        position=position,
        kind=kind,
        at=clock.now(),
        author_id=actor.user_id,
        author_name=actor.name,
        author_role=actor.role,
        channel=actor.channel,
        body=body,
        visible_to_customer=visible,
        data=data,
    )
    session.add(entry)
    return entry


def _snapshot(case: Case) -> dict[str, Any]:
    return {
        "status": case.status,
        "team": case.team,
        "assigned_to": case.assigned_to,
        "contact_count": case.contact_count,
        "escalation_reasons": list(case.escalation_reasons or []),
    }


def _check_text(value: str, field_name: str, low: int, high: int) -> str:
    text = (value or "").strip()
    if len(text) < low:
        raise Invalid(
            f"case.{field_name}_too_short", f"Please write at least {low} characters.", field=field_name
        )
    if len(text) > high:
        raise Invalid(
            f"case.{field_name}_too_long", f"Please keep it under {high} characters.", field=field_name
        )
    return text


def _decode_attachments(items: Sequence[dict[str, str]]) -> list[tuple[str, str, bytes]]:
    if len(items) > MAX_ATTACHMENTS:
        raise Invalid(
            "case.too_many_attachments", f"Attach at most {MAX_ATTACHMENTS} files.", field="attachments"
        )
    out = []
    for item in items:
        name = (item.get("filename") or "").strip()[:200] or "attachment"
        media_type = (item.get("media_type") or "").strip().lower()
        if media_type not in ATTACHMENT_TYPES:
            raise Invalid(
                "case.attachment_type", "Attach PDF, PNG, JPEG or plain-text files only.", field="attachments"
            )
        try:
            content = base64.b64decode(item.get("content_base64") or "", validate=True)
        except (binascii.Error, ValueError):
            raise Invalid(
                "case.attachment_unreadable", "An attachment could not be read.", field="attachments"
            ) from None
        if not content:
            raise Invalid("case.attachment_empty", "An attachment is empty.", field="attachments")
        if len(content) > MAX_ATTACHMENT_BYTES:
            raise Invalid(
                "case.attachment_too_large",
                f"Each attachment must be under {MAX_ATTACHMENT_BYTES // 1000} KB.",
                field="attachments",
            )
        signatures = {
            "application/pdf": (b"%PDF",),
            "image/png": (b"\x89PNG",),
            "image/jpeg": (b"\xff\xd8\xff",),
        }
        if media_type in signatures and not content.startswith(signatures[media_type]):
            raise Invalid(
                "case.attachment_type", "A file's content does not match its type.", field="attachments"
            )
        out.append((name, media_type, content))
    return out


def _case_number(session: Session, kind: str) -> str:
    prefix = "CMP" if kind == "complaint" else "DSP"
    while True:
        number = f"{prefix}-{secrets.randbelow(900000) + 100000}"
        if session.scalar(select(Case.id).where(Case.number == number)) is None:
            return number


def open_case(
    session: Session,
    actor: Actor,
    clock: Clock,
    ctx: CaseContext,
    *,
    account_id: str,
    kind: str,
    category: str,
    subject: str,
    description: str,
    policy_id: str | None = None,
    payment_id: str | None = None,
    claim_id: str | None = None,
    attachments: Sequence[dict[str, str]] = (),
) -> Case:
    """Raise a complaint or dispute (the customer in the app, or staff for them during a call)."""
    if actor.role not in {"policyholder", "agent", "supervisor", "admin", "branch_staff"}:
        raise Forbidden("auth.forbidden", "Your role cannot raise a case.")
    account, acting = authorize_account(session, actor, clock, account_id)
    if kind not in ("complaint", "dispute"):
        raise Invalid("case.kind_unknown", "Choose complaint or dispute.", field="kind")
    if category not in CATEGORIES:
        raise Invalid("case.category_unknown", "Choose what the case is about.", field="category")
    subject = _check_text(subject, "subject", 3, 300)
    description = _check_text(description, "description", 10, 5000)
    files = _decode_attachments(attachments)
    policy = None
    if policy_id:
        policy = session.get(Policy, policy_id)
        if policy is None or policy.account_id != account.id:
            raise Invalid("case.policy_unknown", "That policy is not on this account.", field="policy_id")
    if payment_id:
        payment = session.get(Payment, payment_id)
        if payment is None or payment.account_id != account.id:
            raise Invalid("case.payment_unknown", "That payment is not on this account.", field="payment_id")
        policy = policy or session.get(Policy, payment.policy_id)
    if claim_id:
        claim = session.get(Claim, claim_id)
        if claim is None or claim.account_id != account.id:
            raise Invalid("case.claim_unknown", "That claim is not on this account.", field="claim_id")
        policy = policy or session.get(Policy, claim.policy_id)
    if policy is None:
        policy = session.scalar(
            select(Policy).where(Policy.account_id == account.id).order_by(Policy.number).limit(1)
        )
    time_zone = policy.time_zone if policy else "UTC"
    now = clock.now()
    promises = case_commitments(now, time_zone, ctx.rules.holidays, final_weeks=ctx.rules.final_weeks)
    case = Case(
        id=new_id("case"),
        account_id=account.id,
        number=_case_number(session, kind),
        kind=kind,
        status="open",
        subject=subject,
        description=description,
        opened_at=now,
        category=category,
        policy_id=policy_id or (policy.id if policy and (payment_id or claim_id) else None),
        payment_id=payment_id,
        claim_id=claim_id,
        time_zone=time_zone,
        channel=acting.channel,
        opened_by_user_id=actor.user_id,
        team="front_line",
        escalation_reasons=[],
        contact_count=1,
        acknowledge_by=promises.acknowledge_by,
        target_resolution_by=promises.target_resolution_by,
        summary_resolution_by=promises.summary_resolution_by,
        final_response_by=promises.final_response_by,
        currency=policy.currency if policy else "USD",
        updated_at=now,
    )
    case.due_at = next_due(case)
    session.add(case)
    session.flush()
    _add_entry(session, case, acting, clock, "raised", description)
    stored = []
    for name, media_type, content in files:
        # Kept before the row commits; if the transaction fails the blob stays unreferenced (it is
        # content-addressed, so a retry or another case with the same bytes reuses it).
        sha256 = ctx.blobs.put_bytes(ATTACHMENTS, content).sha256 if ctx.blobs is not None else None
        att = CaseAttachment(
            id=new_id("catt"),
            case_id=case.id,
            filename=name,
            media_type=media_type,
            size=len(content),
            sha256=sha256 or hashlib.sha256(content).hexdigest(),
            content=None if sha256 else content,
            created_at=now,
        )
        session.add(att)
        stored.append({"id": att.id, "filename": name, "size": att.size, "sha256": att.sha256})
    audit.record(
        session,
        acting,
        clock,
        action="case.opened",
        account_id=account.id,
        entity_type="case",
        entity_id=case.id,
        after={
            "number": case.number,
            "kind": kind,
            "category": category,
            "subject": subject,
            "policy_id": case.policy_id,
            "payment_id": payment_id,
            "claim_id": claim_id,
            "attachments": stored,
            "commitments": promises.as_dict(),
        },
    )
    needs = CATEGORIES[category][1]
    if needs:
        _escalate(session, clock, ctx, case, [f"category_needs_{needs}"], team=needs)
    return case


def _pick_supervisor(session: Session) -> User | None:
    """The active supervisor with the fewest open cases (falls back to an administrator)."""
    for role in ("supervisor", "admin"):
        load = (
            select(Case.assigned_to, func.count().label("n"))
            .where(Case.status.in_(OPEN_CASE_STATUSES))
            .group_by(Case.assigned_to)
            .subquery()
        )
        user = session.scalar(
            select(User)
            .outerjoin(load, load.c.assigned_to == User.id)
            .where(User.role == role, User.disabled.is_(False))
            .order_by(func.coalesce(load.c.n, 0), User.id)
            .limit(1)
        )
        if user is not None:
            return user
    return None


def _escalate(
    session: Session,
    clock: Clock,
    ctx: CaseContext,
    case: Case,
    reasons: list[str],
    *,
    team: str | None = None,
    actor: Actor | None = None,
) -> bool:
    """Record new escalation reasons, assign the case up and notify. False when nothing was new."""
    new = [r for r in reasons if r not in (case.escalation_reasons or [])]
    if not new:
        return False
    before = _snapshot(case)
    now = clock.now()
    case.escalation_reasons = [*(case.escalation_reasons or []), *new]
    if team == "legal" or case.team == "legal":
        case.team = "legal"
    else:
        case.team = "supervisor"
    assignee = None
    current = session.get(User, case.assigned_to) if case.assigned_to else None
    if current is not None and current.role in SENIOR_ROLES:
        assignee = current  # already with a supervisor: keep the owner, notify again
    else:
        assignee = _pick_supervisor(session)
        case.assigned_to = assignee.id if assignee else None
    if case.status in ("open", "in_progress", "awaiting_customer"):
        # A resolved case stays resolved when only its final response runs late.
        case.status = "escalated"
    case.escalated_at = case.escalated_at or now
    case.updated_at = now
    recorder = actor or Actor.system("Case escalation")
    _add_entry(
        session,
        case,
        recorder,
        clock,
        "escalated",
        "Passed to a senior member of the complaints team.",
        data={"reasons": new},
    )
    audit.record(
        session,
        recorder,
        clock,
        action="case.escalated",
        account_id=case.account_id,
        entity_type="case",
        entity_id=case.id,
        before=before,
        after={**_snapshot(case), "new_reasons": new},
    )
    ctx.notifier.case_escalated(session, clock, case, new, assignee)
    return True


def acknowledge_case(
    session: Session, actor: Actor, clock: Clock, *, case_id: str, message: str = ""
) -> Case:
    """Staff acknowledge a case: the 24-hour commitment is met."""
    _require_staff(actor)
    case, acting = _authorize_case(session, actor, clock, case_id)
    if case.acknowledged_at is not None:
        raise Conflict("case.already_acknowledged", "This case was already acknowledged.")
    before = _snapshot(case)
    now = clock.now()
    case.acknowledged_at = now
    if case.status == "open":
        case.status = "in_progress"
    if case.assigned_to is None and actor.user_id:
        case.assigned_to = actor.user_id
    case.due_at = next_due(case)
    case.updated_at = now
    text = message.strip() or "We have received your case and are looking into it."
    _add_entry(session, case, acting, clock, "acknowledged", text)
    audit.record(
        session,
        acting,
        clock,
        action="case.acknowledged",
        account_id=case.account_id,
        entity_type="case",
        entity_id=case.id,
        before=before,
        after={
            **_snapshot(case),
            "acknowledged_at": now,
            "late": now > case.acknowledge_by if case.acknowledge_by else False,
        },
    )
    return case


def respond(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    case_id: str,
    message: str,
    internal: bool = False,
    awaiting_customer: bool = False,
) -> Case:
    """Staff answer the customer (or add an internal note the customer never sees)."""
    _require_staff(actor)
    case, acting = _authorize_case(session, actor, clock, case_id)
    if case.status == "closed":
        raise Conflict("case.closed", "This case is closed.")
    text = _check_text(message, "message", 2, 5000)
    before = _snapshot(case)
    if not internal and awaiting_customer and case.status in ("open", "in_progress", "escalated"):
        case.status = "awaiting_customer"
    case.updated_at = clock.now()
    _add_entry(session, case, acting, clock, "note" if internal else "response", text, visible=not internal)
    audit.record(
        session,
        acting,
        clock,
        action="case.note_added" if internal else "case.responded",
        account_id=case.account_id,
        entity_type="case",
        entity_id=case.id,
        before=before,
        after={**_snapshot(case), "message": text},
    )
    return case


def record_contact(
    session: Session,
    actor: Actor,
    clock: Clock,
    ctx: CaseContext,
    *,
    case_id: str,
    message: str,
    still_unresolved: bool = False,
    account_id: str | None = None,
) -> Case:
    """The customer contacts us about a case again: their message in the app, or a call an agent
    logs for them. The third contact, or "this is still not resolved", escalates the case."""
    case, acting = _authorize_case(session, actor, clock, case_id, account_id)
    if case.status == "closed":
        raise Conflict("case.closed", "This case is closed. Please raise a new case.")
    text = _check_text(message, "message", 2, 5000)
    before = _snapshot(case)
    now = clock.now()
    case.contact_count += 1
    if case.status == "awaiting_customer":
        case.status = "escalated" if case.escalation_reasons else "in_progress"
    if still_unresolved and case.status == "resolved":
        # The customer disagrees with the resolution: the case is open again.
        case.resolved_at = None
        case.outcome = None
        case.status = "in_progress"
    case.due_at = next_due(case)
    case.updated_at = now
    _add_entry(
        session,
        case,
        acting,
        clock,
        "customer_message",
        text,
        data={"still_unresolved": still_unresolved, "contact": case.contact_count},
    )
    audit.record(
        session,
        acting,
        clock,
        action="case.customer_contact",
        account_id=case.account_id,
        entity_type="case",
        entity_id=case.id,
        before=before,
        after={**_snapshot(case), "message": text, "still_unresolved": still_unresolved},
    )
    reasons = []
    if case.contact_count >= REPEAT_CONTACT_LIMIT:
        reasons.append("repeated_contact")
    if still_unresolved:
        reasons.append("customer_says_unresolved")
    if reasons:
        _escalate(session, clock, ctx, case, reasons)
    return case


def escalate_case(
    session: Session, actor: Actor, clock: Clock, ctx: CaseContext, *, case_id: str, note: str
) -> Case:
    """Staff pass a case up because the front line lacks the authority to settle it."""
    _require_staff(actor)
    case, acting = _authorize_case(session, actor, clock, case_id)
    if case.status == "closed":
        raise Conflict("case.closed", "This case is closed.")
    text = _check_text(note, "note", 2, 2000)
    if not _escalate(session, clock, ctx, case, ["staff_request"], actor=acting):
        raise Conflict("case.already_escalated", "This case was already escalated by staff.")
    _add_entry(session, case, acting, clock, "note", text, visible=False)
    return case


def resolve_case(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    case_id: str,
    outcome: str,
    resolution: str,
    remedy_kind: str = "none",
    remedy_minor: int | None = None,
    refund_id: str | None = None,
    reference: str | None = None,
) -> Case:
    """Record the resolution: the outcome, what we tell the customer and any money put right."""
    _require_staff(actor)
    case, acting = _authorize_case(session, actor, clock, case_id)
    if case.status in ("resolved", "closed"):
        raise Conflict("case.already_resolved", "This case is already resolved.")
    if case.team in ("supervisor", "legal") and actor.role not in SENIOR_ROLES:
        raise Forbidden("case.needs_supervisor", "An escalated case is resolved by a supervisor.")
    if outcome not in OUTCOMES:
        raise Invalid(
            "case.outcome_unknown", "Choose upheld, partially upheld or not upheld.", field="outcome"
        )
    text = _check_text(resolution, "resolution", 10, 5000)
    if remedy_kind not in REMEDY_KINDS:
        raise Invalid(
            "case.remedy_unknown", "Choose refund, adjustment, goodwill or none.", field="remedy_kind"
        )
    ref = (reference or "").strip()[:80] or None
    if remedy_kind == "none":
        if remedy_minor:
            raise Invalid(
                "case.remedy_amount_without_kind",
                "Choose what kind of remedy the amount is.",
                field="remedy_kind",
            )
        remedy_minor = None
    else:
        if remedy_kind == "refund":
            refund = session.get(Refund, refund_id) if refund_id else None
            payment = session.get(Payment, refund.payment_id) if refund else None
            if refund is None or payment is None or payment.account_id != case.account_id:
                raise Invalid(
                    "case.refund_unknown",
                    "Issue the refund on the payment first, then choose it here.",
                    field="refund_id",
                )
            if refund.status == "failed":
                raise Invalid(
                    "case.refund_failed", "That refund failed; it cannot settle the case.", field="refund_id"
                )
            remedy_minor = refund.amount_minor
            ref = refund.id
        if remedy_minor is None or remedy_minor <= 0:
            raise Invalid("case.remedy_amount_invalid", "Enter the amount put right.", field="remedy_minor")
        if remedy_minor > 10_000_000_00:
            raise Invalid("case.remedy_amount_invalid", "That amount is not plausible.", field="remedy_minor")
    if outcome == "not_upheld" and remedy_kind in ("refund", "adjustment"):
        raise Invalid(
            "case.remedy_contradicts_outcome",
            "A case that is not upheld cannot carry a refund or adjustment; use goodwill.",
            field="remedy_kind",
        )
    before = _snapshot(case)
    now = clock.now()
    case.status = "resolved"
    case.outcome = outcome
    case.resolution = text
    case.resolved_at = now
    case.remedy_kind = None if remedy_kind == "none" else remedy_kind
    case.remedy_minor = remedy_minor
    case.remedy_reference = ref
    case.due_at = next_due(case)
    case.updated_at = now
    _add_entry(
        session,
        case,
        acting,
        clock,
        "resolution",
        text,
        data={"outcome": outcome, "remedy_kind": remedy_kind, "remedy_minor": remedy_minor, "reference": ref},
    )
    audit.record(
        session,
        acting,
        clock,
        action="case.resolved",
        account_id=case.account_id,
        entity_type="case",
        entity_id=case.id,
        before=before,
        after={
            **_snapshot(case),
            "outcome": outcome,
            "remedy_kind": remedy_kind,
            "remedy_minor": remedy_minor,
            "currency": case.currency,
            "remedy_reference": ref,
            "within_target": now <= case.target_resolution_by if case.target_resolution_by else None,
        },
    )
    return case


def close_case(session: Session, actor: Actor, clock: Clock, *, case_id: str, final_response: str) -> Case:
    """Send the final response and close the case (after a resolution)."""
    _require_staff(actor)
    case, acting = _authorize_case(session, actor, clock, case_id)
    if case.status == "closed":
        raise Conflict("case.closed", "This case is already closed.")
    if case.resolved_at is None:
        raise Conflict("case.not_resolved", "Record the resolution before the final response.")
    if case.team in ("supervisor", "legal") and actor.role not in SENIOR_ROLES:
        raise Forbidden("case.needs_supervisor", "An escalated case is closed by a supervisor.")
    text = _check_text(final_response, "final_response", 10, 5000)
    before = _snapshot(case)
    now = clock.now()
    case.status = "closed"
    case.closed_at = now
    case.due_at = None
    case.updated_at = now
    _add_entry(session, case, acting, clock, "final_response", text)
    audit.record(
        session,
        acting,
        clock,
        action="case.closed",
        account_id=case.account_id,
        entity_type="case",
        entity_id=case.id,
        before=before,
        after={**_snapshot(case), "final_response": text},
    )
    return case


def escalate_overdue(session: Session, clock: Clock, ctx: CaseContext) -> int:
    """Escalate every open case with a commitment that passed unmet (run by the job runner)."""
    now = clock.now()
    candidates = session.scalars(
        select(Case).where(Case.status.in_((*OPEN_CASE_STATUSES, "resolved")), Case.due_at <= now)
    )
    escalated = 0
    for case in list(candidates):
        missed = [f"deadline_missed:{d.name}" for d in deadline_states(case, now) if d.overdue]
        if _escalate(session, clock, ctx, case, missed):
            escalated += 1
        case.due_at = _next_unescalated_due(case)
    return escalated


def _next_unescalated_due(case: Case) -> datetime | None:
    """When the sweep must look at this case again: its next unmet promise not yet escalated."""
    reasons = set(case.escalation_reasons or [])
    pending = [
        getattr(case, f"{name}_by")
        for name, met_field in DEADLINES
        if getattr(case, met_field) is None and f"deadline_missed:{name}" not in reasons
    ]
    return min(pending) if pending else None
