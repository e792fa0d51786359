"""Real resources of two households, built through the API, for the security and fault tests.

Each household ("morgan", "shah") gets one of every kind of resource the API addresses by id:
account, holder, policy, claim, claim photo, document, saved card, scheduled payment, payment.
Nothing is invented: every id below came back from the running service.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.actor import Actor
from services.auth.passwords import hash_password
from services.auth.service import create_user
from services.demo import DEMO_PASSWORD
from services.payments.localstripe import LocalStripe
from tests.claims_samples import jpeg
from tests.payments_support import add_card, client, pay, run_jobs, view
from tests.support import Service

ALEX = "alex.morgan@example.com"
JAMIE = "jamie.morgan@example.com"
PRIYA = "priya.shah@example.com"
AGENT = "agent@portal.example"
BRANCH = "branch@portal.example"
SUPERVISOR = "supervisor@portal.example"
ADMIN = "admin@portal.example"
# A second branch-staff sign-in that never verifies anyone: "branch staff, unverified".
BRANCH_UNVERIFIED = "branch.second@portal.example"


@dataclass
class Household:
    """Ids of one household's resources, keyed by the API's parameter names."""

    name: str
    ids: dict[str, str] = field(default_factory=dict)
    # Things that identify this household in a response body (to catch leaks in list answers).
    markers: set[str] = field(default_factory=set)
    policy_number: str = ""
    date_of_birth: str = ""
    postcode: str = ""


@dataclass
class World:
    service: Service
    localstripe: LocalStripe
    households: dict[str, Household]
    id_card_code: str


def add_unverified_branch_user(service: Service) -> None:
    """A second branch-staff member (same branch as the demo one) who verifies nobody."""
    c = service.container
    with c.db.write() as session:
        branch_id = service.sql("SELECT branch_id FROM users WHERE email = :e", e=BRANCH)[0][0]
        create_user(
            session,
            Actor.system("Security tests"),
            c.clock,
            email=BRANCH_UNVERIFIED,
            full_name="Chris Unverified",
            role="branch_staff",
            password_hash=hash_password(DEMO_PASSWORD),
            branch_id=branch_id,
        )


def _household(svc: Service, ls: LocalStripe, email: str, prefix: str, *, file_claim: bool) -> Household:
    # Domains still landing (cases, ...) get their resources only when the service publishes them.
    paths = set(httpx.get(svc.url + "/api/v1/openapi.json").json()["paths"])
    with client(svc, email) as c:
        me = c.get("/me").json()
        acc = me["accounts"][0]
        h = Household(name=acc["name"])
        h.ids["account_id"] = acc["id"]
        overview = c.get(f"/accounts/{acc['id']}").json()
        holder = next(x for x in overview["holders"] if x["email"] == email)
        h.ids["holder_id"] = holder["id"]
        pol = next(p for p in overview["policies"] if p["number"].startswith(prefix))
        h.ids["policy_id"] = pol["id"]
        h.policy_number = pol["number"]
        h.postcode = holder["postcode"]
        h.markers |= {acc["id"], acc["name"], holder["id"], holder["email"], pol["id"]}
        h.markers |= {p["number"] for p in overview["policies"]}

        if file_claim:
            r = c.post(
                "/claims",
                json={
                    "account_id": acc["id"],
                    "policy_id": pol["id"],
                    "loss_type": "weather",
                    "loss_at": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
                    "location": "77 Bedford Ave, Brooklyn",
                    "description": "Hail dented the roof of the car parked on the street.",
                    "vehicle": "2019 Honda Civic",
                },
            )
            assert r.status_code == 201, r.text
        claims = c.get("/claims", params={"account_id": acc["id"]}).json()["claims"]
        claim = claims[0]
        h.ids["claim_id"] = claim["id"]
        h.markers |= {claim["id"], claim["number"]}
        photos = c.get(f"/claims/{claim['id']}/photos").json()["photos"]
        if not photos:
            up = c.post(
                f"/claims/uploads/{claim['id']}",
                params={"filename": "roof.jpg"},
                content=jpeg(),
                headers={"Content-Type": "image/jpeg"},
            )
            assert up.status_code == 201, up.text
            photos = [up.json()]
        h.ids["photo_id"] = photos[0]["id"]

        docs = c.get(f"/accounts/{acc['id']}/documents").json()["documents"]
        h.ids["document_id"] = docs[0]["id"]
        h.markers.add(docs[0]["id"])

        v = view(c, acc["id"])
        if not v["methods"]:
            add_card(c, acc["id"], ls.url)
            v = view(c, acc["id"])
        method = v["methods"][0]
        h.ids["method_id"] = method["id"]
        h.ids["payment_method_id"] = method["id"]
        h.markers.add(method["id"])
        # Days ahead in any US zone, whatever the service clock's offset.
        run_on = svc.clock.now().date() + timedelta(days=5)
        s = c.post(
            f"/policies/{pol['id']}/scheduled-payments",
            json={"run_on": run_on.isoformat(), "amount_minor": 500, "payment_method_id": method["id"]},
        )
        assert s.status_code == 201, s.text
        h.ids["scheduled_id"] = s.json()["id"]
        p = pay(c, pol["id"], method["id"], 700, key=uuid.uuid4().hex)
        assert p.status_code == 201, p.text
        h.ids["payment_id"] = p.json()["id"]
        h.markers |= {s.json()["id"], p.json()["id"]}

        if "/api/v1/accounts/{account_id}/cases" in paths:
            case = c.post(
                f"/accounts/{acc['id']}/cases",
                json={
                    "kind": "complaint",
                    "category": "billing",
                    "subject": "Charged on the wrong day",
                    "description": "My premium was taken two days before my payment day.",
                    "policy_id": pol["id"],
                    "attachments": [
                        {
                            "filename": "statement.txt",
                            "media_type": "text/plain",
                            "content_base64": base64.b64encode(b"Statement line: 12 Nov").decode(),
                        }
                    ],
                },
            )
            assert case.status_code == 201, case.text
            h.ids["case_id"] = case.json()["id"]
            h.ids["attachment_id"] = case.json()["attachments"][0]["id"]
            h.markers |= {case.json()["id"], case.json()["number"]}
    dob = svc.sql("SELECT date_of_birth FROM account_holders WHERE id = :i", i=h.ids["holder_id"])[0][0]
    h.date_of_birth = str(dob)[:10]
    return h


def build_world(svc: Service, ls: LocalStripe) -> World:
    """Both households with one of everything, plus a second (unverified) branch-staff user."""
    run_jobs(svc)  # the demo seed's job: the Morgans' Visa
    add_unverified_branch_user(svc)
    morgan = _household(svc, ls, ALEX, "AUT", file_claim=False)
    shah = _household(svc, ls, PRIYA, "AUT", file_claim=True)
    with client(svc, ALEX) as alex:
        cards = alex.get(f"/accounts/{morgan.ids['account_id']}/id-cards").json()["id_cards"]
    return World(svc, ls, {"morgan": morgan, "shah": shah}, id_card_code=cards[0]["code"])


def json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
