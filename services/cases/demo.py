"""Demo cases: one answered complaint for the Morgans, one new dispute for the Shahs."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.accounts.models import Account
from services.actor import Actor
from services.auth.models import User
from services.cases import service
from services.clock import Clock


def _as(user: User, channel: str) -> Actor:
    return Actor(user_id=user.id, role=user.role, name=user.full_name, channel=channel)


def seed_demo_cases(
    session: Session, clock: Clock, users: dict[str, User], morgan: Account, shah: Account
) -> None:
    """Called by services.demo.seed_demo once, inside its transaction."""
    ctx = service.CaseContext()
    alex = _as(users["alex.morgan@example.com"], "portal")
    agent = _as(users["agent@portal.example"], "agent")
    complaint = service.open_case(
        session,
        alex,
        clock,
        ctx,
        account_id=morgan.id,
        kind="complaint",
        category="billing",
        subject="Autopay took the wrong amount in October",
        description=(
            "My October autopay charge was $131.40 but my schedule says $124.00. "
            "Please explain the difference or refund it."
        ),
    )
    service.acknowledge_case(
        session,
        agent,
        clock,
        case_id=complaint.id,
        message=(
            "Thanks Alex, we have your complaint and are checking the October charge against your schedule."
        ),
    )
    service.respond(
        session,
        agent,
        clock,
        case_id=complaint.id,
        message=(
            "Customer called; premium changed after adding a driver on Sep 28. Checking the endorsement date."
        ),
        internal=True,
    )
    priya = _as(users["priya.shah@example.com"], "portal")
    service.open_case(
        session,
        priya,
        clock,
        ctx,
        account_id=shah.id,
        kind="dispute",
        category="payment_not_applied",
        subject="My renters payment shows as “unpaid”",
        description=(
            "I paid my renters premium on the 5th but the app still says it is “past due”. "
            "My card is from a French bank, which charged me a €2.50 foreign-payment fee on top — "
            "I don't want to pay twice."
        ),
    )
