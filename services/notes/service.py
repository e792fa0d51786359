"""Adding and reading internal notes; each note is an audit event on the account's trail."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.service import authorize_account
from services.actor import Actor
from services.audit import service as audit
from services.clock import Clock
from services.db.base import new_id
from services.errors import Forbidden, Invalid
from services.notes.models import AccountNote

MAX_NOTE_CHARS = 2000


def _staff_only(actor: Actor) -> None:
    if not actor.is_staff:
        raise Forbidden("auth.forbidden", "Internal notes are for staff.")


def note_dict(n: AccountNote) -> dict[str, Any]:
    return {
        "id": n.id,
        "account_id": n.account_id,
        "author_name": n.author_name,
        "author_role": n.author_role,
        "channel": n.channel,
        "branch_id": n.branch_id,
        "body": n.body,
        "created_at": n.created_at,
    }


def add_note(session: Session, actor: Actor, clock: Clock, *, account_id: str, body: str) -> AccountNote:
    """Add an internal note; the trail records it (with the text's SHA-256) in the same transaction."""
    _staff_only(actor)
    _, acting = authorize_account(session, actor, clock, account_id)
    text = body.strip()
    if not text:
        raise Invalid(
            "note.empty",
            "Write the note before adding it.",
            errors=[{"field": "body", "code": "note.empty", "message": "Write the note before adding it."}],
        )
    if len(text) > MAX_NOTE_CHARS:
        raise Invalid(
            "note.too_long",
            f"Notes are at most {MAX_NOTE_CHARS} characters.",
            errors=[
                {"field": "body", "code": "note.too_long", "message": f"At most {MAX_NOTE_CHARS} characters."}
            ],
        )
    note = AccountNote(
        id=new_id("nte"),
        account_id=account_id,
        author_id=actor.user_id or "",
        author_name=actor.name,
        author_role=actor.role,
        channel=actor.channel,
        branch_id=actor.branch_id,
        body=text,
        created_at=clock.now(),
    )
    session.add(note)
    session.flush()
    audit.record(
        session,
        acting,
        clock,
        action="note.added",
        account_id=account_id,
        entity_type="account_note",
        entity_id=note.id,
        # The hash ties the trail to the note's exact words without copying them into it.
        after={"chars": len(text), "sha256": hashlib.sha256(text.encode()).hexdigest()},
    )
    return note


def list_notes(session: Session, actor: Actor, clock: Clock, *, account_id: str) -> list[AccountNote]:
    """The account's notes, newest first (staff only)."""
    _staff_only(actor)
    authorize_account(session, actor, clock, account_id)
    return list(
        session.scalars(
            select(AccountNote)
            .where(AccountNote.account_id == account_id)
            .order_by(AccountNote.created_at.desc(), AccountNote.id)
        )
    )
