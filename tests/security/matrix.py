"""The authorisation matrix, generated from the live OpenAPI document.

Every operation the service publishes is called by every principal against the first household
("morgan") and the second ("shah"), with path and query parameters filled from a resolver keyed
by parameter name, and request bodies built from the operation's JSON schema (ids in bodies come
from the same resolver, so a body never points at another household by accident).
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import inspect, select

from tests.claims_samples import jpeg
from tests.payments_support import tokenise
from tests.security import world as w
from tests.support import Service

API = "/api/v1"

# Reachable without signing in, on purpose. Anything else must answer 401 to a stranger.
PUBLIC = {
    "GET /health",
    "POST /auth/sign-in",
    "POST /auth/refresh",
    "POST /auth/sign-out",
    # Single sign-on happens before there is a session (404 auth.oidc_disabled when not offered).
    "GET /auth/oidc/config",
    "POST /auth/oidc/start",
    "POST /auth/oidc/exchange",
    "POST /auth/oidc/sign-out",
    "GET /id-cards/verify",
    "GET /audit/public-key",  # verifies exported evidence packs offline; a public key by design
    "POST /stripe/webhook",  # authenticated by Stripe's signature instead
}
# Staff tools: a policyholder must be refused whatever the target. New staff paths match the pattern.
STAFF_ONLY_PATTERN = re.compile(
    r"^/(staff|admin|branch|cases|search|presence)\b|/(queue|transitions|notes)\b"
)
STAFF_ONLY = {
    "POST /payments/{payment_id}/refunds",
    "GET /notifications/sms-outbox",
    "GET /accounts/{account_id}/notifications/deliveries",
}

# Who calls, and which household (if any) is theirs. Staff have none: they act for customers.
PRINCIPALS: dict[str, str | None] = {
    "anonymous": None,
    "policyholder": w.ALEX,
    "other_policyholder": w.PRIYA,
    "agent": w.AGENT,
    "branch_unverified": w.BRANCH_UNVERIFIED,
    "branch_verified": w.BRANCH,
    "supervisor": w.SUPERVISOR,
    "admin": w.ADMIN,
}
HOME = {"policyholder": "morgan", "other_policyholder": "shah"}
# Branch staff reach a household only after verifying that customer at the counter (morgan).
BRANCH_VERIFIED_FOR = "morgan"
STAFF_ANYWHERE = {"agent", "supervisor", "admin"}
SCOPES = ("morgan", "shah")
ACCOUNT_PARAMS = {
    "account_id",
    "holder_id",
    "policy_id",
    "claim_id",
    "photo_id",
    "document_id",
    "method_id",
    "payment_method_id",
    "scheduled_id",
    "payment_id",
    "case_id",
    "attachment_id",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # without the /api/v1 prefix
    spec: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def params(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p["in"] == where]

    @property
    def scoped(self) -> bool:
        """Does the operation address a household's resource (by path, query or body)?"""
        names = {p["name"] for p in self.params("path")} | {
            p["name"] for p in self.params("query") if p.get("required")
        }
        return bool(names & ACCOUNT_PARAMS) or bool(self.body_fields() & ACCOUNT_PARAMS)

    def body_schema(self) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        return content.get("application/json", {}).get("schema")

    def body_fields(self) -> set[str]:
        schema = self.body_schema()
        if schema is None:
            return set()
        return set(_resolve_ref(schema, self.spec["components"]).get("properties", {}))


@dataclass
class Cell:
    principal: str
    scope: str  # morgan, shah or "-" for operations that address no household
    status: int | str
    code: str = ""
    expect: str = ""  # "deny", "staff_only", "public", "allow" or "anon"
    wrote: list[str] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)


def operations(spec: dict[str, Any]) -> list[Operation]:
    ops = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                ops.append(Operation(method.upper(), path.removeprefix(API), {**op, "components": spec}))
    # Reads first, then writes, deletes last: an allowed delete must not hide a later cell's target.
    order = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
    only = os.environ.get("PORTAL_MATRIX_ONLY")  # a substring of "METHOD /path", for debugging
    return sorted((o for o in ops if not only or only in o.key), key=lambda o: (order[o.method], o.path))


