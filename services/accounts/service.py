"""Account access rules, the account overview, contact details and branch verification."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BindParameter, Select, bindparam, select
from sqlalchemy.orm import Session

from services.accounts.models import Account, AccountHolder
from services.actor import Actor
from services.audit import service as audit
from services.auth.models import BranchVerification, SignInThrottle, User
from services.cases.models import OPEN_CASE_STATUSES, Case
from services.claims.models import OPEN_CLAIM_STATUSES, Claim
from services.clock import Clock
from services.db.base import new_id
from services.errors import DomainError, Forbidden, Invalid, NotFound
from services.payments.models import Installment
from services.policies.models import Policy

DUE_SOON_DAYS = 7
VERIFY_MAX_FAILURES = 3
VERIFY_LOCK_SECONDS = 15 * 60
VERIFICATION_TTL = timedelta(hours=4)  # one counter visit


def _not_found() -> NotFound:
    # One answer for "does not exist" and "not yours": ids of other customers stay unconfirmed.
    return NotFound("account.not_found", "We could not find that account.")


def authorize_account(session: Session, actor: Actor, clock: Clock, account_id: str) -> tuple[Account, Actor]:
    """Check the actor may reach this account; return it and the actor as recorded on it."""
    if actor.role == "policyholder":
        # One statement: the account, only if this customer holds it (every customer request).
        account = session.scalar(
            select(Account)
            .join(AccountHolder, AccountHolder.account_id == Account.id)
            .where(Account.id == account_id, AccountHolder.user_id == actor.user_id)
            .limit(1)
        )
        if account is None:
            raise _not_found()
        return account, actor
    account = session.get(Account, account_id)
    if actor.role in {"agent", "supervisor", "admin"}:
        if account is None:
            raise _not_found()
        return account, actor.for_customer(primary_holder_id(session, account_id))
    if actor.role == "branch_staff":
        if account is None:
            raise _not_found()
        verification = session.scalar(
            select(BranchVerification)
            .where(
                BranchVerification.staff_user_id == actor.user_id,
                BranchVerification.account_id == account_id,
                BranchVerification.expires_at > clock.now(),
            )
            .order_by(BranchVerification.created_at.desc())
            .limit(1)
        )
        if verification is None:
            raise Forbidden(
                "branch.verification_required",
                "Verify the customer (policy number, date of birth and postcode) "
                "before opening their account.",
            )
        return account, actor.for_customer(verification.holder_id)
    raise Forbidden("auth.forbidden", "Your role cannot open customer accounts.")


def primary_holder_id(session: Session, account_id: str) -> str | None:
    return session.scalar(
        select(AccountHolder.id)
        .where(AccountHolder.account_id == account_id)
        .order_by(AccountHolder.is_primary.desc(), AccountHolder.id)
        .limit(1)
    )


def open_account(session: Session, actor: Actor, clock: Clock, *, account_id: str) -> dict[str, Any]:
    """The account overview; staff opening it is itself an audit event."""
    account, acting = authorize_account(session, actor, clock, account_id)
    if actor.is_staff:
        audit.record(
            session,
            acting,
            clock,
            action="account.viewed",
            account_id=account.id,
            entity_type="account",
            entity_id=account.id,
        )
    return account_overview(session, clock, account)


@cache
def _overview_statements() -> dict[str, Select[Any]]:
    """The overview's statements, built once: each request only binds `account_id`."""
    account_id: BindParameter[str] = bindparam("account_id")
    holders = (
        select(
            AccountHolder.id,
            AccountHolder.full_name,
            AccountHolder.email,
            AccountHolder.phone,
            AccountHolder.postcode,
            AccountHolder.address,
            AccountHolder.is_primary,
            AccountHolder.paperless,
        )
        .where(AccountHolder.account_id == account_id)
        .order_by(AccountHolder.is_primary.desc(), AccountHolder.full_name)
    )
    policies = (
        select(
            Policy.id,
            Policy.number,
            Policy.product_line,
            Policy.status,
            Policy.effective_date,
            Policy.expiry_date,
            Policy.time_zone,
            Policy.premium_minor,
            Policy.currency,
            Policy.pay_plan,
            Policy.payment_day,
            Policy.autopay_enabled,
        )
        .where(Policy.account_id == account_id)
        .order_by(Policy.number)
    )
    # Every policy's installments in one statement, not one per policy (N+1).
    installments = (
        select(
            Installment.id,
            Installment.policy_id,
            Installment.due_date,
            Installment.amount_minor,
            Installment.paid_minor,
            Installment.currency,
            Installment.status,
        )
        .join(Policy, Policy.id == Installment.policy_id)
        .where(Policy.account_id == account_id)
        .order_by(Installment.due_date)
    )
    claims = (
        select(Claim.id, Claim.number, Claim.policy_id, Claim.status, Claim.loss_type, Claim.loss_at)
        .add_columns(Claim.submitted_at)
        .where(Claim.account_id == account_id, Claim.status.in_(OPEN_CLAIM_STATUSES))
        .order_by(Claim.submitted_at.desc())
    )
    cases = (
        select(Case.id, Case.number, Case.kind, Case.status, Case.subject, Case.due_at)
        .where(Case.account_id == account_id, Case.status.in_(OPEN_CASE_STATUSES))
        .order_by(Case.opened_at.desc())
    )
    return {
        "holders": holders,
        "policies": policies,
        "installments": installments,
        "claims": claims,
        "cases": cases,
    }


