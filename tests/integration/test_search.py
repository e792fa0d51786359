"""Staff customer search: each kind of query, ranking, the index following changes, and who may search."""

from __future__ import annotations

import pytest

from tests.staff_support import client
from tests.support import Service

AGENT, BRANCH, SUPERVISOR = "agent@portal.example", "branch@portal.example", "supervisor@portal.example"
ALEX = "alex.morgan@example.com"


def search(service: Service, q: str, email: str = AGENT) -> list[dict]:
    with client(service, email) as c:
        r = c.get("/search/customers", params={"q": q})
        assert r.status_code == 200, r.text
        return r.json()["results"]


@pytest.mark.parametrize(
    ("query", "first", "kind", "matched"),
    [
        ("Alex", "Alex Morgan", "name", "Alex Morgan"),
        ("alex morg", "Alex Morgan", "name", "Alex Morgan"),
        ("morgan alex", "Alex Morgan", "name", "Alex Morgan"),
        ("AUT-100234", "Alex Morgan", "policy", "AUT-100234"),
        ("ren-3104", "Priya Shah", "policy", "REN-310455"),
        ("100877", "Priya Shah", "policy", "AUT-100877"),
        ("CLM-700112", "Alex Morgan", "claim", "CLM-700112"),
        ("+1 646 555 0119", "Priya Shah", "phone", "+1 646 555 0119"),
        ("555-0119", "Priya Shah", "phone", "+1 646 555 0119"),
        ("priya.shah@exa", "Priya Shah", "email", "priya.shah@example.com"),
        ("11211", "Priya Shah", "postcode", "11211"),
    ],
)
def test_each_kind_of_query_finds_the_customer_first(
    module_service: Service, query: str, first: str, kind: str, matched: str
) -> None:
    results = search(module_service, query)
    assert results, query
    top = results[0]
    assert (top["full_name"], top["matched_kind"], top["matched"]) == (first, kind, matched)
    names = {"Alex Morgan": "Morgan household", "Priya Shah": "Shah household"}
    assert top["account_name"] == names[first]
    assert top["policy_numbers"] == sorted(top["policy_numbers"]) and top["policy_numbers"]


def test_ranking_puts_exact_matches_before_prefixes_and_lists_both_holders(module_service: Service) -> None:
    # "60657" is the postcode of both Morgans: both are listed, one result each.
    both = search(module_service, "60657")
    assert [r["full_name"] for r in both] == ["Alex Morgan", "Jamie Morgan"]
    assert all(r["matched_kind"] == "postcode" for r in both)
    # "aut-100" is a prefix of two policy numbers: both, scored below an exact number.
    prefix = search(module_service, "aut-100")
    assert {r["matched"] for r in prefix} == {"AUT-100234", "AUT-100877"}
    exact = search(module_service, "aut-100234")
    assert exact[0]["score"] > max(r["score"] for r in prefix)
    assert search(module_service, "zzqx") == []


def test_search_is_staff_only_and_not_audited(module_service: Service) -> None:
    # Signing in is audited; searching is not.
    count = "SELECT count(*) FROM audit_events WHERE action NOT LIKE 'auth.%'"
    before = module_service.sql(count)[0][0]
    for email in (AGENT, BRANCH, SUPERVISOR):
        assert search(module_service, "shah", email)[0]["full_name"] == "Priya Shah"
    assert module_service.sql(count)[0][0] == before
    with client(module_service, ALEX) as c:
        r = c.get("/search/customers", params={"q": "shah"})
        assert r.status_code == 403 and r.json()["code"] == "auth.forbidden"
    with module_service.http() as anon:
        assert anon.get("/search/customers", params={"q": "shah"}).status_code == 401
    with client(module_service, AGENT) as c:
        short = c.get("/search/customers", params={"q": " -a "})
        assert short.status_code == 422 and short.json()["code"] == "search.query_too_short"
        assert short.json()["errors"][0]["field"] == "q"
        assert c.get("/search/customers", params={"q": "x" * 101}).status_code == 422


def test_the_index_follows_contact_changes_in_the_same_transaction(module_service: Service) -> None:
    # Given Jamie Morgan is found by their phone
    assert search(module_service, "312 555 0177")[0]["full_name"] == "Jamie Morgan"
    holder, account = module_service.sql(
        "SELECT id, account_id FROM account_holders WHERE full_name = 'Jamie Morgan'"
    )[0]
    # When an agent changes the phone and the postcode
    with client(module_service, AGENT) as c:
        r = c.patch(
            f"/accounts/{account}/holders/{holder}", json={"phone": "+1 773 555 0188", "postcode": "60614"}
        )
        assert r.status_code == 200, r.text
    # Then the new details find them and the old phone does not
    assert search(module_service, "773 555 0188")[0]["full_name"] == "Jamie Morgan"
    assert "Jamie Morgan" in [r["full_name"] for r in search(module_service, "60614")]
    assert all(r["full_name"] != "Jamie Morgan" for r in search(module_service, "312 555 0177"))
    # And a refused change (bad postcode) leaves the index as it was
    with client(module_service, AGENT) as c:
        assert c.patch(f"/accounts/{account}/holders/{holder}", json={"postcode": "!!"}).status_code == 422
    assert (
        module_service.sql(
            "SELECT count(*) FROM search_terms WHERE source_id = :h AND kind = 'postcode' AND term = '60614'",
            h=holder,
        )[0][0]
        == 1
    )


def test_a_new_claim_is_searchable_by_its_number(module_service: Service) -> None:
    with client(module_service, ALEX) as c:
        me = c.get("/me").json()
        overview = c.get(f"/accounts/{me['accounts'][0]['id']}").json()
    policy = next(p for p in overview["policies"] if p["number"] == "HOM-200871")
    number = "CLM-TEST-1"
    # Written through the ORM like any claim: the flush hook indexes it in the same transaction.
    from services.claims.models import Claim
    from services.db.base import new_id

    now = module_service.clock.now()
    with module_service.container.db.write() as session:
        session.add(
            Claim(
                id=new_id("clm"),
                account_id=overview["id"],
                policy_id=policy["id"],
                number=number,
                status="submitted",
                loss_type="water",
                loss_at=now,
                location="Kitchen",
                description="Burst pipe under the sink.",
                submitted_at=now,
            )
        )
    hit = search(module_service, "clm-test")[0]
    assert (hit["full_name"], hit["matched_kind"], hit["matched"]) == ("Alex Morgan", "claim", number)


def test_migrate_indexes_existing_customers_when_the_index_is_empty(service: Service) -> None:
    # Given a database whose customers predate the search index (as after the 0006 upgrade)
    from services.runtime import migrate

    service.sql("DELETE FROM search_terms")
    assert search(service, "Priya") == []
    # When the schema is migrated again (what every start does)
    migrate(service.container.db.engine)
    # Then they are findable, and a second migrate leaves the index as it is
    assert search(service, "Priya")[0]["full_name"] == "Priya Shah"
    before = service.sql("SELECT COUNT(*) FROM search_terms")[0][0]
    migrate(service.container.db.engine)
    assert service.sql("SELECT COUNT(*) FROM search_terms")[0][0] == before
