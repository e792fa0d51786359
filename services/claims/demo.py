"""Claims part of the demo world: adjuster permissions and the open claim's history so far."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from services.actor import Actor
from services.auth.models import User
from services.claims import sla
from services.claims.models import ADJUSTER, Claim, ClaimStep
from services.claims.service import grant_permission
from services.clock import Clock
from services.db.base import new_id
from services.policies.models import Policy

ADJUSTER_EMAILS = ("agent@portal.example", "supervisor@portal.example")


def seed_claims_demo(session: Session, clock: Clock, users: dict[str, User], claim: Claim) -> None:
    """Give the demo agent and supervisor the adjuster permission; give CLM-700112 a timeline."""
    system = Actor.system("Demo seed")
    for email in ADJUSTER_EMAILS:
        grant_permission(session, system, clock, user_id=users[email].id, permission=ADJUSTER)
    policy = session.get(Policy, claim.policy_id)
    assert policy is not None
    promised = sla.commitments(claim.submitted_at, policy.time_zone, frozenset())
    claim.acknowledge_by = promised.acknowledge_by
    claim.review_by = promised.review_by
    claim.vehicle = "2021 Subaru Outback (IL AB 12345)"
    claim.police_report = "CPD-24-118842"
    claim.other_parties = "Driver of a grey 2017 Honda Civic; insured with Lakeside Mutual."
    claim.currency = policy.currency
    holder = users["alex.morgan@example.com"]
    agent = users["agent@portal.example"]
    acknowledged = claim.submitted_at + timedelta(hours=3)
    reviewed = claim.submitted_at + timedelta(days=1, hours=2)
    claim.acknowledged_at = acknowledged
    claim.reviewed_at = reviewed
    claim.updated_at = reviewed
    history = [
        ("submitted", claim.submitted_at, holder, "portal"),
        ("acknowledged", acknowledged, agent, "agent"),
        ("in_review", reviewed, agent, "agent"),
    ]
    for position, (status, when, user, channel) in enumerate(history, start=1):
        session.add(
            ClaimStep(
                id=new_id("cst"),
                claim_id=claim.id,
                position=position,
                kind="status",
                status=status,
                occurred_at=when,
                actor_id=user.id,
                actor_name=user.full_name,
                actor_role=user.role,
                channel=channel,
                note="",
            )
        )