def account_overview(session: Session, clock: Clock, account: Account) -> dict[str, Any]:
    """Everything the overview shows, in five Core statements whatever the number of policies."""
    # Hot read (every sign-in, every account open): only the columns shown, no ORM identity map.
    stmts = _overview_statements()
    params = {"account_id": account.id}
    holders = session.execute(stmts["holders"], params).all()
    policies = session.execute(stmts["policies"], params).all()
    installments: dict[str, list[Any]] = {p.id: [] for p in policies}
    if policies:
        for row in session.execute(stmts["installments"], params):
            installments[row.policy_id].append(row)
    alerts: list[dict[str, Any]] = []
    policy_rows = []
    for policy in policies:
        summary = _policy_summary(clock, policy, installments[policy.id])
        policy_rows.append(summary)
        alerts.extend(_policy_alerts(policy, summary))
    claims = session.execute(stmts["claims"], params).all()
    for claim in claims:
        if claim.status == "info_requested":
            alerts.append(
                {
                    "code": "claim.info_requested",
                    "severity": "warning",
                    "policy_id": claim.policy_id,
                    "data": {"claim_id": claim.id, "claim_number": claim.number},
                }
            )
    cases = session.execute(stmts["cases"], params).all()
    severity_rank = {"critical": 0, "warning": 1, "info": 2}
    alerts.sort(key=lambda a: severity_rank[a["severity"]])
    return {
        "id": account.id,
        "name": account.name,
        "holders": [holder_dict(h) for h in holders],
        "policies": policy_rows,
        "open_claims": [
            {
                "id": c.id,
                "number": c.number,
                "policy_id": c.policy_id,
                "status": c.status,
                "loss_type": c.loss_type,
                "loss_date": c.loss_at.date().isoformat(),
                "submitted_at": c.submitted_at,
            }
            for c in claims
        ],
        "open_cases": [
            {
                "id": c.id,
                "number": c.number,
                "kind": c.kind,
                "status": c.status,
                "subject": c.subject,
                "due_at": c.due_at,
            }
            for c in cases
        ],
        "alerts": alerts,
    }


def holder_dict(h: Any) -> dict[str, Any]:
    """A holder (ORM object or Core row with the holder's columns) as the API shows it."""
    return {
        "id": h.id,
        "full_name": h.full_name,
        "email": h.email,
        "phone": h.phone,
        "postcode": h.postcode,
        "address": h.address,
        "is_primary": h.is_primary,
        "paperless": h.paperless,
    }


