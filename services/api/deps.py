"""Request plumbing: request ids, body limits, and who is calling."""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.actor import Actor
from services.auth import service as auth_service
from services.auth.models import User
from services.auth.tokens import AccessClaims, SignedInUser
from services.bootstrap import Container
from services.errors import Forbidden, Unauthorized


async def container(request: Request) -> Container:
    # async: FastAPI would otherwise hand even this attribute read to a worker thread.
    return request.app.state.container


ContainerDep = Annotated[Container, Depends(container)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def request_id(request: Request) -> str:
    return getattr(request.state, "request_id", "") or secrets.token_hex(8)


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("auth.token_missing", "Sign in to continue.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("auth.token_invalid", "The sign-in token is not valid.")
    return token.strip()


def actor_from_token(
    c: Container, token: str, *, request_id: str | None, client_address: str | None
) -> Actor:
    """Check the access token, that its sign-in was not revoked, and that the user still exists.

    A live sign-in is answered from memory (SignInCache); otherwise this reads the database,
    so call it from a worker thread, never on the event loop."""
    claims = c.auth.tokens.check(token)
    user = c.auth.sign_ins.get(claims.family_id, claims.user_id) or _load_sign_in(c, claims)
    return auth_service.signed_in_actor(user, request_id=request_id, client_address=client_address)


def _load_sign_in(c: Container, claims: AccessClaims) -> SignedInUser:
    cache = c.auth.sign_ins
    generation = cache.generation()
    with c.db.read() as session:
        # One statement: the user's facts and whether this sign-in was revoked.
        revoked = auth_service.family_revoked_clause(claims.family_id)
        row = session.execute(
            select(User.role, User.full_name, User.branch_id, User.disabled, revoked).where(
                User.id == claims.user_id
            )
        ).one_or_none()
        if row is None or row.disabled or row.revoked:
            raise Unauthorized("auth.token_invalid", "Your session has ended. Please sign in again.")
    user = SignedInUser(claims.user_id, row.role, row.full_name, row.branch_id)
    cache.put(claims.family_id, user, generation)
    return user


async def current_actor(request: Request) -> Actor:
    """Runs on the event loop: a live sign-in costs no thread hop and no database round trip."""
    c: Container = request.app.state.container
    token = bearer_token(request.headers.get("authorization"))
    claims = c.auth.tokens.check(token)
    user = c.auth.sign_ins.get(claims.family_id, claims.user_id)
    if user is None:
        user = await run_in_threadpool(_load_sign_in, c, claims)
    rid, address = request_id(request), client_address(request)
    return auth_service.signed_in_actor(user, request_id=rid, client_address=address)


ActorDep = Annotated[Actor, Depends(current_actor)]


def require_roles(*roles: str) -> Any:
    async def check(actor: ActorDep) -> Actor:
        if actor.role not in roles:
            raise Forbidden("auth.forbidden", "Your role cannot do this.")
        return actor

    return Depends(check)


class RequestContextMiddleware:
    """Gives each request an id (echoed as X-Request-ID) and refuses oversize bodies early."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, large_body_prefixes: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.large_body_prefixes = large_body_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = rid
        limit = None if scope["path"].startswith(self.large_body_prefixes or ("\0",)) else self.max_body_bytes
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if limit is not None and declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_too_large(send, limit)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if limit is not None and message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            await _send_too_large(send, limit or 0)


class _BodyTooLarge(Exception):
    pass


async def _send_too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "type": "https://portal.invalid/problems/request.too_large",
            "title": "Request too large",
            "status": 413,
            "detail": f"The request body is larger than {limit} bytes.",
            "code": "request.too_large",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
