"""Claims: file a claim, attach photos, follow it, and move it through its life cycle."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.accounts.service import authorize_account
from services.actor import Actor
from services.audit import service as audit
from services.auth.models import User
from services.claims import sla
from services.claims.models import (
    ADJUSTER,
    LOSS_TYPES,
    OPEN_CLAIM_STATUSES,
    Claim,
    ClaimPhoto,
    ClaimStep,
    StaffPermission,
)
from services.claims.photos import Inspected, Received
from services.clock import Clock
from services.db.base import new_id
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.policies.models import Policy

# A loss time a few minutes ahead of our clock is a clock difference, not a future loss.
FUTURE_TOLERANCE = timedelta(minutes=5)

# action -> (statuses it may start from, status it leads to). "respond" is the customer's.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({"submitted"}), "acknowledged"),
    "start_review": (frozenset({"acknowledged"}), "in_review"),
    "request_info": (frozenset({"acknowledged", "in_review"}), "info_requested"),
    "respond": (frozenset({"info_requested"}), "in_review"),
    "approve": (frozenset({"in_review"}), "approved"),
    "deny": (frozenset({"acknowledged", "in_review"}), "denied"),
    "mark_paid": (frozenset({"approved"}), "paid"),
    "close": (frozenset({"paid", "denied"}), "closed"),
}
STAFF_ACTIONS = ("acknowledge", "start_review", "request_info", "approve", "deny", "mark_paid", "close")
CUSTOMER_ACTIONS = ("respond",)


@dataclass(frozen=True)
class LossDetails:
    policy_id: str
    loss_type: str
    loss_at: datetime
    location: str
    description: str
    vehicle: str = ""
    other_parties: str = ""
    police_report: str = ""
    injuries: bool = False
    injury_details: str = ""


def _claim_not_found() -> NotFound:
    return NotFound("claim.not_found", "We could not find that claim.")


# --- permissions -----------------------------------------------------------------------------


def has_permission(session: Session, user_id: str | None, permission: str) -> bool:
    if not user_id:
        return False
    return session.get(StaffPermission, (user_id, permission)) is not None


def grant_permission(session: Session, actor: Actor, clock: Clock, *, user_id: str, permission: str) -> None:
    """Give a staff user a permission (audited); policyholders can never hold one."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user.not_found", "No such user.")
    if user.role == "policyholder":
        raise Forbidden("permission.staff_only", "Only staff can hold this permission.")
    if has_permission(session, user_id, permission):
        return
    session.add(StaffPermission(user_id=user_id, permission=permission, granted_at=clock.now()))
    audit.record(
        session,
        actor,
        clock,
        action="staff.permission_granted",
        account_id=None,
        entity_type="user",
        entity_id=user_id,
        after={"permission": permission},
    )


def is_adjuster(session: Session, actor: Actor) -> bool:
    return actor.is_staff and has_permission(session, actor.user_id, ADJUSTER)


# --- filing ----------------------------------------------------------------------------------


def _new_number(session: Session) -> str:
    while True:
        number = f"CLM-{secrets.randbelow(900_000) + 100_000}"
        if session.scalar(select(Claim.id).where(Claim.number == number)) is None:
            return number


