"""The wire form of an audit event, shared by the page endpoint, the WebSocket and exports."""

from __future__ import annotations

from typing import Any

from services.audit.chain import format_utc
from services.audit.models import AuditEvent


def event_to_dict(e: AuditEvent) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "account_id": e.account_id,
        "occurred_at": format_utc(e.occurred_at),
        "actor_id": e.actor_id,
        "actor_role": e.actor_role,
        "actor_name": e.actor_name,
        "on_behalf_of": e.on_behalf_of,
        "channel": e.channel,
        "branch_id": e.branch_id,
        "action": e.action,
        "entity_type": e.entity_type,
        "entity_id": e.entity_id,
        "before": e.before,
        "after": e.after,
        "outcome": e.outcome,
        "request_id": e.request_id,
        "client_address": e.client_address,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }
