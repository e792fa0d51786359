"""HTTP for the evidence trail: the public key, checkpoints, evidence packs, dispute answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from services.api.deps import ActorDep, ContainerDep
from services.api.openapi import binary
from services.audit.checkpoints import last_sealed_at, public_key_b64
from services.audit.export import export_dispute_evidence
from services.bootstrap import Container
from services.disputes.answers import cancellation_answer, double_charge_answer
from services.errors import Forbidden
from services.schemas_common import IsoDate, PathId
from services.signing import SigningKey

router = APIRouter(tags=["evidence"])


def audit_key(c: Container) -> SigningKey:
    key = c.extras["audit_key"]
    assert isinstance(key, SigningKey)
    return key


@router.get("/audit/public-key")
def public_key(c: ContainerDep) -> dict[str, Any]:
    """The Ed25519 public key that signs checkpoints and evidence packs (no sign-in needed)."""
    key = audit_key(c)
    with c.db.read() as session:
        sealed = last_sealed_at(session)
    return {
        "algorithm": "Ed25519",
        "key_id": key.key_id,
        "public_key": public_key_b64(key),
        # A per-process key cannot vouch for anything after a restart: say so to whoever checks.
        "persistent": key.source != "memory",
        "last_checkpoint_at": sealed,
    }


@router.get(
    "/staff/accounts/{account_id}/evidence",
    response_class=Response,
    responses=binary("application/zip", description="The evidence pack"),
)
def evidence_pack(
    account_id: PathId,
    actor: ActorDep,
    c: ContainerDep,
    date_from: Annotated[IsoDate | None, Query(alias="from")] = None,
    date_to: Annotated[IsoDate | None, Query(alias="to")] = None,
) -> Response:
    """The evidence pack as a zip (staff): PDF, events.json, checkpoints, public key, verifier."""
    if actor.role not in {"agent", "supervisor", "admin"}:
        # Checked before the transaction so a refused export leaves nothing on the trail.
        raise Forbidden("evidence.staff_only", "Only call-centre staff and supervisors export evidence.")
    with c.db.write() as session:
        pack = export_dispute_evidence(
            session, actor, c.clock, audit_key(c), account_id=account_id, date_from=date_from, date_to=date_to
        )
    return Response(
        pack.zip_bytes(),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="evidence-{account_id}.zip"',
            "X-Evidence-Events": str(pack.events_in_range),
            "X-Evidence-Pages": str(pack.pdf_pages),
        },
    )


@router.get("/staff/policies/{policy_id}/disputes/cancellation")
def cancellation(policy_id: PathId, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Everything between the missed due date and the cancellation for non-payment, in order."""
    with c.db.read() as session:
        return cancellation_answer(session, actor, c.clock, policy_id=policy_id)


@router.get("/staff/policies/{policy_id}/disputes/charges")
def charges(
    policy_id: PathId,
    actor: ActorDep,
    c: ContainerDep,
    date_from: Annotated[IsoDate | None, Query(alias="from")] = None,
    date_to: Annotated[IsoDate | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """Every charge on the policy in the period with its Stripe ids; possible duplicates flagged."""
    with c.db.read() as session:
        return double_charge_answer(
            session, actor, c.clock, policy_id=policy_id, date_from=date_from, date_to=date_to
        )
