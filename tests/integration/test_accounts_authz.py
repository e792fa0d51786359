"""Who may open which account: each role against its own and another customer's account."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support import Service

ALEX, JAMIE, PRIYA = "alex.morgan@example.com", "jamie.morgan@example.com", "priya.shah@example.com"


def account_ids(service: Service) -> dict[str, str]:
    return {name: id_ for id_, name in service.sql("SELECT id, name FROM accounts")}


def events(service: Service, action: str) -> list[tuple]:
    return service.sql(
        "SELECT actor_role, channel, on_behalf_of, branch_id, account_id FROM audit_events "
        "WHERE action=:a ORDER BY seq",
        a=action,
    )


def test_policyholder_reaches_own_household_only(service: Service) -> None:
    ids = account_ids(service)
    for email in (ALEX, JAMIE):  # a household account has several policyholders
        with service.authed(email) as c:
            own = c.get(f"/accounts/{ids['Morgan household']}")
            assert own.status_code == 200
            assert {p["number"] for p in own.json()["policies"]} == {"AUT-100234", "HOM-200871"}
            other = c.get(f"/accounts/{ids['Shah household']}")
            assert other.status_code == 404 and other.json()["code"] == "account.not_found"
            # The same answer as for an id that does not exist: nothing is confirmed.
            assert c.get("/accounts/acc_doesnotexist").json() == {**other.json()}
            assert c.get(f"/accounts/{ids['Shah household']}/events").status_code == 404
    # Policyholders reading their own account write no "viewed" events.
    assert events(service, "account.viewed") == []


@pytest.mark.parametrize(
    "email", ["agent@portal.example", "supervisor@portal.example", "admin@portal.example"]
)
def test_agents_open_any_account_and_every_open_is_audited(service: Service, email: str) -> None:
    ids = account_ids(service)
    with service.authed(email) as c:
        for name in ("Morgan household", "Shah household"):
            assert c.get(f"/accounts/{ids[name]}").status_code == 200
        assert c.get("/accounts/acc_nope").status_code == 404
    viewed = events(service, "account.viewed")
    assert [row[4] for row in viewed] == [ids["Morgan household"], ids["Shah household"]]
    primary = dict(service.sql("SELECT account_id, id FROM account_holders WHERE is_primary"))
    for role, channel, on_behalf_of, _branch, account_id in viewed:
        assert channel == "agent" and role in {"agent", "supervisor", "admin"}
        assert on_behalf_of == primary[account_id]


def test_branch_staff_must_verify_then_act_with_both_identities(service: Service) -> None:
    ids = account_ids(service)
    morgan = ids["Morgan household"]
    with service.authed("branch@portal.example") as c:
        blocked = c.get(f"/accounts/{morgan}")
        assert blocked.status_code == 403 and blocked.json()["code"] == "branch.verification_required"
        ok = c.post(
            "/branch/verify",
            json={"policy_number": "aut-100234", "date_of_birth": "1986-09-02", "postcode": "60657"},
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["account_id"] == morgan and ok.json()["customer_name"] == "Jamie Morgan"
        assert c.get(f"/accounts/{morgan}").status_code == 200
        # Verification covers that customer's account only.
        assert c.get(f"/accounts/{ids['Shah household']}").json()["code"] == "branch.verification_required"
        holder = c.get(f"/accounts/{morgan}").json()["holders"][1]
        patched = c.patch(f"/accounts/{morgan}/holders/{holder['id']}", json={"phone": "+1 312 555 0100"})
        assert patched.status_code == 200
    jamie = service.sql("SELECT id FROM account_holders WHERE full_name='Jamie Morgan'")[0][0]
    branch = service.sql("SELECT branch_id FROM users WHERE email='branch@portal.example'")[0][0]
    for action in ("branch.customer_verified", "account.viewed", "holder.contact_updated"):
        rows = events(service, action)
        assert rows, action
        role, channel, on_behalf_of, branch_id, account_id = rows[-1]
        assert (role, channel, on_behalf_of, branch_id, account_id) == (
            "branch_staff",
            "branch",
            jamie,
            branch,
            morgan,
        )


def test_three_failed_branch_verifications_lock_the_path(service: Service) -> None:
    wrong = {"policy_number": "AUT-100234", "date_of_birth": "1990-01-01", "postcode": "60657"}
    right = {"policy_number": "AUT-100234", "date_of_birth": "1984-03-14", "postcode": "60657"}
    with service.authed("branch@portal.example") as c:
        codes = [c.post("/branch/verify", json=wrong).json()["code"] for _ in range(3)]
        locked = c.post("/branch/verify", json=right)
    assert codes == ["branch.verification_failed"] * 3
    assert locked.status_code == 423 and locked.json()["code"] == "branch.verification_locked"
    assert len(events(service, "branch.verification_failed")) == 3
    assert len(events(service, "branch.verification_refused")) == 1


def test_policyholders_and_agents_cannot_use_branch_verification(service: Service) -> None:
    body = {"policy_number": "AUT-100234", "date_of_birth": "1984-03-14", "postcode": "60657"}
    for email in (ALEX, "agent@portal.example"):
        with service.authed(email) as c:
            r = c.post("/branch/verify", json=body)
            assert r.status_code == 403 and r.json()["code"] == "auth.forbidden"


def test_contact_change_is_audited_with_before_and_after(service: Service) -> None:
    morgan = account_ids(service)["Morgan household"]
    with service.authed(ALEX) as c:
        holder = c.get(f"/accounts/{morgan}").json()["holders"][0]
        r = c.patch(f"/accounts/{morgan}/holders/{holder['id']}", json={"phone": "+1 312 555 0199"})
        assert r.status_code == 200 and r.json()["phone"] == "+1 312 555 0199"
        bad = c.patch(f"/accounts/{morgan}/holders/{holder['id']}", json={"phone": "call me"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "phone"
    rows = service.sql(
        "SELECT before, after, channel FROM audit_events WHERE action='holder.contact_updated'"
    )
    assert len(rows) == 1
    before, after, channel = rows[0]
    # SQLite hands JSON back as text, PostgreSQL as a dict.
    before, after = (v if isinstance(v, dict) else json.loads(v) for v in (before, after))
    assert (
        before == {"phone": "+1 312 555 0142"}
        and after == {"phone": "+1 312 555 0199"}
        and channel == "portal"
    )


def test_another_customers_holder_id_is_not_found(service: Service) -> None:
    ids = account_ids(service)
    priya_holder = service.sql("SELECT id FROM account_holders WHERE full_name='Priya Shah'")[0][0]
    with service.authed(ALEX) as c:
        r = c.patch(
            f"/accounts/{ids['Morgan household']}/holders/{priya_holder}", json={"phone": "+1 312 555 0100"}
        )
    assert r.status_code == 404
    assert (
        service.sql("SELECT phone FROM account_holders WHERE id=:i", i=priya_holder)[0][0]
        == "+1 646 555 0119"
    )


def test_unauthenticated_account_access(service: Service) -> None:
    morgan = account_ids(service)["Morgan household"]
    r = httpx.get(f"{service.url}/api/v1/accounts/{morgan}")
    assert r.status_code == 401 and r.json()["code"] == "auth.token_missing"