def _resolve_ref(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


class Resolver:
    """Fills parameters and bodies from the world; records names it does not know."""

    def __init__(self, world: w.World) -> None:
        self.world = world
        self.unknown: set[str] = set()

    def value(self, name: str, scope: str) -> str | None:
        if scope in self.world.households:
            household = self.world.households[scope]
            if name in household.ids:
                return household.ids[name]
        fixed = {"filename": "dent.jpg", "code": self.world.id_card_code, "q": "Morgan"}
        return fixed.get(name)

    def url(self, op: Operation, scope: str) -> tuple[str, dict[str, str]] | None:
        path = op.path
        for p in op.params("path"):
            value = self.value(p["name"], scope)
            if value is None:
                self.unknown.add(f"{op.key}: path parameter {p['name']}")
                return None
            path = path.replace("{" + p["name"] + "}", value)
        query: dict[str, str] = {}
        for p in op.params("query"):
            value = self.value(p["name"], scope)
            if not p.get("required"):
                if value is not None:
                    query[p["name"]] = value
                continue
            if value is None:
                self.unknown.add(f"{op.key}: query parameter {p['name']}")
                return None
            query[p["name"]] = value
        return path, query

    def body(self, op: Operation, scope: str) -> dict[str, Any] | None:
        schema = op.body_schema()
        if schema is None:
            return None
        spec = op.spec["components"]
        return self._object(_resolve_ref(schema, spec), spec, scope)

    def _object(self, schema: dict[str, Any], spec: dict[str, Any], scope: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            special = self._field(name, scope)
            if special is not None:
                out[name] = special
            elif name in required or name in {"phone", "amount_minor"}:
                out[name] = self._sample(name, _resolve_ref(prop, spec), spec, scope)
        return out

    def _field(self, name: str, scope: str) -> Any:
        household = self.world.households.get(scope)
        if household and name in household.ids:
            return household.ids[name]
        if name == "stripe_payment_method_id":
            return tokenise(self.world.localstripe.url)
        if name == "request_key":
            return uuid.uuid4().hex
        if household and name == "policy_number":
            return household.policy_number
        if household and name == "date_of_birth":
            return household.date_of_birth
        if household and name == "postcode":
            return household.postcode
        if name == "authorization_text":
            return "I authorise Portal to charge my saved card on each due date until I cancel."
        if name == "phone":
            return "+1 312 555 0100"
        if name == "refresh_token":
            return "not-a-real-refresh-token"
        if name == "email":
            return "matrix@example.com"
        if name == "password":
            return "not-the-password"
        if name == "action":
            return "acknowledge"
        if name == "category":
            return "billing"
        if name == "vehicle":
            return "2019 Honda Civic"
        return None

    def _sample(self, name: str, schema: dict[str, Any], spec: dict[str, Any], scope: str) -> Any:
        if "anyOf" in schema:
            first = next(s for s in schema["anyOf"] if s.get("type") != "null")
            return self._sample(name, _resolve_ref(first, spec), spec, scope)
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "integer":
            return min(max(int(schema.get("minimum", 0)), 500), int(schema.get("maximum", 500)))
        if kind == "number":
            return 1
        if kind == "boolean":
            return False
        if kind == "array":
            return []
        if kind == "object":
            return self._object(schema, spec, scope)
        fmt = schema.get("format")
        now = self.world.service.clock.now()
        if fmt == "date":
            return (now + timedelta(days=6)).date().isoformat()
        if fmt == "date-time":
            return (now - timedelta(days=1)).astimezone(UTC).isoformat()
        text = "Security matrix check for this field"
        low, high = int(schema.get("minLength", 1)), int(schema.get("maxLength", 200))
        return (text * 10)[: max(low, min(len(text), high))]


def fingerprint(service: Service) -> dict[str, str]:
    """A hash of every row of every table: any insert, update or delete changes it."""
    from services.db.base import Base

    engine = service.container.db.engine
    present = set(inspect(engine).get_table_names())
    out: dict[str, str] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name not in present:
                continue
            digest = hashlib.sha256()
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            for row in rows:
                digest.update(repr(tuple(row)).encode())
            out[table.name] = f"{len(rows)}:{digest.hexdigest()[:16]}"
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(t for t in set(before) | set(after) if before.get(t) != after.get(t))


def leaks(body: bytes, markers: Iterable[str]) -> list[str]:
    text = body.decode("utf-8", "replace")
    return sorted(m for m in markers if m and m in text)


def expectation(op: Operation, principal: str, scope: str) -> str:
    """What must happen in this cell: deny (no read, no write), allow, staff_only, public or anon."""
    if op.key in PUBLIC:
        return "public"
    if principal == "anonymous":
        return "anon"
    staff_only = op.key in STAFF_ONLY or bool(STAFF_ONLY_PATTERN.search(op.path))
    if principal in HOME:
        if staff_only:
            return "staff_only"
        if scope == "-":
            return "allow"
        return "allow" if HOME[principal] == scope else "deny"
    if principal == "branch_unverified" and scope != "-":
        return "deny"
    if principal == "branch_verified" and scope not in ("-", BRANCH_VERIFIED_FOR):
        return "deny"
    return "allow"


def render(ops: list[Operation], grid: dict[str, dict[tuple[str, str], Cell]]) -> str:
    cols = [(p, s) for p in PRINCIPALS for s in SCOPES]
    short = {
        "anonymous": "anon",
        "policyholder": "ph",
        "other_policyholder": "ph2",
        "agent": "agt",
        "branch_unverified": "brU",
        "branch_verified": "brV",
        "supervisor": "sup",
        "admin": "adm",
    }
    head = f"{'operation':58}" + "".join(f"{short[p] + '/' + s[0]:>8}" for p, s in cols)
    lines = [
        "Authorisation matrix: principal/target (m = morgan household, s = shah household).",
        "ph = Alex (morgan), ph2 = Priya (shah), brV = branch staff verified for morgan.",
        "Cells: HTTP status (WebSocket: ready or close code); * = must be refused (stranger, another",
        "household, unverified branch staff, policyholder on a staff tool). No-household operations: m only.",
        head,
        "-" * len(head),
    ]
    for op in ops:
        row = grid.get(op.key, {})
        cells = []
        for p, s in cols:
            # An operation that addresses no household is called once: shown under m.
            cell = row.get((p, s)) or (row.get((p, "-")) if s == "morgan" else None)
            if cell is None:
                cells.append(f"{'':>8}")
                continue
            mark = "*" if cell.expect in {"deny", "staff_only", "anon"} else " "
            cells.append(f"{str(cell.status) + mark:>8}")
        lines.append(f"{op.key[:58]:58}" + "".join(cells))
    return "\n".join(lines)


def signed_in_clients(service: Service) -> dict[str, httpx.Client]:
    clients = {"anonymous": httpx.Client(base_url=service.url + API, timeout=30)}
    for principal, email in PRINCIPALS.items():
        if email:
            clients[principal] = service.authed(email)
            clients[principal].timeout = httpx.Timeout(30)
    return clients


def call(
    client: httpx.Client, op: Operation, path: str, query: dict[str, str], body: dict[str, Any] | None
) -> httpx.Response:
    if op.path.startswith("/claims/uploads/"):
        # The upload takes raw image bytes, not JSON: send a real photo.
        return client.request(
            op.method, path, params=query, content=jpeg(), headers={"Content-Type": "image/jpeg"}
        )
    if body is None:
        return client.request(op.method, path, params=query)
    return client.request(op.method, path, params=query, json=body)


def now_utc() -> datetime:
    return datetime.now(UTC)
