"""ID cards: issuing one per insured vehicle on an in-force auto policy, and verifying their codes."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.service import policy_today
from services.actor import Actor
from services.audit import service as audit
from services.clock import Clock
from services.db.base import new_id
from services.documents.models import IdCard
from services.idcards.codes import CardPayload, read_code, sign_card
from services.idcards.render import CardFace, page_pdf, wallet_pdf
from services.pdf import load_branding
from services.policies.models import InsuredVehicle, Policy
from services.policies.service import IN_FORCE_STATUSES, VOIDING_STATUSES, PolicyFacts
from services.signing import SigningKey

VERIFY_STATUSES = ("valid", "expired", "revoked", "forged", "not_yet_valid")


def card_face(facts: PolicyFacts, vehicle: InsuredVehicle, code: str) -> CardFace:
    b = load_branding()
    return CardFace(
        policy_number=facts.policy.number,
        insurer_name=b.insurer_name,
        insurer_code=b.insurer_code,
        named_insureds=facts.insured_names,
        vehicle=vehicle.description,
        vin=vehicle.vin,
        valid_from=facts.policy.effective_date,
        valid_to=facts.policy.expiry_date,
        code=code,
        claims_phone=b.claims_phone,
        website=b.website,
    )


def issue_missing_cards(
    session: Session,
    clock: Clock,
    key: SigningKey,
    facts: PolicyFacts,
    *,
    store: Any,
    request_id: str | None = None,
) -> list[IdCard]:
    """Issue a card (printable page + wallet PDF) for each current vehicle that has none this term.

    `store` is documents.service.store_document (passed in to keep the import one-way).
    """
    policy = facts.policy
    if policy.product_line != "auto" or policy.status not in IN_FORCE_STATUSES:
        return []
    have = set(
        session.scalars(
            select(IdCard.vehicle_id).where(
                IdCard.policy_id == policy.id, IdCard.valid_from == policy.effective_date
            )
        )
    )
    system = Actor.system("Document service", request_id=request_id)
    issued = []
    b = load_branding()
    for vehicle in facts.vehicles:
        if vehicle.id in have:
            continue
        card_id = new_id("idc")
        payload = CardPayload(
            card_id=card_id,
            key_id=key.key_id,
            insurer_code=b.insurer_code,
            policy_number=policy.number,
            vin=vehicle.vin,
            vehicle=vehicle.description,
            valid_from=policy.effective_date,
            valid_to=policy.expiry_date,
        )
        code = sign_card(payload, key)
        face = card_face(facts, vehicle, code)
        now = clock.now()
        page, page_count = page_pdf(face, issued_at=now, time_zone=policy.time_zone)
        wallet, wallet_pages = wallet_pdf(face, issued_at=now)
        slot = f"{policy.id}:{vehicle.id}:{policy.effective_date.isoformat()}"
        page_doc = store(
            session,
            clock,
            system,
            policy=policy,
            vehicle_id=vehicle.id,
            kind="id_card",
            slot=f"id_card:{slot}",
            title=f"ID card — {vehicle.description}",
            file_name=f"{policy.number}-id-card-{vehicle.vin[-6:]}.pdf",
            content=page,
            page_count=page_count,
        )
        wallet_doc = store(
            session,
            clock,
            system,
            policy=policy,
            vehicle_id=vehicle.id,
            kind="id_card_wallet",
            slot=f"id_card_wallet:{slot}",
            title=f"ID card (wallet size) — {vehicle.description}",
            file_name=f"{policy.number}-id-card-{vehicle.vin[-6:]}-wallet.pdf",
            content=wallet,
            page_count=wallet_pages,
        )
        card = IdCard(
            id=card_id,
            policy_id=policy.id,
            vehicle_id=vehicle.id,
            valid_from=policy.effective_date,
            valid_to=policy.expiry_date,
            key_id=key.key_id,
            code=code,
            page_document_id=page_doc.id,
            wallet_document_id=wallet_doc.id,
            issued_at=now,
        )
        session.add(card)
        session.flush()
        audit.record(
            session,
            system,
            clock,
            action="idcard.issued",
            account_id=policy.account_id,
            entity_type="id_card",
            entity_id=card.id,
            after={
                "policy_number": policy.number,
                "vehicle": vehicle.description,
                "vin": vehicle.vin,
                "valid_from": policy.effective_date,
                "valid_to": policy.expiry_date,
                "key_id": key.key_id,
            },
        )
        issued.append(card)
    return issued


def card_status(
    policy: Policy, vehicle: InsuredVehicle, valid_from: date, valid_to: date, today: date
) -> tuple[str, str | None]:
    """(status, reason): revocation wins over dates, because a cancelled policy covers nothing."""
    if policy.status in VOIDING_STATUSES:
        return "revoked", f"policy_{policy.status}"
    if vehicle.removed_at is not None:
        return "revoked", "vehicle_removed"
    if today >= valid_to or policy.status == "expired":
        return "expired", None  # cover ends at 12:01 a.m. on the expiry date
    if today < valid_from:
        return "not_yet_valid", None
    return "valid", None


def card_dict(card: IdCard, facts: PolicyFacts, vehicle: InsuredVehicle, clock: Clock) -> dict[str, Any]:
    b = load_branding()
    status, reason = card_status(
        facts.policy, vehicle, card.valid_from, card.valid_to, policy_today(facts.policy, clock)
    )
    return {
        "id": card.id,
        "policy_id": facts.policy.id,
        "policy_number": facts.policy.number,
        "status": status,
        "status_reason": reason,
        "insurer_name": b.insurer_name,
        "insurer_code": b.insurer_code,
        "claims_phone": b.claims_phone,
        "named_insureds": facts.insured_names,
        "vehicle": {
            "id": vehicle.id,
            "vin": vehicle.vin,
            "year": vehicle.year,
            "make": vehicle.make,
            "model": vehicle.model,
        },
        "valid_from": card.valid_from,
        "valid_to": card.valid_to,
        "time_zone": facts.policy.time_zone,
        "code": card.code,
        "page_document_id": card.page_document_id,
        "wallet_document_id": card.wallet_document_id,
        "issued_at": card.issued_at,
    }


def current_cards(session: Session, clock: Clock, facts: PolicyFacts) -> list[dict[str, Any]]:
    """The cards to carry now: this term's cards for vehicles still on an in-force policy."""
    policy = facts.policy
    if policy.product_line != "auto" or policy.status not in IN_FORCE_STATUSES:
        return []
    by_vehicle = {v.id: v for v in facts.vehicles}
    cards = session.scalars(
        select(IdCard)
        .where(IdCard.policy_id == policy.id, IdCard.valid_from == policy.effective_date)
        .order_by(IdCard.issued_at)
    )
    return [card_dict(c, facts, by_vehicle[c.vehicle_id], clock) for c in cards if c.vehicle_id in by_vehicle]


def verify_card_code(session: Session, clock: Clock, key: SigningKey, *, code: str) -> dict[str, Any]:
    """Answer valid, expired, revoked, not_yet_valid or forged for a code read off a card."""
    checked_at = clock.now()
    payload = read_code(code, key)
    card = session.get(IdCard, payload.card_id) if payload else None
    # A good signature on a card we never stored cannot happen unless the key leaked: forged too.
    if payload is None or card is None or card.code != code.strip():
        return {"status": "forged", "status_reason": "signature_invalid", "checked_at": checked_at}
    policy = session.get(Policy, card.policy_id)
    vehicle = session.get(InsuredVehicle, card.vehicle_id)
    assert policy is not None and vehicle is not None  # foreign keys
    status, reason = card_status(
        policy, vehicle, payload.valid_from, payload.valid_to, policy_today(policy, clock)
    )
    return {
        "status": status,
        "status_reason": reason,
        "checked_at": checked_at,
        "insurer_code": payload.insurer_code,
        "policy_number": payload.policy_number,
        "vehicle": payload.vehicle,
        "vin": payload.vin,
        "valid_from": payload.valid_from,
        "valid_to": payload.valid_to,
    }