def file_claim(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    account_id: str,
    details: LossDetails,
    holidays: frozenset[date] = frozenset(),
) -> Claim:
    """First notice of loss: validate, number it, fix its promised-by dates, audit it."""
    account, acting = authorize_account(session, actor, clock, account_id)
    policy = session.get(Policy, details.policy_id)
    if policy is None or policy.account_id != account.id:
        raise NotFound("policy.not_found", "That policy is not on this account.", field="policy_id")
    now = clock.now()
    if details.loss_type not in LOSS_TYPES:
        raise Invalid("claim.loss_type_invalid", "Choose what happened from the list.", field="loss_type")
    if details.loss_at > now + FUTURE_TOLERANCE:
        raise Invalid(
            "claim.loss_in_future", "The date and time of the loss cannot be in the future.", field="loss_at"
        )
    if policy.product_line == "auto" and not details.vehicle.strip():
        raise Invalid("claim.vehicle_required", "Say which vehicle was involved.", field="vehicle")
    if details.injuries and not details.injury_details.strip():
        raise Invalid(
            "claim.injury_details_required", "Tell us briefly who was hurt and how.", field="injury_details"
        )
    loss_day = sla.local_date(details.loss_at, policy.time_zone)
    outside = not (policy.effective_date <= loss_day <= policy.expiry_date)
    promised = sla.commitments(now, policy.time_zone, holidays)
    claim = Claim(
        id=new_id("clm"),
        account_id=account.id,
        policy_id=policy.id,
        number=_new_number(session),
        status="submitted",
        loss_type=details.loss_type,
        loss_at=details.loss_at,
        location=details.location,
        description=details.description,
        submitted_at=now,
        vehicle=details.vehicle if policy.product_line == "auto" else "",
        other_parties=details.other_parties,
        police_report=details.police_report,
        injuries=details.injuries,
        injury_details=details.injury_details if details.injuries else "",
        outside_term=outside,
        filed_by_user_id=actor.user_id,
        acknowledge_by=promised.acknowledge_by,
        review_by=promised.review_by,
        currency=policy.currency,
        updated_at=now,
    )
    session.add(claim)
    session.flush()
    _add_step(session, acting, clock, claim, kind="status", status="submitted")
    audit.record(
        session,
        acting,
        clock,
        action="claim.filed",
        account_id=account.id,
        entity_type="claim",
        entity_id=claim.id,
        after={
            "number": claim.number,
            "policy_number": policy.number,
            "loss_type": claim.loss_type,
            "loss_at": claim.loss_at,
            "status": claim.status,
            "outside_term": outside,
            "acknowledge_by": promised.acknowledge_by,
            "review_by": promised.review_by,
        },
    )
    return claim


def _add_step(
    session: Session,
    actor: Actor,
    clock: Clock,
    claim: Claim,
    *,
    kind: str,
    status: str,
    note: str = "",
    amount_minor: int | None = None,
) -> ClaimStep:
    position = (
        session.scalar(
            select(func.coalesce(func.max(ClaimStep.position), 0)).where(ClaimStep.claim_id == claim.id)
        )
        or 0
    ) + 1
    step = ClaimStep(
        id=new_id("cst"),
        claim_id=claim.id,
        position=position,
        kind=kind,
        status=status,
        occurred_at=clock.now(),
        actor_id=actor.user_id,
        actor_name=actor.name,
        actor_role=actor.role,
        channel=actor.channel,
        note=note,
        amount_minor=amount_minor,
    )
    session.add(step)
    return step


# --- reading ---------------------------------------------------------------------------------


def _load_claim(
    session: Session, actor: Actor, clock: Clock, claim_id: str, *, lock: bool = False
) -> tuple[Claim, Actor]:
    claim = session.get(Claim, claim_id, with_for_update=lock)
    if claim is None:
        raise _claim_not_found()
    try:
        _, acting = authorize_account(session, actor, clock, claim.account_id)
    except NotFound:
        raise _claim_not_found() from None  # another customer's claim: say nothing more
    return claim, acting


def get_claim(session: Session, actor: Actor, clock: Clock, *, claim_id: str) -> dict[str, Any]:
    """One claim with its timeline, photos count, commitments and what happens next."""
    claim, _ = _load_claim(session, actor, clock, claim_id)
    return claim_view(session, actor, clock, claim, with_timeline=True)


def list_account_claims(
    session: Session, actor: Actor, clock: Clock, *, account_id: str
) -> list[dict[str, Any]]:
    """Every claim on the account, newest first, each with its timeline."""
    authorize_account(session, actor, clock, account_id)
    claims = session.scalars(
        select(Claim).where(Claim.account_id == account_id).order_by(Claim.submitted_at.desc())
    )
    return [claim_view(session, actor, clock, c, with_timeline=True) for c in claims]