def policy_today(policy: Policy | Any, clock: Clock) -> date:
    """Today's date where the policy lives: due dates are business dates in its time zone."""
    return clock.now().astimezone(ZoneInfo(policy.time_zone)).date()


def _policy_summary(clock: Clock, policy: Any, installments: list[Any]) -> dict[str, Any]:
    today = policy_today(policy, clock)
    # (installment, outstanding) for what is still owed, in due-date order.
    open_items = [
        (i, max(i.amount_minor - i.paid_minor, 0))
        for i in installments
        if i.status != "waived" and i.amount_minor > i.paid_minor
    ]
    balance = sum(owed for _, owed in open_items)
    past_due = sum(owed for i, owed in open_items if i.due_date < today)
    next_item = open_items[0] if open_items else None
    return {
        "id": policy.id,
        "number": policy.number,
        "product_line": policy.product_line,
        "status": policy.status,
        "effective_date": policy.effective_date,
        "expiry_date": policy.expiry_date,
        "time_zone": policy.time_zone,
        "premium_minor": policy.premium_minor,
        "currency": policy.currency,
        "pay_plan": policy.pay_plan,
        "autopay": policy.autopay_enabled,
        "payment_day": policy.payment_day,
        "balance_minor": balance,
        "past_due_minor": past_due,
        "next_due": None
        if next_item is None
        else {
            "installment_id": next_item[0].id,
            "due_date": next_item[0].due_date,
            "amount_minor": next_item[1],
            "currency": next_item[0].currency,
            "method": "autopay" if policy.autopay_enabled else "manual",
        },
        "_today": today,
    }


def _policy_alerts(policy: Any, row: dict[str, Any]) -> list[dict[str, Any]]:
    today: date = row.pop("_today")
    alerts = []
    if policy.status == "pending_cancellation":
        alerts.append(
            {
                "code": "policy.pending_cancellation",
                "severity": "critical",
                "policy_id": policy.id,
                "data": {"policy_number": policy.number},
            }
        )
    if row["past_due_minor"] > 0:
        alerts.append(
            {
                "code": "payment.past_due",
                "severity": "critical",
                "policy_id": policy.id,
                "data": {
                    "policy_number": policy.number,
                    "amount_minor": row["past_due_minor"],
                    "currency": policy.currency,
                },
            }
        )
    elif (
        row["next_due"]
        and not policy.autopay_enabled
        and row["next_due"]["due_date"] <= today + timedelta(days=DUE_SOON_DAYS)
    ):
        alerts.append(
            {
                "code": "payment.due_soon",
                "severity": "warning",
                "policy_id": policy.id,
                "data": {
                    "policy_number": policy.number,
                    "due_date": row["next_due"]["due_date"],
                    "amount_minor": row["next_due"]["amount_minor"],
                    "currency": policy.currency,
                },
            }
        )
    return alerts


CONTACT_FIELDS = ("phone", "email", "address", "postcode", "paperless")


def update_holder_contact(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    account_id: str,
    holder_id: str,
    changes: dict[str, str | bool | None],
) -> AccountHolder:
    """Change a holder's contact details; the audit event carries before and after."""
    _, acting = authorize_account(session, actor, clock, account_id)
    holder = session.get(AccountHolder, holder_id)
    if holder is None or holder.account_id != account_id:
        raise NotFound("holder.not_found", "That person is not on this account.")
    unknown = set(changes) - set(CONTACT_FIELDS)
    if unknown:
        raise Invalid(
            "request.invalid", f"These fields cannot be changed here: {', '.join(sorted(unknown))}."
        )
    if "paperless" in changes and changes["paperless"] is None:
        raise Invalid(
            "request.invalid",
            "paperless must be true or false.",
            errors=[{"field": "paperless", "code": "bool_type", "message": "Choose true or false."}],
        )
    before = {k: getattr(holder, k) for k in changes}
    if before == changes:
        return holder
    for key, value in changes.items():
        setattr(holder, key, value)
    audit.record(
        session,
        acting,
        clock,
        action="holder.contact_updated",
        account_id=account_id,
        entity_type="account_holder",
        entity_id=holder.id,
        before=before,
        after=dict(changes),
    )
    return holder


