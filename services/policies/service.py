"""Reading policies: the detail page (parties, vehicles, property, coverages) and access checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.models import Account, AccountHolder
from services.accounts.service import account_overview, authorize_account
from services.actor import Actor
from services.clock import Clock
from services.errors import NotFound
from services.policies.models import Coverage, InsuredProperty, InsuredVehicle, Policy, PolicyParty

# Statuses in which the policy is in force: ID cards are issued and valid.
IN_FORCE_STATUSES = ("active", "pending_cancellation", "reinstated")
# Statuses that void cards already issued (cover ended before its term did).
VOIDING_STATUSES = ("cancelled", "lapsed")


def policy_not_found() -> NotFound:
    # The same answer for "no such policy" and "not yours": ids of other customers stay unconfirmed.
    return NotFound("policy.not_found", "We could not find that policy.")


def authorize_policy(session: Session, actor: Actor, clock: Clock, policy_id: str) -> tuple[Policy, Actor]:
    """The policy if the actor may reach its account, and the actor as recorded on that account."""
    policy = session.get(Policy, policy_id)
    if policy is None:
        raise policy_not_found()
    try:
        _, acting = authorize_account(session, actor, clock, policy.account_id)
    except NotFound as exc:
        raise policy_not_found() from exc
    return policy, acting


@dataclass(frozen=True)
class PolicyFacts:
    """Everything printed about a policy: used by the detail API and every document template."""

    policy: Policy
    holders: list[AccountHolder]
    named_insureds: list[PolicyParty]
    drivers: list[PolicyParty]
    vehicles: list[InsuredVehicle]  # current vehicles only
    removed_vehicles: list[InsuredVehicle]
    properties: list[InsuredProperty]
    coverages: list[Coverage]

    @property
    def primary_holder(self) -> AccountHolder | None:
        return next((h for h in self.holders if h.is_primary), self.holders[0] if self.holders else None)

    @property
    def insured_names(self) -> list[str]:
        return [p.full_name for p in self.named_insureds] or [h.full_name for h in self.holders]

    def coverages_for(self, vehicle_id: str | None) -> list[Coverage]:
        return [c for c in self.coverages if c.vehicle_id == vehicle_id]


def policy_facts(session: Session, policy: Policy) -> PolicyFacts:
    """Load the policy's people, insured items and coverages in a handful of queries."""
    parties = list(
        session.scalars(
            select(PolicyParty).where(PolicyParty.policy_id == policy.id).order_by(PolicyParty.position)
        )
    )
    vehicles = list(
        session.scalars(
            select(InsuredVehicle)
            .where(InsuredVehicle.policy_id == policy.id)
            .order_by(InsuredVehicle.position, InsuredVehicle.added_at)
        )
    )
    holders = list(
        session.scalars(
            select(AccountHolder)
            .where(AccountHolder.account_id == policy.account_id)
            .order_by(AccountHolder.is_primary.desc(), AccountHolder.full_name)
        )
    )
    return PolicyFacts(
        policy=policy,
        holders=holders,
        named_insureds=[p for p in parties if p.role == "named_insured"],
        drivers=[p for p in parties if p.role == "driver"],
        vehicles=[v for v in vehicles if v.removed_at is None],
        removed_vehicles=[v for v in vehicles if v.removed_at is not None],
        properties=list(
            session.scalars(select(InsuredProperty).where(InsuredProperty.policy_id == policy.id))
        ),
        coverages=list(
            session.scalars(
                select(Coverage).where(Coverage.policy_id == policy.id).order_by(Coverage.position)
            )
        ),
    )


def vehicle_dict(v: InsuredVehicle) -> dict[str, Any]:
    return {
        "id": v.id,
        "vin": v.vin,
        "year": v.year,
        "make": v.make,
        "model": v.model,
        "removed_at": v.removed_at,
    }


def coverage_dict(c: Coverage) -> dict[str, Any]:
    return {
        "code": c.code,
        "name": c.name,
        "vehicle_id": c.vehicle_id,
        "limit_minor": c.limit_minor,
        "limit_per_accident_minor": c.limit_per_accident_minor,
        "deductible_minor": c.deductible_minor,
        "premium_minor": c.premium_minor,
        "currency": c.currency,
    }


def get_policy(session: Session, actor: Actor, clock: Clock, *, policy_id: str) -> dict[str, Any]:
    """A policy with everything the detail page shows: term, money, people, items, coverages."""
    policy, _ = authorize_policy(session, actor, clock, policy_id)
    facts = policy_facts(session, policy)
    account = session.get(Account, policy.account_id)
    assert account is not None  # the foreign key guarantees it
    # The summary (balance, next due) comes from the same code as the overview, so they agree.
    summary = next(p for p in account_overview(session, clock, account)["policies"] if p["id"] == policy.id)
    return {
        **summary,
        "account_id": policy.account_id,
        "named_insureds": [
            {"full_name": p.full_name, "relationship": p.relationship} for p in facts.named_insureds
        ],
        "drivers": [{"full_name": p.full_name, "relationship": p.relationship} for p in facts.drivers],
        "vehicles": [vehicle_dict(v) for v in facts.vehicles],
        "properties": [
            {"address": p.address, "postcode": p.postcode, "dwelling": p.dwelling, "year_built": p.year_built}
            for p in facts.properties
        ],
        "coverages": [coverage_dict(c) for c in facts.coverages],
    }
