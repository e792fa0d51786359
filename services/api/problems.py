"""Every error leaves the API as problem JSON (RFC 9457) with a stable `code`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from services.errors import DomainError

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://portal.invalid/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail, "code": code}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"Retry-After": str(extra["retry_after"])} if extra.get("retry_after") else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "retry_after": {"type": "integer"},
        "request_id": {"type": "string"},
        "field": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves on this path (for the Allow header of a 405)."""
    methods: set[str] = set()
    for route in iter_route_contexts(app.routes):
        route_methods, route_path = getattr(route, "methods", None), getattr(route, "path_format", None)
        if route_methods and route_path and compile_path(route_path)[0].match(path):
            methods |= set(route_methods)
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Answer every refusal and error as problem JSON (services.api.openapi documents them)."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors) or any(
            e.get("type") == "model_attributes_type" and tuple(e.get("loc", ())) == ("body",) for e in errors
        ):
            return problem(
                400, "request.malformed_json", "Malformed request", "The request body is not valid JSON."
            )
        fields = [
            {
                "field": _field_path(tuple(e.get("loc", ()))),
                "code": e.get("type", "invalid"),
                "message": e.get("msg", ""),
            }
            for e in errors
        ]
        return problem(
            422, "request.invalid", "Invalid request", "Some fields are missing or not valid.", errors=fields
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "request.not_found", 405: "request.method_not_allowed", 413: "request.too_large"}
        code = codes.get(exc.status_code, f"http.{exc.status_code}")
        response = problem(exc.status_code, code, str(exc.detail), str(exc.detail))
        # Keep what the router says, e.g. the Allow header of a 405 (RFC 9110 requires it).
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            # Starlette lists the methods of the first route that matched the path only; a
            # resource served by several routes (GET and POST /claims) supports all of theirs.
            response.headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
        return response

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if not exc.connection_invalidated and not isinstance(exc, OperationalError):
            return await _unexpected(request, exc)
        # The database went away (a restart, a failover, SQLite busy): nothing was committed, and
        # the same request will work in a moment. Say so, instead of a bare 500.
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem(
            503,
            "server.database_unavailable",
            "Temporarily unavailable",
            "We could not reach our database just now. Nothing was changed; please try again.",
            retry_after=2,
            request_id=getattr(request.state, "request_id", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Log the trace on the server; never send it to the client.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            500,
            "server.error",
            "Something went wrong",
            "Something went wrong on our side. Please try again.",
            request_id=getattr(request.state, "request_id", None),
        )
