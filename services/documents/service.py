"""Customer documents: issued lazily per policy, listed, and served only when their hash still matches."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from services.accounts.service import authorize_account, policy_today
from services.actor import Actor
from services.audit import service as audit
from services.clock import Clock
from services.db.base import new_id
from services.documents import templates
from services.documents.models import Document
from services.errors import DomainError, Invalid, NotFound
from services.idcards import service as idcards
from services.payments.models import Installment
from services.policies.models import Policy
from services.policies.service import PolicyFacts, authorize_policy, policy_facts
from services.signing import SigningKey

DISPOSITIONS = {"inline": "document.viewed", "attachment": "document.downloaded"}


def document_not_found() -> NotFound:
    # One answer for "no such document" and "not yours": ids of other customers stay unconfirmed.
    return NotFound("document.not_found", "We could not find that document.")


def store_document(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    policy: Policy,
    kind: str,
    slot: str,
    title: str,
    file_name: str,
    content: bytes,
    page_count: int,
    vehicle_id: str | None = None,
) -> Document:
    """File a generated PDF with its SHA-256 and creation time; audited as document.issued."""
    document = Document(
        id=new_id("doc"),
        account_id=policy.account_id,
        policy_id=policy.id,
        vehicle_id=vehicle_id,
        kind=kind,
        slot=slot,
        title=title,
        file_name=file_name,
        media_type="application/pdf",
        size_bytes=len(content),
        page_count=page_count,
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        created_at=clock.now(),
    )
    session.add(document)
    session.flush()
    audit.record(
        session,
        actor,
        clock,
        action="document.issued",
        account_id=policy.account_id,
        entity_type="document",
        entity_id=document.id,
        after={
            "kind": kind,
            "title": title,
            "policy_number": policy.number,
            "sha256": document.sha256,
            "size_bytes": document.size_bytes,
        },
    )
    return document


def ensure_policy_documents(
    session: Session, clock: Clock, key: SigningKey, policy: Policy, *, request_id: str | None = None
) -> int:
    """Generate what the policy should have and does not yet: declarations and wording for the
    term, this month's billing statement, ID cards. Returns how many documents were made.

    Lazy on purpose: the demo seed and every test service start stay fast, and a policy issued
    by any later feature gets its papers the first time someone asks for them.
    """
    have = set(session.scalars(select(Document.slot).where(Document.policy_id == policy.id)))
    term = policy.effective_date.isoformat()
    today = policy_today(policy, clock)
    statement_day = min(today, policy.expiry_date)
    wanted = {
        f"declarations:{policy.id}:{term}": "declarations",
        f"policy_wording:{policy.id}:{term}": "policy_wording",
    }
    if policy.effective_date <= today:
        wanted[f"billing_statement:{policy.id}:{statement_day:%Y-%m}"] = "billing_statement"
    missing = {slot: kind for slot, kind in wanted.items() if slot not in have}
    facts: PolicyFacts | None = None
    made = 0
    system = Actor.system("Document service", request_id=request_id)
    for slot, kind in missing.items():
        facts = facts or policy_facts(session, policy)
        now = clock.now()
        if kind == "declarations":
            rendered = templates.declarations(facts, issued_at=now)
        elif kind == "policy_wording":
            rendered = templates.policy_wording(facts, issued_at=now)
        else:
            installments = list(
                session.scalars(
                    select(Installment).where(Installment.policy_id == policy.id).order_by(Installment.number)
                )
            )
            rendered = templates.billing_statement(facts, installments, today=statement_day, issued_at=now)
        store_document(
            session,
            clock,
            system,
            policy=policy,
            kind=kind,
            slot=slot,
            title=rendered.title,
            file_name=rendered.file_name,
            content=rendered.content,
            page_count=rendered.page_count,
        )
        made += 1
    if policy.product_line == "auto":
        facts = facts or policy_facts(session, policy)
        cards = idcards.issue_missing_cards(
            session, clock, key, facts, store=store_document, request_id=request_id
        )
        made += 2 * len(cards)
    return made


def document_dict(d: Document, policy_numbers: dict[str, str]) -> dict[str, Any]:
    return {
        "id": d.id,
        "policy_id": d.policy_id,
        "policy_number": policy_numbers.get(d.policy_id or ""),
        "vehicle_id": d.vehicle_id,
        "kind": d.kind,
        "title": d.title,
        "file_name": d.file_name,
        "media_type": d.media_type,
        "size_bytes": d.size_bytes,
        "page_count": d.page_count,
        "sha256": d.sha256,
        "created_at": d.created_at,
    }


def _numbers(session: Session, account_id: str) -> dict[str, str]:
    rows = session.execute(select(Policy.id, Policy.number).where(Policy.account_id == account_id))
    return {policy_id: number for policy_id, number in rows}


def list_policy_documents(
    session: Session, actor: Actor, clock: Clock, key: SigningKey, *, policy_id: str
) -> list[dict[str, Any]]:
    """A policy's documents, newest first (generating any that are due)."""
    policy, _ = authorize_policy(session, actor, clock, policy_id)
    ensure_policy_documents(session, clock, key, policy, request_id=actor.request_id)
    docs = session.scalars(
        select(Document)
        .where(Document.policy_id == policy.id)
        .order_by(Document.created_at.desc(), Document.id)
    )
    return [document_dict(d, {policy.id: policy.number}) for d in docs]


