"""The demo world: households with auto, home and renters policies, billing history, an open
claim, and one sign-in per staff role. Idempotent: seeding twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.models import Account, AccountHolder
from services.actor import Actor
from services.audit import service as audit
from services.auth.models import Branch, User
from services.auth.passwords import hash_password
from services.auth.service import create_user
from services.cases.demo import seed_demo_cases
from services.claims.demo import seed_claims_demo
from services.claims.models import Claim
from services.clock import Clock
from services.db.base import new_id
from services.payments.demo import enqueue_demo_card
from services.payments.models import Installment
from services.policies.demo_data import seed_policy_details
from services.policies.models import Policy

DEMO_PASSWORD = "portal-demo-2026"


@dataclass(frozen=True)
class DemoSignIn:
    email: str
    role: str
    full_name: str
    note: str


DEMO_SIGN_INS = (
    DemoSignIn(
        "alex.morgan@example.com",
        "policyholder",
        "Alex Morgan",
        "Morgan household: auto (2 vehicles, autopay) and home; an open claim",
    ),
    DemoSignIn(
        "jamie.morgan@example.com", "policyholder", "Jamie Morgan", "co-holder of the Morgan household"
    ),
    DemoSignIn(
        "priya.shah@example.com", "policyholder", "Priya Shah", "renters and auto; a payment past due"
    ),
    DemoSignIn("agent@portal.example", "agent", "Sam Rivera", "call-centre agent"),
    DemoSignIn("branch@portal.example", "branch_staff", "Dana Okafor", "branch staff, Riverside branch"),
    DemoSignIn("supervisor@portal.example", "supervisor", "Lee Chen", "supervisor / complaints team"),
    DemoSignIn("admin@portal.example", "admin", "Robin Park", "administrator"),
)


def is_seeded(session: Session) -> bool:
    return session.scalar(select(User.id).where(User.email == DEMO_SIGN_INS[0].email)) is not None


def seed_demo(session: Session, clock: Clock) -> bool:
    """Create the demo world unless it exists. Returns True when it created it."""
    if is_seeded(session):
        return False
    system = Actor.system("Demo seed")
    # Every demo user shares one password, so one argon2 hash serves them all (~0.1 s each).
    demo_hash = hash_password(DEMO_PASSWORD)
    branch = Branch(id=new_id("brn"), code="RIV", name="Riverside branch")
    session.add(branch)
    session.flush()
    users = {
        s.email: create_user(
            session,
            system,
            clock,
            email=s.email,
            full_name=s.full_name,
            role=s.role,
            password_hash=demo_hash,
            branch_id=branch.id if s.role == "branch_staff" else None,
        )
        for s in DEMO_SIGN_INS
    }
    today = clock.now().astimezone(ZoneInfo("America/Chicago")).date()

    morgan = _account(session, system, clock, "Morgan household")
    _holder(
        session,
        system,
        clock,
        morgan,
        users["alex.morgan@example.com"],
        "Alex Morgan",
        "alex.morgan@example.com",
        "+1 312 555 0142",
        date(1984, 3, 14),
        "1840 W Roscoe St, Chicago, IL",
        "60657",
        primary=True,
    )
    _holder(
        session,
        system,
        clock,
        morgan,
        users["jamie.morgan@example.com"],
        "Jamie Morgan",
        "jamie.morgan@example.com",
        "+1 312 555 0177",
        date(1986, 9, 2),
        "1840 W Roscoe St, Chicago, IL",
        "60657",
    )
    auto = _policy(
        session,
        system,
        clock,
        morgan,
        "AUT-100234",
        "auto",
        "America/Chicago",
        today - timedelta(days=75),
        premium_minor=148_800,
        pay_plan="monthly",
        payment_day=12,
        autopay=True,
    )
    home = _policy(
        session,
        system,
        clock,
        morgan,
        "HOM-200871",
        "home",
        "America/Chicago",
        today - timedelta(days=200),
        premium_minor=186_000,
        pay_plan="quarterly",
        payment_day=1,
        autopay=False,
    )
    _billing(session, system, clock, auto, today)
    _billing(session, system, clock, home, today)
    # The Morgans pay the auto policy by autopay: their Visa is added on Stripe by a job.
    enqueue_demo_card(session, clock, morgan.id, auto.id)
    claim = Claim(
        id=new_id("clm"),
        account_id=morgan.id,
        policy_id=auto.id,
        number="CLM-700112",
        status="in_review",
        loss_type="collision",
        loss_at=clock.now() - timedelta(days=6, hours=3),
        location="N Ashland Ave & W Belmont Ave, Chicago",
        description="Rear-ended at a red light; rear bumper and tailgate damaged.",
        submitted_at=clock.now() - timedelta(days=5),
    )
    session.add(claim)
    session.flush()
    audit.record(
        session,
        _as_user(users["alex.morgan@example.com"]),
        clock,
        action="claim.filed",
        account_id=morgan.id,
        entity_type="claim",
        entity_id=claim.id,
        after={"number": claim.number, "loss_type": claim.loss_type, "status": "submitted"},
    )
    seed_claims_demo(session, clock, users, claim)

    shah = _account(session, system, clock, "Shah household")
    _holder(
        session,
        system,
        clock,
        shah,
        users["priya.shah@example.com"],
        "Priya Shah",
        "priya.shah@example.com",
        "+1 646 555 0119",
        date(1992, 11, 30),
        "77 Bedford Ave Apt 4R, Brooklyn, NY",
        "11211",
        primary=True,
    )
    # Priya's partner: a co-holder without a sign-in (so no notices go to her), with a name and
    # an address written the way people write them. Every document, the app, the emails and the
    # evidence pack must show each character as typed.
    _holder(
        session,
        system,
        clock,
        shah,
        None,
        "Zoë Ångström-Núñez",
        "zoe.angstrom@example.com",
        "+1 337 555 0163",
        date(1990, 6, 21),
        "12 Rue de l'Église, St. Martinville, LA",
        "70582",
    )
    renters = _policy(
        session,
        system,
        clock,
        shah,
        "REN-310455",
        "renters",
        "America/New_York",
        today - timedelta(days=40),
        premium_minor=21_600,
        pay_plan="monthly",
        payment_day=5,
        autopay=False,
    )
    car = _policy(
        session,
        system,
        clock,
        shah,
        "AUT-100877",
        "auto",
        "America/New_York",
        today - timedelta(days=120),
        premium_minor=132_000,
        pay_plan="two_pay",
        payment_day=20,
        autopay=False,
    )
    _billing(session, system, clock, renters, today, leave_last_due_unpaid=True)
    _billing(session, system, clock, car, today)
    seed_policy_details(session, system, clock, [auto, home, renters, car])
    seed_demo_cases(session, clock, users, morgan, shah)
    return True


def _as_user(user: User) -> Actor:
    return Actor(user_id=user.id, role=user.role, name=user.full_name, channel="portal")


def _account(session: Session, actor: Actor, clock: Clock, name: str) -> Account:
    account = Account(id=new_id("acc"), name=name, created_at=clock.now())
    session.add(account)
    session.flush()
    audit.record(
        session,
        actor,
        clock,
        action="account.created",
        account_id=account.id,
        entity_type="account",
        entity_id=account.id,
        after={"name": name},
    )
    return account


def _holder(
    session: Session,
    actor: Actor,
    clock: Clock,
    account: Account,
    user: User | None,
    name: str,
    email: str,
    phone: str,
    dob: date,
    address: str,
    postcode: str,
    *,
    primary: bool = False,
) -> AccountHolder:
    holder = AccountHolder(
        id=new_id("hld"),
        account_id=account.id,
        user_id=user.id if user else None,
        full_name=name,
        email=email,
        phone=phone,
        date_of_birth=dob,
        address=address,
        postcode=postcode,
        is_primary=primary,
    )
    session.add(holder)
    session.flush()
    audit.record(
        session,
        actor,
        clock,
        action="holder.added",
        account_id=account.id,
        entity_type="account_holder",
        entity_id=holder.id,
        after={"full_name": name, "primary": primary},
    )
    return holder


INSTALLMENTS_PER_PLAN = {"full": 1, "two_pay": 2, "quarterly": 4, "monthly": 12}


def _policy(
    session: Session,
    actor: Actor,
    clock: Clock,
    account: Account,
    number: str,
    line: str,
    tz: str,
    effective: date,
    *,
    premium_minor: int,
    pay_plan: str,
    payment_day: int,
    autopay: bool,
) -> Policy:
    policy = Policy(
        id=new_id("pol"),
        account_id=account.id,
        number=number,
        product_line=line,
        status="active",
        effective_date=effective,
        expiry_date=effective.replace(year=effective.year + 1),
        time_zone=tz,
        premium_minor=premium_minor,
        currency="USD",
        pay_plan=pay_plan,
        payment_day=payment_day,
        autopay_enabled=autopay,
        created_at=clock.now(),
    )
    session.add(policy)
    session.flush()
    audit.record(
        session,
        actor,
        clock,
        action="policy.issued",
        account_id=account.id,
        entity_type="policy",
        entity_id=policy.id,
        after={"number": number, "product_line": line, "premium_minor": premium_minor, "pay_plan": pay_plan},
    )
    return policy


def _billing(
    session: Session,
    actor: Actor,
    clock: Clock,
    policy: Policy,
    today: date,
    *,
    leave_last_due_unpaid: bool = False,
) -> None:
    """Installments over the term; those already due are paid (bar one when asked)."""
    count = INSTALLMENTS_PER_PLAN[policy.pay_plan]
    base, remainder = divmod(policy.premium_minor, count)
    months_apart = 12 // count
    start = policy.effective_date
    due_dates = [
        _add_months(start.replace(day=min(policy.payment_day, 28)), i * months_apart) for i in range(count)
    ]
    if due_dates[0] < start:
        due_dates = [_add_months(d, 1) for d in due_dates]
    past = [d for d in due_dates if d <= today]
    for number, due in enumerate(due_dates, start=1):
        amount = base + (remainder if number == 1 else 0)  # the rounding remainder goes on the first
        unpaid = leave_last_due_unpaid and past and due == past[-1]
        paid = due <= today and not unpaid
        inst = Installment(
            id=new_id("ins"),
            policy_id=policy.id,
            number=number,
            due_date=due,
            amount_minor=amount,
            paid_minor=amount if paid else 0,
            currency=policy.currency,
            status="paid" if paid else "scheduled",
            paid_at=datetime.combine(due, datetime.min.time(), tzinfo=ZoneInfo(policy.time_zone)).astimezone(
                UTC
            )
            + timedelta(hours=9)
            if paid
            else None,
        )
        session.add(inst)
        session.flush()
        if paid:
            audit.record(
                session,
                actor,
                clock,
                action="installment.paid",
                account_id=policy.account_id,
                entity_type="installment",
                entity_id=inst.id,
                after={
                    "policy_number": policy.number,
                    "due_date": due,
                    "amount_minor": amount,
                    "currency": policy.currency,
                },
            )


def _add_months(d: date, months: int) -> date:
    month = d.month - 1 + months
    return d.replace(year=d.year + month // 12, month=month % 12 + 1)