def adjuster_queue(
    session: Session, actor: Actor, clock: Clock, *, overdue_only: bool = False
) -> list[dict[str, Any]]:
    """Open claims across accounts for adjusters, overdue ones first, oldest first."""
    if not is_adjuster(session, actor):
        raise Forbidden("claim.adjuster_required", "Only staff with the adjuster permission can do this.")
    claims = list(
        session.scalars(
            select(Claim).where(Claim.status.in_(OPEN_CLAIM_STATUSES)).order_by(Claim.submitted_at)
        )
    )
    rows = [claim_view(session, actor, clock, c, with_timeline=False) for c in claims]
    if overdue_only:
        rows = [r for r in rows if r["overdue"]]
    rows.sort(key=lambda r: (not r["overdue"], r["submitted_at"]))
    return rows


def _next_step(claim: Claim) -> dict[str, Any]:
    # What happens next, and by whom: codes the UI words (it also knows the promised date).
    if claim.status == "submitted":
        return {"code": "acknowledge", "by": "us", "due_date": claim.acknowledge_by}
    if claim.status == "acknowledged":
        return {"code": "review", "by": "us", "due_date": claim.review_by}
    if claim.status == "in_review":
        return {"code": "decision", "by": "us", "due_date": None}
    if claim.status == "info_requested":
        return {"code": "customer_info", "by": "you", "due_date": None}
    if claim.status == "approved":
        return {"code": "payment", "by": "us", "due_date": None}
    if claim.status in ("paid", "denied"):
        return {"code": "closing", "by": "us", "due_date": None}
    return {"code": "none", "by": "none", "due_date": None}


def claim_view(
    session: Session, actor: Actor, clock: Clock, claim: Claim, *, with_timeline: bool
) -> dict[str, Any]:
    policy = session.get(Policy, claim.policy_id)
    assert policy is not None
    now = clock.now()
    steps = []
    if claim.acknowledge_by is not None:
        steps.append(
            sla.step_state("acknowledge", claim.acknowledge_by, claim.acknowledged_at, policy.time_zone, now)
        )
    if claim.review_by is not None:
        steps.append(sla.step_state("review", claim.review_by, claim.reviewed_at, policy.time_zone, now))
    photo_count = session.scalar(
        select(func.count()).select_from(ClaimPhoto).where(ClaimPhoto.claim_id == claim.id)
    )
    adjuster = is_adjuster(session, actor)
    if adjuster:
        allowed = [a for a in STAFF_ACTIONS if claim.status in TRANSITIONS[a][0]]
    elif not actor.is_staff:
        allowed = [a for a in CUSTOMER_ACTIONS if claim.status in TRANSITIONS[a][0]]
    else:
        allowed = []
    view: dict[str, Any] = {
        "id": claim.id,
        "number": claim.number,
        "account_id": claim.account_id,
        "policy_id": claim.policy_id,
        "policy_number": policy.number,
        "product_line": policy.product_line,
        "time_zone": policy.time_zone,
        "status": claim.status,
        "loss_type": claim.loss_type,
        "loss_at": claim.loss_at,
        "location": claim.location,
        "description": claim.description,
        "vehicle": claim.vehicle,
        "other_parties": claim.other_parties,
        "police_report": claim.police_report,
        "injuries": claim.injuries,
        "injury_details": claim.injury_details,
        "outside_term": claim.outside_term,
        "policy_effective_date": policy.effective_date,
        "policy_expiry_date": policy.expiry_date,
        "submitted_at": claim.submitted_at,
        "currency": claim.currency,
        "approved_minor": claim.approved_minor,
        "decision_reason": claim.decision_reason,
        "info_request": claim.info_request,
        "photo_count": photo_count or 0,
        "sla": [
            {
                "step": s.step,
                "due_date": s.due_date,
                "due_at": s.due_at,
                "done_at": s.done_at,
                "overdue": s.overdue,
                "late": s.late,
            }
            for s in steps
        ],
        # Overdue flags are for staff; customers see the promised dates, not our lateness metric.
        "overdue": any(s.overdue for s in steps) if actor.is_staff else False,
        "next_step": _next_step(claim),
        "can_adjust": adjuster,
        "allowed_actions": allowed,
        "timeline": [],
    }
    if with_timeline:
        view["timeline"] = [
            {
                "kind": s.kind,
                "status": s.status,
                "occurred_at": s.occurred_at,
                "actor_name": s.actor_name,
                "actor_role": s.actor_role,
                "channel": s.channel,
                "note": s.note,
                "amount_minor": s.amount_minor,
            }
            for s in session.scalars(
                select(ClaimStep).where(ClaimStep.claim_id == claim.id).order_by(ClaimStep.position)
            )
        ]
    return view


