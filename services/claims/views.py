"""HTTP for claims: file, read, list, transitions, streaming photo uploads and photo content."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect

from services.api.deps import ActorDep, ContainerDep
from services.blobs import BlobCorrupted, BlobMissing, BlobReader
from services.bootstrap import Container
from services.claims import service
from services.claims.photos import PhotoStore, check_filename
from services.claims.schemas import ClaimCreate, ClaimList, ClaimOut, PhotoList, PhotoOut, TransitionRequest
from services.claims.sla import parse_holidays
from services.errors import DomainError, Invalid

router = APIRouter(tags=["claims"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Problem JSON"},
    403: {"description": "Problem JSON"},
    404: {"description": "Problem JSON"},
    409: {"description": "Problem JSON"},
    413: {"description": "Problem JSON"},
    415: {"description": "Problem JSON"},
    422: {"description": "Problem JSON"},
}
# Uploads live under their own prefix so the global body-size limit can exempt exactly them
# (bootstrap lists it in large_body_prefixes); PhotoStore enforces the per-photo limit instead.
UPLOAD_PREFIX = "/claims/uploads/"


def photo_store(c: Container) -> PhotoStore:
    store = c.extras["claim_photos"]
    assert isinstance(store, PhotoStore)
    return store


@router.post("/claims", response_model=ClaimOut, status_code=201, responses=PROBLEMS)
def file_claim(body: ClaimCreate, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """First notice of loss; answers at once with the claim number and promised-by dates."""
    details = service.LossDetails(**body.model_dump(exclude={"account_id"}))
    with c.db.write() as session:
        claim = service.file_claim(
            session,
            actor,
            c.clock,
            account_id=body.account_id,
            details=details,
            holidays=parse_holidays(c.settings.claim_holidays),
        )
        return service.claim_view(session, actor, c.clock, claim, with_timeline=True)


@router.get("/claims", response_model=ClaimList, responses=PROBLEMS)
def list_claims(
    account_id: Annotated[str, Query(min_length=1, max_length=40)], actor: ActorDep, c: ContainerDep
) -> dict[str, Any]:
    """Every claim on an account, newest first."""
    with c.db.read() as session:
        return {"claims": service.list_account_claims(session, actor, c.clock, account_id=account_id)}


@router.get("/claims/queue", response_model=ClaimList, responses=PROBLEMS)
def adjuster_queue(actor: ActorDep, c: ContainerDep, overdue_only: bool = False) -> dict[str, Any]:
    """Open claims for adjusters, overdue first (needs the adjuster permission)."""
    with c.db.read() as session:
        return {"claims": service.adjuster_queue(session, actor, c.clock, overdue_only=overdue_only)}


@router.get("/claims/{claim_id}", response_model=ClaimOut, responses=PROBLEMS)
def get_claim(claim_id: str, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """One claim with its timeline and what happens next."""
    with c.db.read() as session:
        return service.get_claim(session, actor, c.clock, claim_id=claim_id)


@router.post("/claims/{claim_id}/transitions", response_model=ClaimOut, responses=PROBLEMS)
def transition(claim_id: str, body: TransitionRequest, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Acknowledge, review, ask for or give information, approve, deny, mark paid, close."""
    with c.db.write() as session:
        claim = service.transition_claim(
            session,
            actor,
            c.clock,
            claim_id=claim_id,
            action=body.action,
            note=body.note,
            amount_minor=body.amount_minor,
        )
        return service.claim_view(session, actor, c.clock, claim, with_timeline=True)


