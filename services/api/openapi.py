"""The OpenAPI document: what each operation can answer, in which format, and how to walk the API.

Error responses are generated per operation from what the route can raise, not listed by hand:
  - a bearer-token dependency (services.api.deps.current_actor) -> 401, 403
  - any parameter or body -> 422 (validation; the bounds live in services.schemas_common)
  - a JSON body -> 400 (malformed), 413 (over the body limit)
  - an id in the path, query or body -> 404 (no such resource, or not yours)
  - the database (services.api.deps.container) -> 503 (restarting or unreachable)
plus what the route declares it raises beyond those (`responses=raises(409, 402)`), which the
domain's refusals decide (a conflict with the state, a declined card...). Every error is
application/problem+json with the Problem schema. Links join the operations that create or list a
resource to the ones that use its id, so a client (or a stateful fuzzer) can walk from /me to
every account, policy, claim, photo, card, payment and case.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import TypeAdapter

from services.api import deps
from services.api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_SCHEMA
from services.schemas_common import ID_PATTERN

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

# What each status means in this API (the codes are in docs/API.md).
DESCRIPTIONS: dict[int, str] = {
    400: "Malformed request: the body is not JSON (request.malformed_json), or a bad webhook signature",
    401: "Not signed in, or the token is missing, invalid or expired (auth.token_*)",
    402: "The card was declined or needs authentication (payment.card_declined ...)",
    403: "This role may not do this, or branch staff have not verified the customer",
    404: "No such resource, or not yours (we do not reveal which)",
    409: "Conflicts with the resource's current state (wrong status, in use, in flight)",
    413: "The body is over the size limit (request.too_large)",
    415: "The content is not of an accepted type",
    422: "Invalid input: wrong types, out of bounds, unknown fields (request.invalid), or a refused value",
    423: "Locked after repeated failures: wait `retry_after` seconds",
    429: "Too many attempts: wait `retry_after` seconds",
    500: "The stored file no longer matches its hash (refused and recorded)",
    502: "The payment provider refused the request; nothing was charged",
    503: "Temporarily unavailable (database or payment provider): nothing changed, retry",
}


def raises(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Responses a route declares beyond the generated ones: `@router.post(..., responses=raises(409))`."""
    return {status: {"description": DESCRIPTIONS[status]} for status in statuses}


def binary(*media_types: str, description: str = "The file") -> dict[int | str, dict[str, Any]]:
    """A 200 answer that is a file, not JSON (use with `response_class=Response`)."""
    schema = {"type": "string", "format": "binary"}
    return {200: {"description": description, "content": {m: {"schema": schema} for m in media_types}}}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def generated_statuses(route: APIRoute | RouteContext) -> set[int]:
    """The problem statuses a route can answer because of its parameters, body and dependencies."""
    calls = set(_calls(route.dependant))
    statuses: set[int] = set()
    if deps.current_actor in calls:
        statuses |= {401, 403}
    if deps.container in calls:
        statuses.add(503)
    dependant = route.dependant
    params = [*dependant.path_params, *dependant.query_params, *dependant.header_params]
    for sub in dependant.dependencies:
        params += [*sub.path_params, *sub.query_params]
    if dependant.path_params or _references_ids(route):
        statuses.add(404)
    if params or route.body_field is not None:
        statuses.add(422)
    if route.body_field is not None:
        statuses |= {400, 413}
    return statuses


def _references_ids(route: APIRoute | RouteContext) -> bool:
    """Whether a query parameter or body field names a resource by id (an unknown one is a 404)."""
    fields = list(route.dependant.query_params)
    if route.body_field is not None:
        fields.append(route.body_field)
    return any(ID_PATTERN in json.dumps(_schema_of(f.field_info)) for f in fields)


def _schema_of(info: Any) -> dict[str, Any]:
    """The JSON schema of one parameter or body field, with its constraints."""
    annotated: Any = Annotated[info.annotation, info]  # built at run time: no static type
    return TypeAdapter(annotated).json_schema()