@dataclass(frozen=True)
class Verification:
    id: str
    account_id: str
    holder_id: str
    customer_name: str
    expires_at: datetime


def verify_branch_customer(
    session: Session, actor: Actor, clock: Clock, *, policy_number: str, date_of_birth: date, postcode: str
) -> Verification | DomainError:
    """Branch identity check. Returns the verification, or the error to raise after commit."""
    if actor.role != "branch_staff":
        return Forbidden("auth.forbidden", "Only branch staff verify customers at the counter.")
    now = clock.now()
    key = f"verify:{actor.user_id}"
    throttle = session.get(SignInThrottle, key, with_for_update=True)
    if throttle and throttle.locked_until and throttle.locked_until > now:
        wait = math.ceil((throttle.locked_until - now).total_seconds())
        audit.record(
            session,
            actor,
            clock,
            action="branch.verification_refused",
            account_id=None,
            entity_type="user",
            entity_id=actor.user_id,
            outcome="denied",
            after={"policy_number": policy_number, "reason": "locked"},
        )
        return DomainError(
            "branch.verification_locked",
            f"Three checks failed. Verification is locked for {math.ceil(wait / 60)} minutes.",
            status=423,
            retry_after=wait,
        )
    policy = session.scalar(select(Policy).where(Policy.number == policy_number.strip().upper()))
    holder = None
    if policy is not None:
        wanted = _norm_postcode(postcode)
        holder = next(
            (
                h
                for h in session.scalars(
                    select(AccountHolder).where(AccountHolder.account_id == policy.account_id)
                )
                if h.date_of_birth == date_of_birth and _norm_postcode(h.postcode or "") == wanted
            ),
            None,
        )
    if policy is None or holder is None:
        if throttle is None:
            throttle = SignInThrottle(key=key, failures=0)
            session.add(throttle)
        elif throttle.locked_until and throttle.locked_until <= now:
            throttle.failures, throttle.locked_until = 0, None
        throttle.failures += 1
        throttle.last_failure_at = now
        if throttle.failures >= VERIFY_MAX_FAILURES:
            throttle.locked_until = now + timedelta(seconds=VERIFY_LOCK_SECONDS)
        audit.record(
            session,
            actor,
            clock,
            action="branch.verification_failed",
            account_id=policy.account_id if policy else None,
            entity_type="user",
            entity_id=actor.user_id,
            outcome="failure",
            after={"policy_number": policy_number, "attempt": throttle.failures},
        )
        return Invalid(
            "branch.verification_failed",
            "The policy number, date of birth and postcode do not match our records.",
        )
    if throttle is not None:
        session.delete(throttle)
    branch_user = session.get(User, actor.user_id)
    verification = BranchVerification(
        id=new_id("bvf"),
        staff_user_id=actor.user_id or "",
        account_id=policy.account_id,
        holder_id=holder.id,
        branch_id=branch_user.branch_id if branch_user else actor.branch_id,
        created_at=now,
        expires_at=now + VERIFICATION_TTL,
    )
    session.add(verification)
    audit.record(
        session,
        actor.for_customer(holder.id),
        clock,
        action="branch.customer_verified",
        account_id=policy.account_id,
        entity_type="account_holder",
        entity_id=holder.id,
        after={"policy_number": policy.number, "verification_id": verification.id},
    )
    return Verification(
        verification.id, policy.account_id, holder.id, holder.full_name, verification.expires_at
    )


def _norm_postcode(value: str) -> str:
    return "".join(value.split()).upper()