@router.get("/claims/{claim_id}/photos", response_model=PhotoList, responses=PROBLEMS)
def list_photos(claim_id: str, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """The claim's photos, oldest first."""
    with c.db.read() as session:
        photos = service.list_photos(session, actor, c.clock, claim_id=claim_id)
        return {"photos": [service.photo_dict(p) for p in photos]}


@router.get(
    "/claims/{claim_id}/photos/{photo_id}/content",
    responses={
        **PROBLEMS,
        500: {"description": "Problem JSON (the stored photo failed its integrity check)"},
    },
)
async def photo_content(
    claim_id: str,
    photo_id: str,
    actor: ActorDep,
    c: ContainerDep,
    rendition: Annotated[str, Query(pattern="^(original|display)$")] = "display",
) -> Response:
    """The original bytes (evidence) or the display rendition (JPEG, orientation applied)."""

    def find() -> Any:
        with c.db.read() as session:
            return service.get_photo(session, actor, c.clock, claim_id=claim_id, photo_id=photo_id)

    photo = await asyncio.to_thread(find)
    store = photo_store(c)
    try:
        if rendition == "original":
            reader = await asyncio.to_thread(store.open_original, photo.sha256)
            media, extra = photo.content_type, {"X-Content-SHA256": photo.sha256}
        else:
            # Normally made in the background just after the upload; made now if not there yet.
            reader = await asyncio.to_thread(store.open_display, photo.sha256)
            media, extra = "image/jpeg", {}
    except BlobCorrupted as exc:
        await asyncio.to_thread(_record_integrity_failure, c, actor, claim_id, photo_id, exc.found)
        raise DomainError(
            "claim.photo_corrupted",
            "This photo failed its integrity check and cannot be shown. We have recorded the problem.",
            status=500,
        ) from None
    except BlobMissing:
        raise DomainError(
            "claim.photo_missing", "This photo's file is missing from our storage.", status=500
        ) from None
    return _stream(
        reader,
        media,
        {
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(photo.filename)}",
            "Cache-Control": "private, max-age=3600",
            **extra,
        },
    )


def _stream(reader: BlobReader, media: str, headers: dict[str, str]) -> StreamingResponse:
    """Send a checked blob in chunks (read in worker threads); the file closes when done or cut."""
    return StreamingResponse(
        reader.chunks(),
        media_type=media,
        headers={**headers, "Content-Length": str(reader.size)},
        background=BackgroundTask(reader.close),
    )


def _record_integrity_failure(c: Container, actor: Any, claim_id: str, photo_id: str, found: str) -> None:
    with c.db.write() as session:
        service.record_photo_integrity_failure(
            session, actor, c.clock, claim_id=claim_id, photo_id=photo_id, found_sha256=found
        )


@router.post(UPLOAD_PREFIX + "{claim_id}", response_model=PhotoOut, status_code=201, responses=PROBLEMS)
async def upload_photo(
    claim_id: str,
    request: Request,
    actor: ActorDep,
    c: ContainerDep,
    filename: Annotated[str, Query(max_length=1000)],
) -> dict[str, Any]:
    """Add a photo: the raw image bytes as the body, streamed to disk while hashed."""
    name = check_filename(filename)
    store = photo_store(c)

    def authorize() -> None:
        with c.db.read() as session:
            service.claim_for_upload(session, actor, c.clock, claim_id=claim_id)

    # Refusals that need no bytes come before we read any.
    await asyncio.to_thread(authorize)
    with store.uploading():  # background renditions wait while uploads are in flight
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > store.max_bytes:
            raise store.too_large()
        try:
            received = await store.receive(request.stream())
        except ClientDisconnect:
            raise Invalid(
                "claim.upload_interrupted", "The upload stopped before the photo arrived."
            ) from None
        created: list[str] = []
        try:
            inspected = await asyncio.to_thread(store.inspect, received)
            created = await asyncio.to_thread(store.commit, received)

            def record() -> dict[str, Any]:
                with c.db.write() as session:
                    photo = service.attach_claim_photo(
                        session,
                        actor,
                        c.clock,
                        claim_id=claim_id,
                        filename=name,
                        received=received,
                        inspected=inspected,
                    )
                    return service.photo_dict(photo)

            photo = await asyncio.to_thread(record)
        except BaseException:
            store.discard(received.tmp_path)
            # Files this upload created but no photo row refers to are removed: nothing half-kept.
            await asyncio.to_thread(_discard_unreferenced, c, store, created)
            raise
    store.render_later(received.sha256)  # the display picture, made off the customer's wait
    return photo


def _discard_unreferenced(c: Container, store: PhotoStore, keys: list[str]) -> None:
    if not keys:
        return
    with c.db.read() as session:
        for sha256 in keys:
            if not service.sha_in_use(session, sha256):
                store.forget(sha256)