# (source "METHOD /path", status) -> [(link name, target "METHOD /path", parameters, requestBody)]
# Paths are relative to the API prefix. `$request.path.x` carries the source's own path id along.
_ME = "GET /me"
_ACCOUNT = "$response.body#/accounts/0/id"
_OVERVIEW = "GET /accounts/{account_id}"
_POLICY = "$response.body#/policies/0/id"
LINKS: dict[tuple[str, str], list[tuple[str, str, dict[str, str], dict[str, Any] | None]]] = {
    (_ME, "200"): [
        ("Account", _OVERVIEW, {"account_id": _ACCOUNT}, None),
        ("Payments", "GET /accounts/{account_id}/payments", {"account_id": _ACCOUNT}, None),
        ("Cases", "GET /accounts/{account_id}/cases", {"account_id": _ACCOUNT}, None),
        ("OpenCase", "POST /accounts/{account_id}/cases", {"account_id": _ACCOUNT}, None),
        ("Documents", "GET /accounts/{account_id}/documents", {"account_id": _ACCOUNT}, None),
        ("IdCards", "GET /accounts/{account_id}/id-cards", {"account_id": _ACCOUNT}, None),
        ("Events", "GET /accounts/{account_id}/events", {"account_id": _ACCOUNT}, None),
        ("Claims", "GET /claims", {"account_id": _ACCOUNT}, None),
        ("FileClaim", "POST /claims", {}, {"account_id": _ACCOUNT}),
        ("AddCard", "POST /accounts/{account_id}/payment-methods", {"account_id": _ACCOUNT}, None),
    ],
    (_OVERVIEW, "200"): [
        ("Policy", "GET /policies/{policy_id}", {"policy_id": _POLICY}, None),
        ("PolicyDocuments", "GET /policies/{policy_id}/documents", {"policy_id": _POLICY}, None),
        ("PaymentDay", "PUT /policies/{policy_id}/payment-day", {"policy_id": _POLICY}, None),
        ("Autopay", "PUT /policies/{policy_id}/autopay", {"policy_id": _POLICY}, None),
        ("PayNow", "POST /policies/{policy_id}/payments", {"policy_id": _POLICY}, None),
        ("Schedule", "POST /policies/{policy_id}/scheduled-payments", {"policy_id": _POLICY}, None),
        (
            "FileClaim",
            "POST /claims",
            {},
            {"account_id": "$response.body#/id", "policy_id": _POLICY},
        ),
        (
            "EditHolder",
            "PATCH /accounts/{account_id}/holders/{holder_id}",
            {"account_id": "$response.body#/id", "holder_id": "$response.body#/holders/0/id"},
            None,
        ),
    ],
    ("POST /claims", "201"): [
        ("Claim", "GET /claims/{claim_id}", {"claim_id": "$response.body#/id"}, None),
        ("UploadPhoto", "POST /claims/uploads/{claim_id}", {"claim_id": "$response.body#/id"}, None),
        ("Photos", "GET /claims/{claim_id}/photos", {"claim_id": "$response.body#/id"}, None),
        ("Transition", "POST /claims/{claim_id}/transitions", {"claim_id": "$response.body#/id"}, None),
    ],
    ("POST /claims/uploads/{claim_id}", "201"): [
        (
            "PhotoContent",
            "GET /claims/{claim_id}/photos/{photo_id}/content",
            {"claim_id": "$response.body#/claim_id", "photo_id": "$response.body#/id"},
            None,
        ),
        ("Photos", "GET /claims/{claim_id}/photos", {"claim_id": "$response.body#/claim_id"}, None),
    ],
    ("POST /accounts/{account_id}/payment-methods", "201"): [
        (
            "MakeDefault",
            "POST /accounts/{account_id}/payment-methods/{method_id}/default",
            {"account_id": "$request.path.account_id", "method_id": "$response.body#/id"},
            None,
        ),
        (
            "Remove",
            "DELETE /accounts/{account_id}/payment-methods/{method_id}",
            {"account_id": "$request.path.account_id", "method_id": "$response.body#/id"},
            None,
        ),
        ("Payments", "GET /accounts/{account_id}/payments", {"account_id": "$request.path.account_id"}, None),
    ],
    ("GET /accounts/{account_id}/payments", "200"): [
        (
            "PayNow",
            "POST /policies/{policy_id}/payments",
            {"policy_id": "$response.body#/policies/0/policy_id"},
            {"payment_method_id": "$response.body#/methods/0/id"},
        ),
        (
            "Schedule",
            "POST /policies/{policy_id}/scheduled-payments",
            {"policy_id": "$response.body#/policies/0/policy_id"},
            {"payment_method_id": "$response.body#/methods/0/id"},
        ),
        (
            "Autopay",
            "PUT /policies/{policy_id}/autopay",
            {"policy_id": "$response.body#/policies/0/policy_id"},
            {"payment_method_id": "$response.body#/methods/0/id"},
        ),
        (
            "Refund",
            "POST /payments/{payment_id}/refunds",
            {"payment_id": "$response.body#/history/0/id"},
            None,
        ),
        (
            "Receipt",
            "GET /payments/{payment_id}/receipt.pdf",
            {"payment_id": "$response.body#/history/0/id"},
            None,
        ),
    ],
    ("POST /policies/{policy_id}/payments", "201"): [
        ("Refund", "POST /payments/{payment_id}/refunds", {"payment_id": "$response.body#/id"}, None),
        ("Receipt", "GET /payments/{payment_id}/receipt.pdf", {"payment_id": "$response.body#/id"}, None),
    ],
    ("POST /policies/{policy_id}/scheduled-payments", "201"): [
        ("Edit", "PATCH /scheduled-payments/{scheduled_id}", {"scheduled_id": "$response.body#/id"}, None),
        ("Cancel", "DELETE /scheduled-payments/{scheduled_id}", {"scheduled_id": "$response.body#/id"}, None),
    ],
    ("POST /accounts/{account_id}/cases", "201"): [
        (
            "Case",
            "GET /accounts/{account_id}/cases/{case_id}",
            {"account_id": "$request.path.account_id", "case_id": "$response.body#/id"},
            None,
        ),
        (
            "Message",
            "POST /accounts/{account_id}/cases/{case_id}/messages",
            {"account_id": "$request.path.account_id", "case_id": "$response.body#/id"},
            None,
        ),
        ("Acknowledge", "POST /cases/{case_id}/acknowledge", {"case_id": "$response.body#/id"}, None),
        ("Respond", "POST /cases/{case_id}/responses", {"case_id": "$response.body#/id"}, None),
        ("Escalate", "POST /cases/{case_id}/escalate", {"case_id": "$response.body#/id"}, None),
        ("Resolve", "POST /cases/{case_id}/resolution", {"case_id": "$response.body#/id"}, None),
    ],
}


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}