# --- transitions -----------------------------------------------------------------------------


def transition_claim(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    claim_id: str,
    action: str,
    note: str = "",
    amount_minor: int | None = None,
) -> Claim:
    """Move a claim along its life cycle; staff steps need the adjuster permission."""
    if action not in TRANSITIONS:
        raise Invalid(
            "claim.action_unknown", "That is not something that can be done to a claim.", field="action"
        )
    claim, acting = _load_claim(session, actor, clock, claim_id, lock=True)
    if action in STAFF_ACTIONS and not is_adjuster(session, actor):
        raise Forbidden("claim.adjuster_required", "Only staff with the adjuster permission can do this.")
    if action in CUSTOMER_ACTIONS and actor.is_staff:
        raise Forbidden("claim.customer_only", "Only the customer answers a request for information.")
    sources, target = TRANSITIONS[action]
    if claim.status not in sources:
        raise Conflict(
            "claim.illegal_transition",
            f"A claim that is {claim.status.replace('_', ' ')} cannot be moved that way.",
            current_status=claim.status,
        )
    note = note.strip()
    if action in ("request_info", "respond", "deny") and not note:
        code = {"request_info": "claim.question_required", "respond": "claim.answer_required"}.get(
            action, "claim.reason_required"
        )
        raise Invalid(code, "Write a few words: this is what the other side will read.", field="note")
    if action == "approve" and (amount_minor is None or amount_minor <= 0):
        raise Invalid("claim.amount_required", "Enter the approved amount.", field="amount_minor")
    if action != "approve":
        amount_minor = None
    now = clock.now()
    before = {"status": claim.status}
    claim.status = target
    claim.updated_at = now
    if action == "acknowledge":
        claim.acknowledged_at = now
    if target == "in_review" and claim.reviewed_at is None:
        claim.reviewed_at = now
    if action == "deny" and claim.reviewed_at is None:
        claim.reviewed_at = now  # a decision is a review
    if action == "request_info":
        claim.info_request = note
        if claim.reviewed_at is None:
            claim.reviewed_at = now
    if action == "respond":
        claim.info_request = ""
    if action == "approve":
        claim.approved_minor = amount_minor
    if action == "deny":
        claim.decision_reason = note
    kind = "response" if action == "respond" else "status"
    _add_step(session, acting, clock, claim, kind=kind, status=target, note=note, amount_minor=amount_minor)
    after: dict[str, Any] = {"status": target, "number": claim.number, "transition": action}
    if note:
        after["note"] = note
    if amount_minor is not None:
        after["amount_minor"] = amount_minor
        after["currency"] = claim.currency
    audit.record(
        session,
        acting,
        clock,
        action="claim.info_provided" if action == "respond" else "claim.status_changed",
        account_id=claim.account_id,
        entity_type="claim",
        entity_id=claim.id,
        before=before,
        after=after,
    )
    return claim


# --- photos ----------------------------------------------------------------------------------


