"""Demo policy details: named insureds, drivers, vehicles, property and coverages for the demo world.

Called from services/demo.py once the demo policies exist. Coverage premiums add up to each
policy's premium, so declarations pages reconcile to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from services.actor import Actor
from services.audit import service as audit
from services.clock import Clock
from services.db.base import new_id
from services.policies.models import Coverage, InsuredProperty, InsuredVehicle, Policy, PolicyParty

# (code, name, limit, per-accident limit, deductible, premium) in minor units (USD cents).
CoverageSpec = tuple[str, str, int | None, int | None, int | None, int]


@dataclass(frozen=True)
class VehicleSpec:
    vin: str
    year: int
    make: str
    model: str
    coverages: list[CoverageSpec] = field(default_factory=list)


@dataclass(frozen=True)
class PolicySpec:
    named_insureds: list[tuple[str, str]]
    drivers: list[tuple[str, str]] = field(default_factory=list)
    vehicles: list[VehicleSpec] = field(default_factory=list)
    property: tuple[str, str, str, int] | None = None  # address, postcode, dwelling, year built
    coverages: list[CoverageSpec] = field(default_factory=list)  # policy-wide


def _physical_damage(collision_ded: int, collision: int, comp_ded: int, comp: int) -> list[CoverageSpec]:
    return [
        ("collision", "Collision", None, None, collision_ded, collision),
        ("comprehensive", "Comprehensive (other than collision)", None, None, comp_ded, comp),
        ("roadside", "Roadside assistance", None, None, None, 1_200),
    ]


DEMO_POLICIES: dict[str, PolicySpec] = {
    "AUT-100234": PolicySpec(
        named_insureds=[("Alex Morgan", "self"), ("Jamie Morgan", "spouse")],
        drivers=[("Alex Morgan", "self"), ("Jamie Morgan", "spouse"), ("Riley Morgan", "child")],
        vehicles=[
            VehicleSpec(
                "2T3P1RFV8MC123456",
                2021,
                "Toyota",
                "RAV4 XLE",
                _physical_damage(50_000, 24_000, 25_000, 12_000),
            ),
            VehicleSpec(
                "19XFC2F59JE012345",
                2018,
                "Honda",
                "Civic LX",
                _physical_damage(50_000, 24_000, 25_000, 12_000),
            ),
        ],
        coverages=[
            ("bodily_injury", "Bodily injury liability", 10_000_000, 30_000_000, None, 38_400),
            ("property_damage", "Property damage liability", 10_000_000, None, None, 21_600),
            ("uninsured_motorist", "Uninsured / underinsured motorists", 10_000_000, 30_000_000, None, 9_600),
            ("medical_payments", "Medical payments", 500_000, None, None, 4_800),
        ],
    ),
    "HOM-200871": PolicySpec(
        named_insureds=[("Alex Morgan", "self"), ("Jamie Morgan", "spouse")],
        property=("1840 W Roscoe St, Chicago, IL", "60657", "Single-family home", 1924),
        coverages=[
            ("dwelling", "A — Dwelling", 45_000_000, None, 100_000, 120_000),
            ("other_structures", "B — Other structures", 4_500_000, None, 100_000, 9_000),
            ("personal_property", "C — Personal property", 22_500_000, None, 100_000, 36_000),
            ("loss_of_use", "D — Loss of use", 9_000_000, None, None, 6_000),
            ("personal_liability", "E — Personal liability", 30_000_000, None, None, 12_000),
            ("medical_payments", "F — Medical payments to others", 500_000, None, None, 3_000),
        ],
    ),
    "REN-310455": PolicySpec(
        named_insureds=[("Priya Shah", "self")],
        property=("77 Bedford Ave Apt 4R, Brooklyn, NY", "11211", "Apartment (rented)", 1931),
        coverages=[
            ("personal_property", "Personal property", 3_000_000, None, 50_000, 13_200),
            ("loss_of_use", "Loss of use", 900_000, None, None, 2_400),
            ("personal_liability", "Personal liability", 10_000_000, None, None, 4_800),
            ("medical_payments", "Medical payments to others", 100_000, None, None, 1_200),
        ],
    ),
    "AUT-100877": PolicySpec(
        # Accented and long names: the ID card, the declarations and the app must fit and show them.
        named_insureds=[("Priya Shah", "self"), ("Zoë Ångström-Núñez", "spouse")],
        drivers=[
            ("Priya Shah", "self"),
            ("Zoë Ångström-Núñez", "spouse"),
            ("Maximiliano Sebastián Ångström-Núñez de la Villa-Fuentes", "other"),
        ],
        vehicles=[
            VehicleSpec(
                "4S4BSANC5K3301234",
                2019,
                "Subaru",
                "Outback Premium",
                _physical_damage(100_000, 30_000, 50_000, 16_800),
            ),
        ],
        coverages=[
            ("bodily_injury", "Bodily injury liability", 5_000_000, 10_000_000, None, 42_000),
            ("property_damage", "Property damage liability", 5_000_000, None, None, 24_000),
            ("uninsured_motorist", "Uninsured / underinsured motorists", 5_000_000, 10_000_000, None, 12_000),
            ("medical_payments", "Medical payments", 200_000, None, None, 6_000),
        ],
    ),
}


def record_policy_details(
    session: Session, actor: Actor, clock: Clock, policy: Policy, spec: PolicySpec
) -> None:
    """Write the policy's people, insured items and coverages; one audit event lists them."""
    position = 0

    def add_coverages(items: list[CoverageSpec], vehicle_id: str | None) -> None:
        nonlocal position
        for code, name, limit, per_accident, deductible, premium in items:
            position += 1
            session.add(
                Coverage(
                    id=new_id("cov"),
                    policy_id=policy.id,
                    vehicle_id=vehicle_id,
                    code=code,
                    name=name,
                    limit_minor=limit,
                    limit_per_accident_minor=per_accident,
                    deductible_minor=deductible,
                    premium_minor=premium,
                    currency=policy.currency,
                    position=position,
                )
            )

    for i, (name, relationship) in enumerate(spec.named_insureds):
        session.add(
            PolicyParty(
                id=new_id("pty"),
                policy_id=policy.id,
                role="named_insured",
                full_name=name,
                relationship=relationship,
                position=i,
            )
        )
    for i, (name, relationship) in enumerate(spec.drivers):
        session.add(
            PolicyParty(
                id=new_id("pty"),
                policy_id=policy.id,
                role="driver",
                full_name=name,
                relationship=relationship,
                position=i,
            )
        )
    add_coverages(spec.coverages, None)
    for i, v in enumerate(spec.vehicles):
        vehicle = InsuredVehicle(
            id=new_id("veh"),
            policy_id=policy.id,
            vin=v.vin,
            year=v.year,
            make=v.make,
            model=v.model,
            position=i,
            added_at=clock.now(),
        )
        session.add(vehicle)
        session.flush()
        add_coverages(v.coverages, vehicle.id)
    if spec.property:
        address, postcode, dwelling, built = spec.property
        session.add(
            InsuredProperty(
                id=new_id("prp"),
                policy_id=policy.id,
                address=address,
                postcode=postcode,
                dwelling=dwelling,
                year_built=built,
            )
        )
    session.flush()
    audit.record(
        session,
        actor,
        clock,
        action="policy.details_recorded",
        account_id=policy.account_id,
        entity_type="policy",
        entity_id=policy.id,
        after={
            "number": policy.number,
            "named_insureds": [n for n, _ in spec.named_insureds],
            "drivers": [n for n, _ in spec.drivers],
            "vehicles": [f"{v.year} {v.make} {v.model} ({v.vin})" for v in spec.vehicles],
            "property": spec.property[0] if spec.property else None,
            "coverages": len(spec.coverages) + sum(len(v.coverages) for v in spec.vehicles),
        },
    )


def seed_policy_details(session: Session, actor: Actor, clock: Clock, policies: list[Policy]) -> None:
    """Details for each demo policy that has a spec (by policy number)."""
    for policy in policies:
        spec = DEMO_POLICIES.get(policy.number)
        if spec is not None:
            record_policy_details(session, actor, clock, policy, spec)
