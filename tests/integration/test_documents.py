"""Documents: generated as real PDFs, listed per policy and account, served only to the account's
people, every view and download audited, a corrupted file refused."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tests.pdf_support import pdf_text
from tests.support import Service

ALEX, JAMIE, PRIYA, AGENT = (
    "alex.morgan@example.com",
    "jamie.morgan@example.com",
    "priya.shah@example.com",
    "agent@portal.example",
)


def ids(service: Service, table: str, key: str) -> dict[str, str]:
    return {k: id_ for id_, k in service.sql(f"SELECT id, {key} FROM {table}")}


def account_documents(service: Service, email: str, account: str) -> list[dict[str, Any]]:
    with service.authed(email) as c:
        r = c.get(f"/accounts/{account}/documents")
    assert r.status_code == 200, r.text
    return r.json()["documents"]


@pytest.fixture(scope="module")
def morgan_docs(module_service: Service) -> list[dict[str, Any]]:
    account = ids(module_service, "accounts", "name")["Morgan household"]
    return account_documents(module_service, ALEX, account)


def test_each_policy_gets_its_papers_once(module_service: Service, morgan_docs: list[dict[str, Any]]) -> None:
    kinds = sorted((d["policy_number"], d["kind"]) for d in morgan_docs)
    assert kinds == sorted(
        [
            ("AUT-100234", "declarations"),
            ("AUT-100234", "policy_wording"),
            ("AUT-100234", "billing_statement"),
            ("AUT-100234", "id_card"),
            ("AUT-100234", "id_card"),
            ("AUT-100234", "id_card_wallet"),
            ("AUT-100234", "id_card_wallet"),
            ("HOM-200871", "declarations"),
            ("HOM-200871", "policy_wording"),
            ("HOM-200871", "billing_statement"),
        ]
    )
    # Listing again (by the co-holder, per policy) generates nothing new.
    account = ids(module_service, "accounts", "name")["Morgan household"]
    again = account_documents(module_service, JAMIE, account)
    assert {d["id"] for d in again} == {d["id"] for d in morgan_docs}
    policy = ids(module_service, "policies", "number")["HOM-200871"]
    with module_service.authed(JAMIE) as c:
        per_policy = c.get(f"/policies/{policy}/documents").json()["documents"]
    assert {d["id"] for d in per_policy} == {
        d["id"] for d in morgan_docs if d["policy_number"] == "HOM-200871"
    }
    issued = module_service.sql(
        "SELECT entity_id FROM audit_events WHERE action='document.issued' AND account_id=:a", a=account
    )
    assert sorted(r[0] for r in issued) == sorted(d["id"] for d in morgan_docs)
    # Newest first, each with its hash and creation time.
    created = [d["created_at"] for d in morgan_docs]
    assert created == sorted(created, reverse=True)
    assert all(len(d["sha256"]) == 64 and d["size_bytes"] > 1000 for d in morgan_docs)


def test_documents_are_real_pdfs_with_the_policy_on_them(
    module_service: Service, morgan_docs: list[dict[str, Any]]
) -> None:
    expected_text = {
        ("AUT-100234", "declarations"): [
            "Declarations page",
            "AUT-100234",
            "2T3P1RFV8MC123456",
            "Riley Morgan",
            "$1,488.00",
        ],
        ("HOM-200871", "declarations"): [
            "Declarations page",
            "1840 W Roscoe St",
            "A — Dwelling",
            "$450,000.00",
        ],
        ("AUT-100234", "policy_wording"): ["Personal Auto Policy", "Collision"],
        ("HOM-200871", "billing_statement"): ["Billing statement", "HOM-200871", "Installments"],
        ("AUT-100234", "id_card"): ["ID card", "AUT-100234", "Alex Morgan, Jamie Morgan"],
    }
    with module_service.authed(ALEX) as c:
        for d in morgan_docs:
            r = c.get(f"/documents/{d['id']}/content")
            assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
            assert r.content.startswith(b"%PDF-")
            assert hashlib.sha256(r.content).hexdigest() == d["sha256"] == r.headers["x-content-sha256"]
            assert d["file_name"] in r.headers["content-disposition"]
            pages, text = pdf_text(r.content)
            assert pages == d["page_count"] >= 1
            for needle in expected_text.get((d["policy_number"], d["kind"]), []):
                assert needle in text, (d["title"], needle)


def test_views_and_downloads_are_audited_with_who_and_what(
    module_service: Service, morgan_docs: list[dict[str, Any]]
) -> None:
    declarations = next(d for d in morgan_docs if d["kind"] == "declarations")
    primary = module_service.sql("SELECT id FROM account_holders WHERE full_name='Alex Morgan'")[0][0]

    def audited(action: str) -> list[tuple[Any, ...]]:
        return module_service.sql(
            "SELECT actor_role, channel, on_behalf_of, after FROM audit_events "
            "WHERE action=:a AND entity_id=:e ORDER BY seq",
            a=action,
            e=declarations["id"],
        )

    before_views = len(audited("document.viewed"))
    with module_service.authed(ALEX) as c:
        assert (
            c.get(f"/documents/{declarations['id']}/content", params={"disposition": "inline"}).status_code
            == 200
        )
        r = c.get(f"/documents/{declarations['id']}/content", params={"disposition": "attachment"})
        assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment;")
        bad = c.get(f"/documents/{declarations['id']}/content", params={"disposition": "print"})
        assert bad.status_code == 422 and bad.json()["code"] == "request.invalid"
    with module_service.authed(AGENT) as c:
        assert (
            c.get(
                f"/documents/{declarations['id']}/content", params={"disposition": "attachment"}
            ).status_code
            == 200
        )
    views = audited("document.viewed")
    downloads = audited("document.downloaded")
    assert len(views) == before_views + 1
    assert [(r[0], r[1], r[2]) for r in downloads[-2:]] == [
        ("policyholder", "portal", None),
        ("agent", "agent", primary),  # staff are recorded acting for the customer
    ]
    after = downloads[-1][3]
    after = after if isinstance(after, dict) else json.loads(after)
    assert after["policy_number"] == declarations["policy_number"]
    assert after["sha256"] == declarations["sha256"] and after["kind"] == "declarations"


def test_another_customers_document_is_not_found_and_not_served(
    module_service: Service, morgan_docs: list[dict[str, Any]]
) -> None:
    doc = morgan_docs[0]
    seen_before = module_service.sql("SELECT count(*) FROM audit_events WHERE entity_id=:e", e=doc["id"])[0][
        0
    ]
    policy = ids(module_service, "policies", "number")["AUT-100234"]
    account = ids(module_service, "accounts", "name")["Morgan household"]
    with module_service.authed(PRIYA) as c:
        theirs = c.get(f"/documents/{doc['id']}/content")
        missing = c.get("/documents/doc_doesnotexist/content")
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == missing.json() and theirs.json()["code"] == "document.not_found"
        assert c.get(f"/policies/{policy}/documents").json()["code"] == "policy.not_found"
        assert c.get(f"/accounts/{account}/documents").json()["code"] == "account.not_found"
    with module_service.http() as anonymous:
        assert anonymous.get(f"/documents/{doc['id']}/content").status_code == 401
    # Nothing about the refused reads landed on the Morgan chain.
    assert (
        module_service.sql("SELECT count(*) FROM audit_events WHERE entity_id=:e", e=doc["id"])[0][0]
        == seen_before
    )


def test_a_corrupted_document_is_refused_and_the_refusal_recorded(module_service: Service) -> None:
    account = ids(module_service, "accounts", "name")["Shah household"]
    docs = account_documents(module_service, PRIYA, account)
    statement = next(
        d for d in docs if d["kind"] == "billing_statement" and d["policy_number"] == "REN-310455"
    )
    # Given the stored bytes change behind the service's back (disk fault, tampering)
    module_service.sql(
        "UPDATE documents SET content=:c WHERE id=:i",
        c=b"%PDF-1.4 not the document we issued",
        i=statement["id"],
    )
    with module_service.authed(PRIYA) as c:
        r = c.get(f"/documents/{statement['id']}/content")
    # Then it is refused with a clear error, never served
    assert r.status_code == 500 and r.json()["code"] == "document.corrupted"
    assert b"not the document" not in r.content
    rows = module_service.sql(
        "SELECT outcome FROM audit_events WHERE action='document.integrity_failed' AND entity_id=:e",
        e=statement["id"],
    )
    assert rows == [("failure",)]
    assert not module_service.sql(
        "SELECT 1 FROM audit_events WHERE action='document.viewed' AND entity_id=:e", e=statement["id"]
    )
