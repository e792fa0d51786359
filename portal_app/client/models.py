"""DTOs of the v1 API contract (docs/API.md), parsed from JSON into frozen dataclasses.

Plain dataclasses rather than pydantic: the desktop app imports this module before the sign-in
window shows, and every millisecond of import time is start-up time. Unknown fields are ignored
so a newer service does not break an older client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


def _dt(value: Any) -> datetime | None:
    # Python 3.11's fromisoformat understands the trailing "Z" the service sends.
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _date(value: Any) -> date | None:
    return date.fromisoformat(value[:10]) if isinstance(value, str) and value else None


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class AccountRef:
    id: str
    name: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AccountRef:
        return cls(id=str(d["id"]), name=str(d.get("name") or ""))


@dataclass(frozen=True)
class Me:
    id: str
    email: str
    full_name: str
    role: str
    branch_id: str | None
    accounts: list[AccountRef] = field(default_factory=list)

    @property
    def is_staff(self) -> bool:
        return self.role != "policyholder"

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Me:
        return cls(
            id=str(d["id"]),
            email=str(d.get("email") or ""),
            full_name=str(d.get("full_name") or ""),
            role=str(d.get("role") or ""),
            branch_id=_opt_str(d.get("branch_id")),
            accounts=[AccountRef.from_json(a) for a in d.get("accounts") or []],
        )


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    user: Me

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TokenPair:
        return cls(
            access_token=str(d["access_token"]),
            refresh_token=str(d["refresh_token"]),
            token_type=str(d.get("token_type") or "bearer"),
            expires_in=int(d.get("expires_in") or 0),
            user=Me.from_json(d["user"]),
        )


@dataclass(frozen=True)
class Holder:
    id: str
    full_name: str
    email: str | None
    phone: str | None
    postcode: str | None
    address: str | None
    is_primary: bool
    paperless: bool = False

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Holder:
        return cls(
            id=str(d["id"]),
            full_name=str(d.get("full_name") or ""),
            email=_opt_str(d.get("email")),
            phone=_opt_str(d.get("phone")),
            postcode=_opt_str(d.get("postcode")),
            address=_opt_str(d.get("address")),
            is_primary=bool(d.get("is_primary")),
            paperless=bool(d.get("paperless")),
        )


@dataclass(frozen=True)
class NextDue:
    installment_id: str
    due_date: date | None
    amount_minor: int
    currency: str
    method: str  # "autopay" | "manual"

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NextDue:
        return cls(
            installment_id=str(d.get("installment_id") or ""),
            due_date=_date(d.get("due_date")),
            amount_minor=int(d.get("amount_minor") or 0),
            currency=str(d.get("currency") or "USD"),
            method=str(d.get("method") or "manual"),
        )


@dataclass(frozen=True)
class PolicySummary:
    id: str
    number: str
    product_line: str
    status: str
    effective_date: date | None
    expiry_date: date | None
    time_zone: str
    premium_minor: int
    currency: str
    pay_plan: str
    autopay: bool
    payment_day: int | None
    balance_minor: int
    past_due_minor: int
    next_due: NextDue | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PolicySummary:
        nd = d.get("next_due")
        return cls(
            id=str(d["id"]),
            number=str(d.get("number") or ""),
            product_line=str(d.get("product_line") or ""),
            status=str(d.get("status") or ""),
            effective_date=_date(d.get("effective_date")),
            expiry_date=_date(d.get("expiry_date")),
            time_zone=str(d.get("time_zone") or "UTC"),
            premium_minor=int(d.get("premium_minor") or 0),
            currency=str(d.get("currency") or "USD"),
            pay_plan=str(d.get("pay_plan") or ""),
            autopay=bool(d.get("autopay")),
            payment_day=int(d["payment_day"]) if d.get("payment_day") is not None else None,
            balance_minor=int(d.get("balance_minor") or 0),
            past_due_minor=int(d.get("past_due_minor") or 0),
            next_due=NextDue.from_json(nd) if isinstance(nd, dict) else None,
        )


@dataclass(frozen=True)
class Party:
    full_name: str
    relationship: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Party:
        return cls(full_name=str(d.get("full_name") or ""), relationship=str(d.get("relationship") or ""))


@dataclass(frozen=True)
class Vehicle:
    id: str
    vin: str
    year: int
    make: str
    model: str

    @property
    def description(self) -> str:
        return f"{self.year} {self.make} {self.model}"

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Vehicle:
        return cls(
            id=str(d.get("id") or ""),
            vin=str(d.get("vin") or ""),
            year=int(d.get("year") or 0),
            make=str(d.get("make") or ""),
            model=str(d.get("model") or ""),
        )


@dataclass(frozen=True)
class InsuredAddress:
    address: str
    postcode: str
    dwelling: str
    year_built: int | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> InsuredAddress:
        return cls(
            address=str(d.get("address") or ""),
            postcode=str(d.get("postcode") or ""),
            dwelling=str(d.get("dwelling") or ""),
            year_built=int(d["year_built"]) if d.get("year_built") is not None else None,
        )


@dataclass(frozen=True)
class CoverageLine:
    code: str
    name: str
    vehicle_id: str | None
    limit_minor: int | None
    limit_per_accident_minor: int | None
    deductible_minor: int | None
    premium_minor: int
    currency: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CoverageLine:
        def opt(key: str) -> int | None:
            return int(d[key]) if d.get(key) is not None else None

        return cls(
            code=str(d.get("code") or ""),
            name=str(d.get("name") or ""),
            vehicle_id=_opt_str(d.get("vehicle_id")),
            limit_minor=opt("limit_minor"),
            limit_per_accident_minor=opt("limit_per_accident_minor"),
            deductible_minor=opt("deductible_minor"),
            premium_minor=int(d.get("premium_minor") or 0),
            currency=str(d.get("currency") or "USD"),
        )


@dataclass(frozen=True)
class PolicyDetail:
    """GET /policies/{id}: the summary plus people, insured items and coverages."""

    summary: PolicySummary
    account_id: str
    named_insureds: list[Party]
    drivers: list[Party]
    vehicles: list[Vehicle]
    properties: list[InsuredAddress]
    coverages: list[CoverageLine]

    def coverages_for(self, vehicle_id: str | None) -> list[CoverageLine]:
        return [c for c in self.coverages if c.vehicle_id == vehicle_id]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PolicyDetail:
        return cls(
            summary=PolicySummary.from_json(d),
            account_id=str(d.get("account_id") or ""),
            named_insureds=[Party.from_json(x) for x in d.get("named_insureds") or []],
            drivers=[Party.from_json(x) for x in d.get("drivers") or []],
            vehicles=[Vehicle.from_json(x) for x in d.get("vehicles") or []],
            properties=[InsuredAddress.from_json(x) for x in d.get("properties") or []],
            coverages=[CoverageLine.from_json(x) for x in d.get("coverages") or []],
        )


@dataclass(frozen=True)
class DocumentInfo:
    """One stored PDF as listed (the bytes come from PortalClient.document_content)."""

    id: str
    policy_id: str | None
    policy_number: str | None
    kind: str
    title: str
    file_name: str
    size_bytes: int
    page_count: int
    sha256: str
    created_at: datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DocumentInfo:
        return cls(
            id=str(d["id"]),
            policy_id=_opt_str(d.get("policy_id")),
            policy_number=_opt_str(d.get("policy_number")),
            kind=str(d.get("kind") or ""),
            title=str(d.get("title") or ""),
            file_name=str(d.get("file_name") or "document.pdf"),
            size_bytes=int(d.get("size_bytes") or 0),
            page_count=int(d.get("page_count") or 0),
            sha256=str(d.get("sha256") or ""),
            created_at=_dt(d.get("created_at")),
        )


@dataclass(frozen=True)
class IdCardInfo:
    """An ID card as the service issued it; `raw` is kept so the app can store it for offline use."""

    id: str
    policy_id: str
    policy_number: str
    status: str
    status_reason: str | None
    insurer_name: str
    insurer_code: str
    claims_phone: str
    named_insureds: list[str]
    vehicle: Vehicle
    valid_from: date | None
    valid_to: date | None
    code: str
    page_document_id: str
    wallet_document_id: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> IdCardInfo:
        return cls(
            id=str(d["id"]),
            policy_id=str(d.get("policy_id") or ""),
            policy_number=str(d.get("policy_number") or ""),
            status=str(d.get("status") or ""),
            status_reason=_opt_str(d.get("status_reason")),
            insurer_name=str(d.get("insurer_name") or ""),
            insurer_code=str(d.get("insurer_code") or ""),
            claims_phone=str(d.get("claims_phone") or ""),
            named_insureds=[str(n) for n in d.get("named_insureds") or []],
            vehicle=Vehicle.from_json(d.get("vehicle") or {}),
            valid_from=_date(d.get("valid_from")),
            valid_to=_date(d.get("valid_to")),
            code=str(d.get("code") or ""),
            page_document_id=str(d.get("page_document_id") or ""),
            wallet_document_id=str(d.get("wallet_document_id") or ""),
            raw=dict(d),
        )


@dataclass(frozen=True)
class ClaimSummary:
    id: str
    number: str
    policy_id: str
    status: str
    loss_type: str
    loss_date: date | None
    submitted_at: datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClaimSummary:
        return cls(
            id=str(d["id"]),
            number=str(d.get("number") or ""),
            policy_id=str(d.get("policy_id") or ""),
            status=str(d.get("status") or ""),
            loss_type=str(d.get("loss_type") or ""),
            loss_date=_date(d.get("loss_date")),
            submitted_at=_dt(d.get("submitted_at")),
        )


@dataclass(frozen=True)
class CaseSummary:
    id: str
    number: str
    kind: str
    status: str
    subject: str
    due_at: datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CaseSummary:
        return cls(
            id=str(d["id"]),
            number=str(d.get("number") or ""),
            kind=str(d.get("kind") or ""),
            status=str(d.get("status") or ""),
            subject=str(d.get("subject") or ""),
            due_at=_dt(d.get("due_at")),
        )


@dataclass(frozen=True)
class Alert:
    code: str
    severity: str  # "info" | "warning" | "critical"
    policy_id: str | None
    data: dict[str, Any]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Alert:
        data = d.get("data")
        return cls(
            code=str(d.get("code") or ""),
            severity=str(d.get("severity") or "info"),
            policy_id=_opt_str(d.get("policy_id")),
            data=data if isinstance(data, dict) else {},
        )


@dataclass(frozen=True)
class AccountOverview:
    id: str
    name: str
    holders: list[Holder]
    policies: list[PolicySummary]
    open_claims: list[ClaimSummary]
    open_cases: list[CaseSummary]
    alerts: list[Alert]

    def policy(self, policy_id: str | None) -> PolicySummary | None:
        return next((p for p in self.policies if p.id == policy_id), None)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AccountOverview:
        return cls(
            id=str(d["id"]),
            name=str(d.get("name") or ""),
            holders=[Holder.from_json(h) for h in d.get("holders") or []],
            policies=[PolicySummary.from_json(p) for p in d.get("policies") or []],
            open_claims=[ClaimSummary.from_json(c) for c in d.get("open_claims") or []],
            open_cases=[CaseSummary.from_json(c) for c in d.get("open_cases") or []],
            alerts=[Alert.from_json(a) for a in d.get("alerts") or []],
        )


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    account_id: str | None
    occurred_at: datetime | None
    actor_id: str | None
    actor_role: str
    actor_name: str
    on_behalf_of: str | None
    channel: str
    branch_id: str | None
    action: str
    entity_type: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    outcome: str
    request_id: str | None
    client_address: str | None
    prev_hash: str
    hash: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AuditEvent:
        before, after = d.get("before"), d.get("after")
        return cls(
            seq=int(d["seq"]),
            account_id=_opt_str(d.get("account_id")),
            occurred_at=_dt(d.get("occurred_at")),
            actor_id=_opt_str(d.get("actor_id")),
            actor_role=str(d.get("actor_role") or ""),
            actor_name=str(d.get("actor_name") or ""),
            on_behalf_of=_opt_str(d.get("on_behalf_of")),
            channel=str(d.get("channel") or ""),
            branch_id=_opt_str(d.get("branch_id")),
            action=str(d.get("action") or ""),
            entity_type=str(d.get("entity_type") or ""),
            entity_id=_opt_str(d.get("entity_id")),
            before=before if isinstance(before, dict) else None,
            after=after if isinstance(after, dict) else None,
            outcome=str(d.get("outcome") or "success"),
            request_id=_opt_str(d.get("request_id")),
            client_address=_opt_str(d.get("client_address")),
            prev_hash=str(d.get("prev_hash") or ""),
            hash=str(d.get("hash") or ""),
        )


@dataclass(frozen=True)
class EventsPage:
    events: list[AuditEvent]
    next_since: int
    has_more: bool

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> EventsPage:
        return cls(
            events=[AuditEvent.from_json(e) for e in d.get("events") or []],
            next_since=int(d.get("next_since") or 0),
            has_more=bool(d.get("has_more")),
        )


@dataclass(frozen=True)
class BranchVerification:
    verification_id: str
    account_id: str
    customer_name: str
    expires_at: datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BranchVerification:
        return cls(
            verification_id=str(d["verification_id"]),
            account_id=str(d["account_id"]),
            customer_name=str(d.get("customer_name") or ""),
            expires_at=_dt(d.get("expires_at")),
        )


@dataclass(frozen=True)
class Health:
    status: str
    database: str
    version: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Health:
        return cls(
            status=str(d.get("status") or ""),
            database=str(d.get("database") or ""),
            version=str(d.get("version") or ""),
        )


@dataclass(frozen=True)
class OidcConfig:
    """Whether the service offers single sign-on, and through whom (GET /auth/oidc/config)."""

    enabled: bool
    provider_name: str | None
    staff_password_sign_in: bool
    loopback_port: int

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> OidcConfig:
        return cls(
            enabled=bool(d.get("enabled")),
            provider_name=d.get("provider_name") or None,
            staff_password_sign_in=bool(d.get("staff_password_sign_in", True)),
            loopback_port=int(d.get("loopback_port") or 0),
        )


@dataclass(frozen=True)
class OidcStart:
    authorization_url: str
    state: str


# --- claims (docs/API.md "Claims") ----------------------------------------------------------


@dataclass(frozen=True)
class ClaimStep:
    """One entry on a claim's timeline: a status reached (`kind` "status") or the customer's answer."""

    kind: str
    status: str
    occurred_at: datetime | None
    actor_name: str
    actor_role: str
    channel: str
    note: str
    amount_minor: int | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClaimStep:
        amount = d.get("amount_minor")
        return cls(
            kind=str(d.get("kind") or "status"),
            status=str(d.get("status") or ""),
            occurred_at=_dt(d.get("occurred_at")),
            actor_name=str(d.get("actor_name") or ""),
            actor_role=str(d.get("actor_role") or ""),
            channel=str(d.get("channel") or ""),
            note=str(d.get("note") or ""),
            amount_minor=int(amount) if amount is not None else None,
        )


@dataclass(frozen=True)
class ClaimCommitment:
    """A service commitment (acknowledge, review): promised-by date and whether it was kept."""

    step: str
    due_date: date | None
    due_at: datetime | None
    done_at: datetime | None
    overdue: bool
    late: bool

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClaimCommitment:
        return cls(
            step=str(d.get("step") or ""),
            due_date=_date(d.get("due_date")),
            due_at=_dt(d.get("due_at")),
            done_at=_dt(d.get("done_at")),
            overdue=bool(d.get("overdue")),
            late=bool(d.get("late")),
        )


@dataclass(frozen=True)
class Claim:
    id: str
    number: str
    account_id: str
    policy_id: str
    policy_number: str
    product_line: str
    time_zone: str
    status: str
    loss_type: str
    loss_at: datetime | None
    location: str
    description: str
    vehicle: str
    other_parties: str
    police_report: str
    injuries: bool
    injury_details: str
    outside_term: bool
    policy_effective_date: date | None
    policy_expiry_date: date | None
    submitted_at: datetime | None
    currency: str
    approved_minor: int | None
    decision_reason: str
    info_request: str
    photo_count: int
    sla: list[ClaimCommitment]
    overdue: bool
    next_step_code: str
    next_step_by: str
    next_step_due: date | None
    can_adjust: bool
    allowed_actions: list[str]
    timeline: list[ClaimStep]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Claim:
        nxt = d.get("next_step") or {}
        approved = d.get("approved_minor")
        return cls(
            id=str(d["id"]),
            number=str(d.get("number") or ""),
            account_id=str(d.get("account_id") or ""),
            policy_id=str(d.get("policy_id") or ""),
            policy_number=str(d.get("policy_number") or ""),
            product_line=str(d.get("product_line") or ""),
            time_zone=str(d.get("time_zone") or "UTC"),
            status=str(d.get("status") or ""),
            loss_type=str(d.get("loss_type") or ""),
            loss_at=_dt(d.get("loss_at")),
            location=str(d.get("location") or ""),
            description=str(d.get("description") or ""),
            vehicle=str(d.get("vehicle") or ""),
            other_parties=str(d.get("other_parties") or ""),
            police_report=str(d.get("police_report") or ""),
            injuries=bool(d.get("injuries")),
            injury_details=str(d.get("injury_details") or ""),
            outside_term=bool(d.get("outside_term")),
            policy_effective_date=_date(d.get("policy_effective_date")),
            policy_expiry_date=_date(d.get("policy_expiry_date")),
            submitted_at=_dt(d.get("submitted_at")),
            currency=str(d.get("currency") or "USD"),
            approved_minor=int(approved) if approved is not None else None,
            decision_reason=str(d.get("decision_reason") or ""),
            info_request=str(d.get("info_request") or ""),
            photo_count=int(d.get("photo_count") or 0),
            sla=[ClaimCommitment.from_json(s) for s in d.get("sla") or []],
            overdue=bool(d.get("overdue")),
            next_step_code=str(nxt.get("code") or "none"),
            next_step_by=str(nxt.get("by") or ""),
            next_step_due=_date(nxt.get("due_date")),
            can_adjust=bool(d.get("can_adjust")),
            allowed_actions=[str(a) for a in d.get("allowed_actions") or []],
            timeline=[ClaimStep.from_json(s) for s in d.get("timeline") or []],
        )


@dataclass(frozen=True)
class ClaimPhoto:
    id: str
    claim_id: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    width: int
    height: int
    captured_at: str | None
    uploaded_at: datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClaimPhoto:
        return cls(
            id=str(d["id"]),
            claim_id=str(d.get("claim_id") or ""),
            filename=str(d.get("filename") or ""),
            content_type=str(d.get("content_type") or ""),
            size_bytes=int(d.get("size_bytes") or 0),
            sha256=str(d.get("sha256") or ""),
            width=int(d.get("width") or 0),
            height=int(d.get("height") or 0),
            captured_at=_opt_str(d.get("captured_at")),
            uploaded_at=_dt(d.get("uploaded_at")),
        )


# --- payments (docs/API.md "Payments") -------------------------------------------------------


@dataclass(frozen=True)
class PaymentsConfig:
    """Where the client tokenises cards: Stripe (or localstripe) with the publishable key."""

    mode: str
    publishable_key: str
    api_base: str
    # Limits the service enforces, shown by the client before it sends (never copied constants).
    payment_day_min: int = 1
    payment_day_max: int = 28
    schedule_ahead_days: int = 365

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PaymentsConfig:
        limits = d.get("limits") or {}
        return cls(
            str(d.get("mode") or ""),
            str(d.get("publishable_key") or ""),
            str(d.get("api_base") or ""),
            payment_day_min=int(limits.get("payment_day_min") or 1),
            payment_day_max=int(limits.get("payment_day_max") or 28),
            schedule_ahead_days=int(limits.get("schedule_ahead_days") or 365),
        )


@dataclass(frozen=True)
class SavedCard:
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool
    expired: bool
    expires_soon: bool
    autopay_policy_ids: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.brand.capitalize()} ending {self.last4}"

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SavedCard:
        return cls(
            id=str(d["id"]),
            brand=str(d.get("brand") or "card"),
            last4=str(d.get("last4") or ""),
            exp_month=int(d.get("exp_month") or 0),
            exp_year=int(d.get("exp_year") or 0),
            is_default=bool(d.get("is_default")),
            expired=bool(d.get("expired")),
            expires_soon=bool(d.get("expires_soon")),
            autopay_policy_ids=[str(x) for x in d.get("autopay_policy_ids") or []],
        )


@dataclass(frozen=True)
class InstallmentRow:
    id: str
    number: int
    due_date: date | None
    amount_minor: int
    paid_minor: int
    currency: str
    status: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> InstallmentRow:
        return cls(
            id=str(d["id"]),
            number=int(d.get("number") or 0),
            due_date=_date(d.get("due_date")),
            amount_minor=int(d.get("amount_minor") or 0),
            paid_minor=int(d.get("paid_minor") or 0),
            currency=str(d.get("currency") or "USD"),
            status=str(d.get("status") or ""),
        )


@dataclass(frozen=True)
class PolicyBilling:
    policy_id: str
    number: str
    product_line: str
    status: str
    currency: str
    pay_plan: str
    payment_day: int
    today: date | None
    balance_minor: int
    past_due_minor: int
    payable_minor: int
    in_flight_minor: int
    installments: list[InstallmentRow]
    autopay_status: str  # active | off | suspended
    autopay_method_id: str | None
    autopay_authorized_at: datetime | None
    autopay_text: str
    autopay_terms: dict[str, str]
    delinquency: dict[str, Any] | None
    time_zone: str = "UTC"  # the policy's IANA zone: its times are shown there

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PolicyBilling:
        auto = d.get("autopay") or {}
        return cls(
            policy_id=str(d["policy_id"]),
            number=str(d.get("number") or ""),
            product_line=str(d.get("product_line") or ""),
            status=str(d.get("status") or ""),
            currency=str(d.get("currency") or "USD"),
            pay_plan=str(d.get("pay_plan") or ""),
            payment_day=int(d.get("payment_day") or 0),
            today=_date(d.get("today")),
            balance_minor=int(d.get("balance_minor") or 0),
            past_due_minor=int(d.get("past_due_minor") or 0),
            payable_minor=int(d.get("payable_minor") or 0),
            in_flight_minor=int(d.get("in_flight_minor") or 0),
            installments=[InstallmentRow.from_json(i) for i in d.get("installments") or []],
            autopay_status=str(auto.get("status") or "off"),
            autopay_method_id=_opt_str(auto.get("payment_method_id")),
            autopay_authorized_at=_dt(auto.get("authorized_at")),
            autopay_text=str(auto.get("authorization_text") or ""),
            autopay_terms={str(k): str(v) for k, v in (d.get("autopay_terms") or {}).items()},
            delinquency=d.get("delinquency"),
            time_zone=str(d.get("time_zone") or "UTC"),
        )


@dataclass(frozen=True)
class ScheduledPaymentRow:
    id: str
    policy_id: str
    run_on: date | None
    amount_minor: int
    currency: str
    payment_method_id: str
    status: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ScheduledPaymentRow:
        return cls(
            id=str(d["id"]),
            policy_id=str(d.get("policy_id") or ""),
            run_on=_date(d.get("run_on")),
            amount_minor=int(d.get("amount_minor") or 0),
            currency=str(d.get("currency") or "USD"),
            payment_method_id=str(d.get("payment_method_id") or ""),
            status=str(d.get("status") or ""),
        )


@dataclass(frozen=True)
class PaymentRow:
    id: str
    policy_id: str
    policy_number: str
    kind: str
    amount_minor: int
    currency: str
    status: str
    failure_code: str | None
    refunded_minor: int
    receipt_number: str | None
    channel: str
    created_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PaymentRow:
        return cls(
            id=str(d["id"]),
            policy_id=str(d.get("policy_id") or ""),
            policy_number=str(d.get("policy_number") or ""),
            kind=str(d.get("kind") or ""),
            amount_minor=int(d.get("amount_minor") or 0),
            currency=str(d.get("currency") or "USD"),
            status=str(d.get("status") or ""),
            failure_code=_opt_str(d.get("failure_code")),
            refunded_minor=int(d.get("refunded_minor") or 0),
            receipt_number=_opt_str(d.get("receipt_number")),
            channel=str(d.get("channel") or ""),
            created_at=_dt(d.get("created_at")),
            completed_at=_dt(d.get("completed_at")),
        )


@dataclass(frozen=True)
class PaymentsOverview:
    account_id: str
    policies: list[PolicyBilling]
    methods: list[SavedCard]
    scheduled: list[ScheduledPaymentRow]
    history: list[PaymentRow]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PaymentsOverview:
        return cls(
            account_id=str(d.get("account_id") or ""),
            policies=[PolicyBilling.from_json(p) for p in d.get("policies") or []],
            methods=[SavedCard.from_json(m) for m in d.get("methods") or []],
            scheduled=[ScheduledPaymentRow.from_json(s) for s in d.get("scheduled") or []],
            history=[PaymentRow.from_json(h) for h in d.get("history") or []],
        )


# --- staff: customer search, internal notes, presence --------------------------------------


@dataclass(frozen=True)
class CustomerHit:
    """One ranked search result: a customer (account holder) and what matched."""

    account_id: str
    account_name: str
    holder_id: str | None
    full_name: str
    email: str | None
    phone: str | None
    postcode: str | None
    policy_numbers: list[str]
    matched_kind: str  # name, email, phone, postcode, policy, claim
    matched: str
    score: float

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CustomerHit:
        return cls(
            account_id=str(d["account_id"]),
            account_name=str(d.get("account_name") or ""),
            holder_id=_opt_str(d.get("holder_id")),
            full_name=str(d.get("full_name") or ""),
            email=_opt_str(d.get("email")),
            phone=_opt_str(d.get("phone")),
            postcode=_opt_str(d.get("postcode")),
            policy_numbers=[str(n) for n in d.get("policy_numbers") or []],
            matched_kind=str(d.get("matched_kind") or ""),
            matched=str(d.get("matched") or ""),
            score=float(d.get("score") or 0),
        )


@dataclass(frozen=True)
class AccountNote:
    id: str
    account_id: str
    author_name: str
    author_role: str
    channel: str
    branch_id: str | None
    body: str
    created_at: datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AccountNote:
        return cls(
            id=str(d["id"]),
            account_id=str(d.get("account_id") or ""),
            author_name=str(d.get("author_name") or ""),
            author_role=str(d.get("author_role") or ""),
            channel=str(d.get("channel") or ""),
            branch_id=_opt_str(d.get("branch_id")),
            body=str(d.get("body") or ""),
            created_at=_dt(d.get("created_at")),
        )


@dataclass(frozen=True)
class Viewer:
    """Someone with an account open right now (from the live feed's presence messages)."""

    user_id: str
    name: str
    role: str
    channel: str
    since: datetime | None

    @property
    def is_customer(self) -> bool:
        return self.role == "policyholder"

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Viewer:
        return cls(
            user_id=str(d.get("user_id") or ""),
            name=str(d.get("name") or ""),
            role=str(d.get("role") or ""),
            channel=str(d.get("channel") or ""),
            since=_dt(d.get("since")),
        )


@dataclass(frozen=True)
class OpenAccount:
    """An account staff have open now, for the supervisor's list."""

    account_id: str
    account_name: str
    staff: list[Viewer]
    customer_online: bool

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> OpenAccount:
        return cls(
            account_id=str(d["account_id"]),
            account_name=str(d.get("account_name") or ""),
            staff=[Viewer.from_json(v) for v in d.get("staff") or []],
            customer_online=bool(d.get("customer_online")),
        )


# --- notifications (docs/API.md "Notifications") ---------------------------------------------


@dataclass(frozen=True)
class Notice:
    """One notice in the notification centre."""

    id: str
    account_id: str
    type: str
    title: str
    body: str
    subject_type: str
    subject_id: str | None
    required: bool
    created_at: datetime | None
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Notice:
        return cls(
            id=str(d["id"]),
            account_id=str(d.get("account_id") or ""),
            type=str(d.get("type") or ""),
            title=str(d.get("title") or ""),
            body=str(d.get("body") or ""),
            subject_type=str(d.get("subject_type") or ""),
            subject_id=_opt_str(d.get("subject_id")),
            required=bool(d.get("required")),
            created_at=_dt(d.get("created_at")),
            read_at=_dt(d.get("read_at")),
        )


@dataclass(frozen=True)
class NoticeList:
    notices: list[Notice]
    unread: int

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NoticeList:
        return cls([Notice.from_json(n) for n in d.get("notifications") or []], int(d.get("unread") or 0))


@dataclass(frozen=True)
class NoticeChannel:
    enabled: bool
    locked: bool


@dataclass(frozen=True)
class NoticePreference:
    """Email and text settings of one notice type; `locked` ones are required by law."""

    type: str
    required: bool
    email: NoticeChannel
    sms: NoticeChannel

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NoticePreference:
        ch = d.get("channels") or {}

        def channel(name: str) -> NoticeChannel:
            c = ch.get(name) or {}
            return NoticeChannel(bool(c.get("enabled")), bool(c.get("locked")))

        return cls(str(d["type"]), bool(d.get("required")), channel("email"), channel("sms"))


@dataclass(frozen=True)
class NotificationSettings:
    types: list[NoticePreference]
    email: str | None
    phone: str | None
    time_zone: str
    quiet_start: str
    quiet_end: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NotificationSettings:
        quiet = d.get("quiet_hours") or {}
        return cls(
            types=[NoticePreference.from_json(t) for t in d.get("types") or []],
            email=_opt_str(d.get("email")),
            phone=_opt_str(d.get("phone")),
            time_zone=str(d.get("time_zone") or ""),
            quiet_start=str(quiet.get("start") or "21:00"),
            quiet_end=str(quiet.get("end") or "08:00"),
        )
