"""Cases over HTTP on SQLite and PostgreSQL: raising, refusals, authorisation, escalation, resolution."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any

import httpx
import pytest

from services.cases.scheduled import ESCALATION_JOB, register
from services.cases.service import escalate_overdue
from services.jobs.runner import JobRegistry, JobRunner
from tests.support import Service

ALEX = "alex.morgan@example.com"
PRIYA = "priya.shah@example.com"
AGENT = "agent@portal.example"
SUPERVISOR = "supervisor@portal.example"
BRANCH = "branch@portal.example"


def _ids(service: Service) -> dict[str, str]:
    morgan = service.sql("SELECT id FROM accounts WHERE name='Morgan household'")[0][0]
    shah = service.sql("SELECT id FROM accounts WHERE name='Shah household'")[0][0]
    auto = service.sql("SELECT id FROM policies WHERE number='AUT-100234'")[0][0]
    renters = service.sql("SELECT id FROM policies WHERE number='REN-310455'")[0][0]
    return {"morgan": morgan, "shah": shah, "auto": auto, "renters": renters}


def _raise(client: httpx.Client, account_id: str, **fields: Any) -> httpx.Response:
    body = {
        "kind": "complaint",
        "category": "billing",
        "subject": "Charged the wrong amount",
        "description": "My November premium does not match my schedule.",
        **fields,
    }
    return client.post(f"/accounts/{account_id}/cases", json=body)


def _count(service: Service, table: str) -> int:
    return service.sql(f"SELECT COUNT(*) FROM {table}")[0][0]


def _events(service: Service, case_id: str) -> list[str]:
    return [
        r[0]
        for r in service.sql("SELECT action FROM audit_events WHERE entity_id=:c ORDER BY seq", c=case_id)
    ]


# --- raising a case ----------------------------------------------------------------------------


def test_customer_raises_a_case_with_commitments_and_an_attachment(module_service: Service) -> None:
    ids = _ids(module_service)
    pdf = b"%PDF-1.4\n% bank statement\n"
    with module_service.authed(ALEX) as alex:
        r = _raise(
            alex,
            ids["morgan"],
            policy_id=ids["auto"],
            attachments=[
                {
                    "filename": "statement.pdf",
                    "media_type": "application/pdf",
                    "content_base64": base64.b64encode(pdf).decode(),
                }
            ],
        )
        assert r.status_code == 201, r.text
        case = r.json()
        assert case["number"].startswith("CMP-") and case["status"] == "open"
        assert case["channel"] == "portal" and case["time_zone"] == "America/Chicago"
        names = [d["name"] for d in case["deadlines"]]
        assert names == ["acknowledge", "target_resolution", "summary_resolution", "final_response"]
        assert case["next_due_at"] == case["deadlines"][0]["due_at"]
        (att,) = case["attachments"]
        assert att["sha256"] == hashlib.sha256(pdf).hexdigest()
        # The customer sees their case, its entries, and can fetch the attachment back.
        listed = alex.get(f"/accounts/{ids['morgan']}/cases").json()["cases"]
        assert case["id"] in [c["id"] for c in listed]
        got = alex.get(f"/accounts/{ids['morgan']}/cases/{case['id']}/attachments/{att['id']}")
        assert got.content == pdf
        assert "escalation_reasons" not in case  # staff-only fields stay staff-only
    # The opening is on the trail, with the attachment's hash.
    after = module_service.sql(
        "SELECT after FROM audit_events WHERE entity_id=:c AND action='case.opened'", c=case["id"]
    )[0][0]
    assert hashlib.sha256(pdf).hexdigest() in str(after)


def test_agent_raises_a_case_for_the_customer_during_a_call(module_service: Service) -> None:
    ids = _ids(module_service)
    with module_service.authed(AGENT) as agent:
        r = _raise(agent, ids["shah"], kind="dispute", category="double_charge", policy_id=ids["renters"])
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["channel"] == "agent" and case["number"].startswith("DSP-")
    row = module_service.sql(
        "SELECT channel, on_behalf_of, actor_role FROM audit_events "
        "WHERE entity_id=:c AND action='case.opened'",
        c=case["id"],
    )[0]
    assert row[0] == "agent" and row[1] is not None and row[2] == "agent"


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"category": "weather"}, 422, "case.category_unknown"),
        ({"description": "too short"}, 422, "case.description_too_short"),
        ({"subject": "  "}, 422, "case.subject_too_short"),
        ({"kind": "praise"}, 422, "request.invalid"),
        ({"policy_id": "pol_not_ours"}, 422, "case.policy_unknown"),
        (
            {
                "attachments": [
                    {"filename": "x.exe", "media_type": "application/x-msdownload", "content_base64": "TVo="}
                ]
            },
            422,
            "case.attachment_type",
        ),
        (
            {
                "attachments": [
                    {"filename": "a.png", "media_type": "image/png", "content_base64": "bm90IGEgcG5n"}
                ]
            },
            422,
            "case.attachment_type",
        ),
        (
            {"attachments": [{"filename": "a.txt", "media_type": "text/plain", "content_base64": "%%%"}]},
            422,
            "case.attachment_unreadable",
        ),
        ({"surprise": 1}, 422, "request.invalid"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    module_service: Service, fields: dict[str, Any], status: int, code: str
) -> None:
    ids = _ids(module_service)
    if fields.get("policy_id") == "pol_not_ours":
        fields = {**fields, "policy_id": ids["renters"]}  # the Shahs' policy on the Morgans' case
    with module_service.authed(ALEX) as alex:
        # Counted after signing in: the sign-in itself is an audit event.
        before = (_count(module_service, "cases"), _count(module_service, "audit_events"))
        r = _raise(alex, ids["morgan"], **fields)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    assert (_count(module_service, "cases"), _count(module_service, "audit_events")) == before


# --- authorisation -----------------------------------------------------------------------------


def test_authorisation_own_versus_others_and_staff_tools(module_service: Service) -> None:
    ids = _ids(module_service)
    with module_service.authed(ALEX) as alex, module_service.authed(PRIYA) as priya:
        case = _raise(alex, ids["morgan"]).json()
        # Another customer can neither list, read, write about nor open a case on the account.
        assert priya.get(f"/accounts/{ids['morgan']}/cases").status_code == 404
        r = priya.get(f"/accounts/{ids['shah']}/cases/{case['id']}")
        assert r.status_code == 404 and r.json()["code"] == "case.not_found"
        r = priya.post(f"/accounts/{ids['shah']}/cases/{case['id']}/messages", json={"message": "hello"})
        assert r.status_code == 404
        assert _raise(priya, ids["morgan"]).status_code == 404
        # The customer cannot use staff tools on their own case.
        for path, body in [
            (f"/cases/{case['id']}/acknowledge", {}),
            (f"/cases/{case['id']}/responses", {"message": "hi"}),
            (f"/cases/{case['id']}/escalate", {"note": "up"}),
            (
                f"/cases/{case['id']}/resolution",
                {"outcome": "upheld", "resolution": "Refunded in full today."},
            ),
        ]:
            r = alex.post(path, json=body)
            assert r.status_code == 403 and r.json()["code"] == "case.staff_only", path
        assert alex.get("/cases/queue").status_code == 403
        assert alex.get("/cases/dashboard").json()["code"] == "dashboard.supervisor_only"
    # Branch staff reach a case only after verifying the customer at the counter.
    with module_service.authed(BRANCH) as branch:
        r = branch.get(f"/accounts/{ids['morgan']}/cases/{case['id']}")
        assert r.status_code == 403 and r.json()["code"] == "branch.verification_required"
    with module_service.authed(AGENT) as agent:
        assert agent.get("/cases/dashboard").status_code == 403
        queue = agent.get("/cases/queue").json()["cases"]
        assert case["id"] in [c["id"] for c in queue]
        # An internal note is never shown to the customer.
        agent.post(
            f"/cases/{case['id']}/responses",
            json={"message": "Checked Stripe: one charge.", "internal": True},
        )
        agent.post(f"/cases/{case['id']}/responses", json={"message": "We found one charge only."})
    with module_service.authed(ALEX) as alex:
        seen = alex.get(f"/accounts/{ids['morgan']}/cases/{case['id']}").json()
    bodies = [e["body"] for e in seen["entries"]]
    assert "We found one charge only." in bodies and "Checked Stripe: one charge." not in bodies
    assert _events(module_service, case["id"]).count("case.note_added") == 1


# --- escalation --------------------------------------------------------------------------------


def _supervisor_id(service: Service) -> str:
    return service.sql("SELECT id FROM users WHERE email=:e", e=SUPERVISOR)[0][0]


def test_a_missed_deadline_escalates_assigns_up_and_notifies(service: Service) -> None:
    ids = _ids(service)
    with service.authed(ALEX) as alex:
        case = _raise(alex, ids["morgan"]).json()
    ctx = service.container.extras["case_context"]
    # Given nobody acknowledged it, when 25 hours pass and the escalation job runs...
    service.clock.advance(timedelta(hours=25))
    registry = JobRegistry()
    register(registry, service.container)
    assert ESCALATION_JOB in registry.kinds
    JobRunner(service.container.db, service.clock, registry).run_once()
    with service.authed(SUPERVISOR) as sup:
        got = sup.get(f"/accounts/{ids['morgan']}/cases/{case['id']}").json()
    # ...then it is escalated to a supervisor with the deadlines it missed, and notified.
    assert got["status"] == "escalated" and got["team"] == "supervisor"
    assert got["assigned_to"] == _supervisor_id(service)
    assert {"deadline_missed:acknowledge", "deadline_missed:target_resolution"} <= set(
        got["escalation_reasons"]
    )
    actions = _events(service, case["id"])
    assert actions.count("case.escalated") == 1 and actions.count("case.escalation_notified") == 1
    # Running the job again does not escalate twice for the same deadlines.
    with service.container.db.write() as session:
        assert escalate_overdue(session, service.clock, ctx) == 0
    # When the summary deadline (3 business days) also passes, that is a new reason.
    service.clock.advance(timedelta(days=6))
    with service.container.db.write() as session:
        assert escalate_overdue(session, service.clock, ctx) >= 1
    with service.authed(SUPERVISOR) as sup:
        got = sup.get(f"/accounts/{ids['morgan']}/cases/{case['id']}").json()
    assert "deadline_missed:summary_resolution" in got["escalation_reasons"]


def test_third_contact_escalates(module_service: Service) -> None:
    ids = _ids(module_service)
    with module_service.authed(ALEX) as alex:
        case = _raise(alex, ids["morgan"]).json()  # contact 1
        r = alex.post(f"/accounts/{ids['morgan']}/cases/{case['id']}/messages", json={"message": "Any news?"})
        assert r.json()["escalated"] is False  # contact 2
    with module_service.authed(AGENT) as agent:
        # The customer phones: the agent logs the call on the case (contact 3).
        r = agent.post(
            f"/accounts/{ids['morgan']}/cases/{case['id']}/messages", json={"message": "Called again, upset."}
        )
    got = r.json()
    assert got["escalated"] and got["contact_count"] == 3
    assert got["escalation_reasons"] == ["repeated_contact"]


def test_customer_saying_still_unresolved_escalates_and_reopens(module_service: Service) -> None:
    ids = _ids(module_service)
    with module_service.authed(ALEX) as alex:
        case = _raise(alex, ids["morgan"]).json()
    with module_service.authed(AGENT) as agent:
        agent.post(f"/cases/{case['id']}/acknowledge", json={})
        r = agent.post(
            f"/cases/{case['id']}/resolution",
            json={
                "outcome": "not_upheld",
                "resolution": "The amount matches your schedule after the driver change.",
            },
        )
        assert r.status_code == 200 and r.json()["status"] == "resolved"
    with module_service.authed(ALEX) as alex:
        r = alex.post(
            f"/accounts/{ids['morgan']}/cases/{case['id']}/messages",
            json={"message": "That is not right, I never added a driver.", "still_unresolved": True},
        )
    got = r.json()
    assert got["status"] == "escalated" and got["resolved_at"] is None and got["escalated"]
    assert "case.escalated" in _events(module_service, case["id"])


@pytest.mark.parametrize(("category", "team"), [("legal", "legal"), ("cancellation", "supervisor")])
def test_categories_that_need_legal_or_a_supervisor_escalate_at_once(
    module_service: Service, category: str, team: str
) -> None:
    ids = _ids(module_service)
    with module_service.authed(ALEX) as alex:
        case = _raise(alex, ids["morgan"], category=category).json()
    assert case["status"] == "escalated" and case["escalated"]
    with module_service.authed(SUPERVISOR) as sup:
        got = sup.get(f"/accounts/{ids['morgan']}/cases/{case['id']}").json()
    assert got["team"] == team and got["escalation_reasons"] == [f"category_needs_{team}"]


def test_staff_escalation_when_the_front_line_lacks_authority(module_service: Service) -> None:
    ids = _ids(module_service)
    with module_service.authed(ALEX) as alex:
        case = _raise(alex, ids["morgan"]).json()
    with module_service.authed(AGENT) as agent:
        r = agent.post(f"/cases/{case['id']}/escalate", json={"note": "Refund above my limit."})
        assert r.status_code == 200 and r.json()["escalation_reasons"] == ["staff_request"]
        again = agent.post(f"/cases/{case['id']}/escalate", json={"note": "again"})
        assert again.status_code == 409 and again.json()["code"] == "case.already_escalated"


# --- resolution --------------------------------------------------------------------------------


def test_resolution_records_outcome_and_money_on_the_trail(module_service: Service) -> None:
    ids = _ids(module_service)
    with module_service.authed(ALEX) as alex:
        case = _raise(alex, ids["morgan"]).json()
        escalated = _raise(alex, ids["morgan"], category="cancellation").json()
    with module_service.authed(AGENT) as agent:
        # Closing before a resolution is refused.
        r = agent.post(
            f"/cases/{case['id']}/final-response", json={"final_response": "We are done here now."}
        )
        assert r.status_code == 409 and r.json()["code"] == "case.not_resolved"
        # A refund must point at a real refund on this account.
        r = agent.post(
            f"/cases/{case['id']}/resolution",
            json={"outcome": "upheld", "resolution": "We refunded the difference.", "remedy_kind": "refund"},
        )
        assert r.status_code == 422 and r.json()["code"] == "case.refund_unknown"
        r = agent.post(
            f"/cases/{case['id']}/resolution",
            json={
                "outcome": "not_upheld",
                "resolution": "No error, but here is a gesture.",
                "remedy_kind": "adjustment",
                "remedy_minor": 500,
            },
        )
        assert r.json()["code"] == "case.remedy_contradicts_outcome"
        # An escalated case is for a supervisor to resolve.
        r = agent.post(
            f"/cases/{escalated['id']}/resolution",
            json={"outcome": "upheld", "resolution": "Reinstated without a gap in cover."},
        )
        assert r.status_code == 403 and r.json()["code"] == "case.needs_supervisor"
        r = agent.post(
            f"/cases/{case['id']}/resolution",
            json={
                "outcome": "partially_upheld",
                "resolution": "We credited the difference to your next installment.",
                "remedy_kind": "adjustment",
                "remedy_minor": 740,
                "reference": "next installment",
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["remedy"] == {
            "kind": "adjustment",
            "amount_minor": 740,
            "currency": "USD",
            "reference": "next installment",
        }
        r = agent.post(
            f"/cases/{case['id']}/final-response",
            json={"final_response": "This is our final response to you."},
        )
        assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["next_due_at"] is None
    after = module_service.sql(
        "SELECT after FROM audit_events WHERE entity_id=:c AND action='case.resolved'", c=case["id"]
    )[0][0]
    assert "740" in str(after) and "partially_upheld" in str(after)
    with module_service.authed(ALEX) as alex:
        seen = alex.get(f"/accounts/{ids['morgan']}/cases/{case['id']}").json()
        r = alex.post(f"/accounts/{ids['morgan']}/cases/{case['id']}/messages", json={"message": "thanks"})
    assert [e["kind"] for e in seen["entries"]][-2:] == ["resolution", "final_response"]
    assert r.status_code == 409 and r.json()["code"] == "case.closed"


def test_supervisor_dashboard_figures(module_service: Service) -> None:
    with module_service.authed(SUPERVISOR) as sup:
        r = sup.get("/cases/dashboard", params={"days": 7})
    assert r.status_code == 200
    d = r.json()
    assert len(d["days"]) == 7 == len(d["cases_opened"]) == len(d["escalations"])
    assert sum(d["cases_opened"]) >= 2  # the demo cases at least
    assert d["target_hours"] == 24
    assert {"enrolled", "policies"} <= set(d["autopay"])
    assert {"acknowledged_on_time", "reviewed_late"} <= set(d["claims"])