def claim_for_upload(session: Session, actor: Actor, clock: Clock, *, claim_id: str) -> Claim:
    """Check, before a byte is read, that this actor may add photos to this claim."""
    claim, _ = _load_claim(session, actor, clock, claim_id)
    if claim.status == "closed":
        raise Conflict("claim.closed", "This claim is closed; photos can no longer be added.")
    return claim


def attach_claim_photo(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    claim_id: str,
    filename: str,
    received: Received,
    inspected: Inspected,
) -> ClaimPhoto:
    """Record a checked, stored photo on the claim; the audit event carries its SHA-256."""
    claim, acting = _load_claim(session, actor, clock, claim_id)
    if claim.status == "closed":
        raise Conflict("claim.closed", "This claim is closed; photos can no longer be added.")
    photo = ClaimPhoto(
        id=new_id("pho"),
        claim_id=claim.id,
        account_id=claim.account_id,
        filename=filename,
        content_type=inspected.content_type,
        size_bytes=received.size,
        sha256=received.sha256,
        width=inspected.width,
        height=inspected.height,
        captured_at=inspected.captured_at,
        uploaded_at=clock.now(),
        uploaded_by=actor.user_id,
    )
    session.add(photo)
    session.flush()
    audit.record(
        session,
        acting,
        clock,
        action="claim.photo_attached",
        account_id=claim.account_id,
        entity_type="claim_photo",
        entity_id=photo.id,
        after={
            "claim_id": claim.id,
            "number": claim.number,
            "filename": filename,
            "content_type": photo.content_type,
            "size_bytes": photo.size_bytes,
            "sha256": photo.sha256,
            "width": photo.width,
            "height": photo.height,
            "captured_at": photo.captured_at,
        },
    )
    return photo


def photo_dict(p: ClaimPhoto) -> dict[str, Any]:
    return {
        "id": p.id,
        "claim_id": p.claim_id,
        "filename": p.filename,
        "content_type": p.content_type,
        "size_bytes": p.size_bytes,
        "sha256": p.sha256,
        "width": p.width,
        "height": p.height,
        "captured_at": p.captured_at,
        "uploaded_at": p.uploaded_at,
    }


def list_photos(session: Session, actor: Actor, clock: Clock, *, claim_id: str) -> list[ClaimPhoto]:
    """The claim's photos, oldest first."""
    claim, _ = _load_claim(session, actor, clock, claim_id)
    return list(
        session.scalars(
            select(ClaimPhoto).where(ClaimPhoto.claim_id == claim.id).order_by(ClaimPhoto.uploaded_at)
        )
    )


def get_photo(session: Session, actor: Actor, clock: Clock, *, claim_id: str, photo_id: str) -> ClaimPhoto:
    """One photo of a claim the actor may see."""
    claim, _ = _load_claim(session, actor, clock, claim_id)
    photo = session.get(ClaimPhoto, photo_id)
    if photo is None or photo.claim_id != claim.id:
        raise NotFound("claim.photo_not_found", "We could not find that photo.")
    return photo


def record_photo_integrity_failure(
    session: Session, actor: Actor, clock: Clock, *, claim_id: str, photo_id: str, found_sha256: str
) -> None:
    """Put a photo whose stored bytes no longer match its SHA-256 on the audit trail."""
    claim, acting = _load_claim(session, actor, clock, claim_id)
    photo = get_photo(session, actor, clock, claim_id=claim_id, photo_id=photo_id)
    audit.record(
        session,
        acting,
        clock,
        action="claim.photo_integrity_failed",
        account_id=claim.account_id,
        entity_type="claim_photo",
        entity_id=photo.id,
        after={
            "claim_id": claim.id,
            "number": claim.number,
            "filename": photo.filename,
            "sha256": photo.sha256,
            "found_sha256": found_sha256,
        },
        outcome="failure",
    )


def sha_in_use(session: Session, sha256: str) -> bool:
    return session.scalar(select(ClaimPhoto.id).where(ClaimPhoto.sha256 == sha256).limit(1)) is not None