def list_account_documents(
    session: Session, actor: Actor, clock: Clock, key: SigningKey, *, account_id: str
) -> list[dict[str, Any]]:
    """Every document on the account, newest first: what the Documents page lists and filters."""
    authorize_account(session, actor, clock, account_id)
    for policy in session.scalars(
        select(Policy).where(Policy.account_id == account_id).order_by(Policy.number)
    ):
        ensure_policy_documents(session, clock, key, policy, request_id=actor.request_id)
    numbers = _numbers(session, account_id)
    docs = session.scalars(
        select(Document)
        .where(Document.account_id == account_id)
        .order_by(Document.created_at.desc(), Document.id)
    )
    return [document_dict(d, numbers) for d in docs]


@dataclass(frozen=True)
class DocumentContent:
    document: dict[str, Any]
    content: bytes


def open_document(
    session: Session, actor: Actor, clock: Clock, *, document_id: str, disposition: str
) -> DocumentContent | DomainError:
    """The PDF bytes, audited as viewed or downloaded. A hash mismatch is refused (and recorded);
    that refusal is returned so the view raises it after the audit event commits."""
    if disposition not in DISPOSITIONS:
        raise Invalid("request.invalid", "disposition must be inline or attachment.")
    document = session.scalar(
        select(Document).where(Document.id == document_id).options(undefer(Document.content))
    )
    if document is None:
        raise document_not_found()
    try:
        _, acting = authorize_account(session, actor, clock, document.account_id)
    except NotFound as exc:
        raise document_not_found() from exc
    numbers = _numbers(session, document.account_id)
    info = document_dict(document, numbers)
    digest = hashlib.sha256(document.content).hexdigest()
    summary = {
        "kind": document.kind,
        "title": document.title,
        "policy_number": info["policy_number"],
        "sha256": document.sha256,
    }
    if digest != document.sha256:
        audit.record(
            session,
            acting,
            clock,
            action="document.integrity_failed",
            account_id=document.account_id,
            entity_type="document",
            entity_id=document.id,
            after={**summary, "found_sha256": digest},
            outcome="failure",
        )
        return DomainError(
            "document.corrupted",
            "This document failed its integrity check and cannot be shown. We have recorded the problem; "
            "please contact us for a fresh copy.",
            status=500,
        )
    audit.record(
        session,
        acting,
        clock,
        action=DISPOSITIONS[disposition],
        account_id=document.account_id,
        entity_type="document",
        entity_id=document.id,
        after=summary,
    )
    return DocumentContent(info, document.content)


def list_id_cards(
    session: Session, actor: Actor, clock: Clock, key: SigningKey, *, account_id: str
) -> list[dict[str, Any]]:
    """The ID cards to carry now for every in-force auto policy on the account."""
    authorize_account(session, actor, clock, account_id)
    cards: list[dict[str, Any]] = []
    for policy in session.scalars(
        select(Policy)
        .where(Policy.account_id == account_id, Policy.product_line == "auto")
        .order_by(Policy.number)
    ):
        ensure_policy_documents(session, clock, key, policy, request_id=actor.request_id)
        cards.extend(idcards.current_cards(session, clock, policy_facts(session, policy)))
    return cards