def _describe_errors(app: FastAPI, schema: dict[str, Any], prefix: str) -> dict[str, str]:
    """Add the generated problem responses to each operation; return operationIds by "METHOD /path"."""
    operation_ids: dict[str, str] = {}
    # FastAPI keeps included routers as branches; their contexts carry the full path and the
    # router-level dependencies (e.g. the payments router's card-data check).
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        item = schema["paths"].get(route.path_format, {})
        for method in route.methods or ():
            op = item.get(method.lower())
            if op is None:
                continue
            path = (route.path_format or "").removeprefix(prefix)
            operation_ids[f"{method} {path}"] = op["operationId"]
            responses = op.setdefault("responses", {})
            for status in sorted(generated_statuses(route)):
                responses.setdefault(str(status), {"description": DESCRIPTIONS[status]})
    for item in schema["paths"].values():
        for op in item.values():
            for status, response in (op.get("responses") or {}).items():
                if str(status).startswith(("4", "5")):
                    response["content"] = _problem_content()
                    if response.get("description") in ("Validation Error", "Problem JSON"):
                        response["description"] = DESCRIPTIONS.get(int(status), response["description"])
    return operation_ids


def _add_links(schema: dict[str, Any], operation_ids: dict[str, str], prefix: str) -> None:
    for (source, status), links in LINKS.items():
        method, path = source.split(" ", 1)
        op = schema["paths"][prefix + path][method.lower()]
        response = op["responses"][status]
        out = response.setdefault("links", {})
        for name, target, parameters, body in links:
            link: dict[str, Any] = {"operationId": operation_ids[target]}
            if parameters:
                link["parameters"] = parameters
            if body is not None:
                link["requestBody"] = body
            out[name] = link


def install(app: FastAPI, prefix: str) -> None:
    """Make app.openapi() return the document with generated error responses and links."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        operation_ids = _describe_errors(app, schema, prefix)
        _add_links(schema, operation_ids, prefix)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
