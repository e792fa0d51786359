"""Policy detail: what a policyholder sees about one policy, and who may see it."""

from __future__ import annotations

import json

from tests.support import Service

ALEX, PRIYA, AGENT, BRANCH = (
    "alex.morgan@example.com",
    "priya.shah@example.com",
    "agent@portal.example",
    "branch@portal.example",
)


def policy_ids(service: Service) -> dict[str, str]:
    return {number: id_ for id_, number in service.sql("SELECT id, number FROM policies")}


def test_auto_policy_detail_has_people_vehicles_and_coverages(module_service: Service) -> None:
    ids = policy_ids(module_service)
    with module_service.authed(ALEX) as c:
        r = c.get(f"/policies/{ids['AUT-100234']}")
    assert r.status_code == 200, r.text
    p = r.json()
    assert (p["number"], p["product_line"], p["status"], p["time_zone"]) == (
        "AUT-100234",
        "auto",
        "active",
        "America/Chicago",
    )
    assert [n["full_name"] for n in p["named_insureds"]] == ["Alex Morgan", "Jamie Morgan"]
    assert [d["full_name"] for d in p["drivers"]] == ["Alex Morgan", "Jamie Morgan", "Riley Morgan"]
    assert [(v["year"], v["make"], v["vin"]) for v in p["vehicles"]] == [
        (2021, "Toyota", "2T3P1RFV8MC123456"),
        (2018, "Honda", "19XFC2F59JE012345"),
    ]
    # Coverage premiums reconcile with the policy premium to the cent (integers, no float).
    assert sum(c["premium_minor"] for c in p["coverages"]) == p["premium_minor"] == 148_800
    bi = next(c for c in p["coverages"] if c["code"] == "bodily_injury")
    assert (bi["limit_minor"], bi["limit_per_accident_minor"], bi["vehicle_id"]) == (
        10_000_000,
        30_000_000,
        None,
    )
    collisions = [c for c in p["coverages"] if c["code"] == "collision"]
    assert {c["vehicle_id"] for c in collisions} == {v["id"] for v in p["vehicles"]}
    assert all(c["deductible_minor"] == 50_000 for c in collisions)
    # The same money figures as the account overview.
    assert p["balance_minor"] >= 0 and p["pay_plan"] == "monthly" and p["autopay"] is True


def test_home_and_renters_show_the_insured_address(module_service: Service) -> None:
    ids = policy_ids(module_service)
    with module_service.authed(ALEX) as c:
        home = c.get(f"/policies/{ids['HOM-200871']}").json()
    with module_service.authed(PRIYA) as c:
        renters = c.get(f"/policies/{ids['REN-310455']}").json()
        car = c.get(f"/policies/{ids['AUT-100877']}").json()
    assert home["properties"] == [
        {
            "address": "1840 W Roscoe St, Chicago, IL",
            "postcode": "60657",
            "dwelling": "Single-family home",
            "year_built": 1924,
        }
    ]
    assert home["vehicles"] == [] and sum(c["premium_minor"] for c in home["coverages"]) == 186_000
    assert renters["properties"][0]["postcode"] == "11211"
    assert sum(c["premium_minor"] for c in renters["coverages"]) == 21_600
    assert len(car["vehicles"]) == 1 and car["vehicles"][0]["make"] == "Subaru"


def test_another_customers_policy_is_not_found_like_a_missing_one(module_service: Service) -> None:
    ids = policy_ids(module_service)
    with module_service.authed(PRIYA) as c:
        theirs = c.get(f"/policies/{ids['AUT-100234']}")
        missing = c.get("/policies/pol_doesnotexist")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert theirs.json()["code"] == "policy.not_found"


def test_staff_read_policies_branch_staff_only_after_verification(module_service: Service) -> None:
    ids = policy_ids(module_service)
    with module_service.authed(AGENT) as c:
        assert c.get(f"/policies/{ids['HOM-200871']}").status_code == 200
    with module_service.authed(BRANCH) as c:
        r = c.get(f"/policies/{ids['HOM-200871']}")
        assert r.status_code == 403 and r.json()["code"] == "branch.verification_required"
    with module_service.http() as anonymous:
        assert anonymous.get(f"/policies/{ids['HOM-200871']}").status_code == 401


def test_paperless_and_contact_changes_are_validated_and_audited(module_service: Service) -> None:
    account, holder = module_service.sql(
        "SELECT account_id, id FROM account_holders WHERE full_name='Priya Shah'"
    )[0]
    path = f"/accounts/{account}/holders/{holder}"
    with module_service.authed(PRIYA) as c:
        assert c.get(f"/accounts/{account}").json()["holders"][0]["paperless"] is False
        # Bad input: each names its field, and nothing is written
        for body, field in (
            ({"phone": "12"}, "phone"),
            ({"email": "priya@"}, "email"),
            ({"postcode": "!!"}, "postcode"),
            ({"paperless": "sometimes"}, "paperless"),
            ({"paperless": None}, "paperless"),
        ):
            r = c.patch(path, json=body)
            assert r.status_code == 422 and r.json()["code"] == "request.invalid", body
            assert [e["field"] for e in r.json()["errors"]] == [field], r.json()
        assert module_service.sql("SELECT paperless, phone FROM account_holders WHERE id=:h", h=holder) == [
            (False, "+1 646 555 0119")
        ]
        # A good change: paperless on and a new phone, one audit event with before and after
        r = c.patch(path, json={"paperless": True, "phone": "+1 646 555 0100"})
        assert r.status_code == 200 and r.json()["paperless"] is True
    rows = module_service.sql(
        "SELECT before, after, actor_role FROM audit_events WHERE action='holder.contact_updated' "
        "AND entity_id=:h",
        h=holder,
    )
    assert len(rows) == 1
    before, after, role = rows[0]
    before = before if isinstance(before, dict) else json.loads(before)
    after = after if isinstance(after, dict) else json.loads(after)
    assert before == {"paperless": False, "phone": "+1 646 555 0119"}
    assert after == {"paperless": True, "phone": "+1 646 555 0100"} and role == "policyholder"
