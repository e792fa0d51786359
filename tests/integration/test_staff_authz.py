"""Staff endpoints and acting for the customer: who may do what, and how it is recorded."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from tests.staff_support import client
from tests.staff_support import token as cached_token
from tests.support import Service

ALEX, AGENT, BRANCH = "alex.morgan@example.com", "agent@portal.example", "branch@portal.example"
SUPERVISOR = "supervisor@portal.example"
VERIFY_JAMIE = {"policy_number": "AUT-100234", "date_of_birth": "1986-09-02", "postcode": "60657"}


def morgan(service: Service) -> str:
    return service.sql("SELECT id FROM accounts WHERE name='Morgan household'")[0][0]


def test_a_policyholder_cannot_reach_staff_endpoints(module_service: Service) -> None:
    account = morgan(module_service)
    with client(module_service, ALEX) as alex:
        for method, path, body in (
            ("GET", "/search/customers?q=shah", None),
            ("GET", f"/accounts/{account}/notes", None),
            ("POST", f"/accounts/{account}/notes", {"body": "hello"}),
            ("GET", "/staff/open-accounts", None),
            ("POST", "/branch/verify", VERIFY_JAMIE),
        ):
            r = alex.request(method, path, json=body)
            assert (r.status_code, r.json()["code"]) == (403, "auth.forbidden"), path
    # Agents are staff but not supervisors: the list of viewed accounts is refused too.
    with client(module_service, AGENT) as agent:
        r = agent.get("/staff/open-accounts")
        assert (r.status_code, r.json()["code"]) == (403, "auth.forbidden")


@pytest.mark.asyncio
async def test_a_branch_user_cannot_act_before_verification(module_service: Service) -> None:
    account = morgan(module_service)
    holder = module_service.sql("SELECT id FROM account_holders WHERE full_name='Jamie Morgan'")[0][0]
    policy = module_service.sql("SELECT id FROM policies WHERE number='AUT-100234'")[0][0]
    writes = "SELECT count(*) FROM audit_events WHERE account_id=:a AND action NOT LIKE 'branch.%'"
    before = module_service.sql(writes, a=account)[0][0]

    def refused() -> None:
        with client(module_service, BRANCH) as c:
            for method, path, body in (
                ("GET", f"/accounts/{account}", None),
                ("PATCH", f"/accounts/{account}/holders/{holder}", {"phone": "+1 312 555 0100"}),
                ("POST", f"/accounts/{account}/notes", {"body": "at the counter"}),
                ("GET", f"/accounts/{account}/notes", None),
                ("PUT", f"/policies/{policy}/payment-day", {"day": 10}),
            ):
                r = c.request(method, path, json=body)
                assert r.status_code == 403, (path, r.text)
                assert r.json()["code"] == "branch.verification_required", path

    await asyncio.to_thread(refused)
    token = await asyncio.to_thread(cached_token, module_service, BRANCH)
    async with websockets.connect(
        module_service.ws_url(f"/accounts/{account}/events/live"),
        additional_headers={"Authorization": f"Bearer {token}"},
    ) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    assert module_service.sql(writes, a=account)[0][0] == before


def test_after_verification_branch_actions_carry_branch_customer_and_staff(module_service: Service) -> None:
    account = morgan(module_service)
    jamie = module_service.sql("SELECT id FROM account_holders WHERE full_name='Jamie Morgan'")[0][0]
    branch = module_service.sql("SELECT branch_id FROM users WHERE email=:e", e=BRANCH)[0][0]
    with client(module_service, BRANCH) as c:
        assert c.post("/branch/verify", json=VERIFY_JAMIE).status_code == 200
        note = c.post(f"/accounts/{account}/notes", json={"body": "Customer showed a driving licence."})
        assert note.status_code == 201, note.text
        assert note.json()["channel"] == "branch" and note.json()["branch_id"] == branch
    row = module_service.sql(
        "SELECT actor_role, actor_name, channel, on_behalf_of, branch_id FROM audit_events "
        "WHERE action='note.added' AND entity_id=:n",
        n=note.json()["id"],
    )[0]
    assert tuple(row) == ("branch_staff", "Dana Okafor", "branch", jamie, branch)


def test_agent_changes_recorded_as_the_agent_for_the_customer(module_service: Service) -> None:
    account = morgan(module_service)
    alex = module_service.sql("SELECT id FROM account_holders WHERE full_name='Alex Morgan'")[0][0]
    agent_id = module_service.sql("SELECT id FROM users WHERE email=:e", e=AGENT)[0][0]
    with client(module_service, AGENT) as c:
        r = c.patch(f"/accounts/{account}/holders/{alex}", json={"address": "1 Counter St, Chicago, IL"})
        assert r.status_code == 200, r.text
    row = module_service.sql(
        "SELECT actor_id, actor_role, channel, on_behalf_of, account_id FROM audit_events "
        "WHERE action='holder.contact_updated' ORDER BY seq DESC LIMIT 1"
    )[0]
    assert tuple(row) == (agent_id, "agent", "agent", alex, account)
