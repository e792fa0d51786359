"""ID cards: one per vehicle on an in-force auto policy; the QR off the printed card verifies, a
tampered code reads as forged, and removal, cancellation and time revoke or expire a card."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest

from portal_app.cli import main as portal
from tests.pdf_support import pdf_text, qr_codes_on_page
from tests.support import Service

ALEX, PRIYA, AGENT = "alex.morgan@example.com", "priya.shah@example.com", "agent@portal.example"


def account_id(service: Service, name: str) -> str:
    return service.sql("SELECT id FROM accounts WHERE name=:n", n=name)[0][0]


def cards(service: Service, email: str, account: str) -> list[dict[str, Any]]:
    with service.authed(email) as c:
        r = c.get(f"/accounts/{account}/id-cards")
    assert r.status_code == 200, r.text
    return r.json()["id_cards"]


def verify(service: Service, code: str) -> dict[str, Any]:
    with service.http() as anonymous:  # a police officer or repair shop has no sign-in
        r = anonymous.get("/id-cards/verify", params={"code": code})
    assert r.status_code == 200, r.text
    return r.json()


def pdf(service: Service, email: str, document_id: str) -> bytes:
    with service.authed(email) as c:
        r = c.get(f"/documents/{document_id}/content", params={"disposition": "attachment"})
    assert r.status_code == 200, r.text
    return r.content


def tamper(code: str, **changes: str) -> str:
    prefix, body, signature = code.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data.update(changes)
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return f"{prefix}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{signature}"


def test_one_card_per_vehicle_and_the_printed_qr_verifies(module_service: Service) -> None:
    morgan = cards(module_service, ALEX, account_id(module_service, "Morgan household"))
    shah = cards(module_service, PRIYA, account_id(module_service, "Shah household"))
    assert sorted(c["vehicle"]["make"] for c in morgan) == ["Honda", "Toyota"]
    assert [c["vehicle"]["make"] for c in shah] == ["Subaru"]  # renters policies carry no card
    card = next(c for c in morgan if c["vehicle"]["make"] == "Toyota")
    assert card["status"] == "valid" and card["policy_number"] == "AUT-100234"
    assert card["named_insureds"] == ["Alex Morgan", "Jamie Morgan"]
    assert card["insurer_code"] == "NAIC 40117"
    # Listing again issues nothing new: the same cards, the same codes.
    assert cards(module_service, ALEX, account_id(module_service, "Morgan household")) == morgan

    # Given the wallet card as printed: decode its QR (back side) and the full page's QR
    wallet = pdf(module_service, ALEX, card["wallet_document_id"])
    page = pdf(module_service, ALEX, card["page_document_id"])
    scanned = qr_codes_on_page(wallet, 1)
    assert scanned == [card["code"]] == qr_codes_on_page(page, 0)
    # Then the verification service vouches for exactly what the card says
    answer = verify(module_service, scanned[0])
    assert answer["status"] == "valid" and answer["status_reason"] is None
    assert (answer["policy_number"], answer["vin"], answer["vehicle"]) == (
        "AUT-100234",
        "2T3P1RFV8MC123456",
        "2021 Toyota RAV4 XLE",
    )
    assert (answer["valid_from"], answer["valid_to"]) == (card["valid_from"], card["valid_to"])


def test_tampered_or_foreign_codes_read_as_forged(module_service: Service) -> None:
    card = cards(module_service, PRIYA, account_id(module_service, "Shah household"))[0]
    for code in (
        tamper(card["code"], t="2099-01-01"),  # stretched validity
        tamper(card["code"], p="AUT-100234"),  # someone else's policy number
        card["code"][:-4] + ("AAAA" if not card["code"].endswith("AAAA") else "BBBB"),  # broken signature
        "PMIC1.e30.AAAA",
        "not a card at all",
    ):
        answer = verify(module_service, code)
        assert answer["status"] == "forged", code
        assert answer["policy_number"] is None  # nothing is echoed back from a forged code
    with module_service.http() as anonymous:
        assert anonymous.get("/id-cards/verify").status_code == 422


def test_cli_verifies_against_the_service(
    module_service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    card = cards(module_service, PRIYA, account_id(module_service, "Shah household"))[0]
    assert portal(["idcard", "verify", card["code"], "--server", module_service.url]) == 0
    assert capsys.readouterr().out.startswith("VALID: policy AUT-100877, 2019 Subaru Outback Premium")
    assert (
        portal(["idcard", "verify", tamper(card["code"], t="2099-01-01"), "--server", module_service.url])
        == 1
    )
    assert capsys.readouterr().out.startswith("FORGED")


def test_another_customer_cannot_list_cards_staff_can(module_service: Service) -> None:
    morgan = account_id(module_service, "Morgan household")
    with module_service.authed(PRIYA) as c:
        r = c.get(f"/accounts/{morgan}/id-cards")
        assert r.status_code == 404 and r.json()["code"] == "account.not_found"
    assert len(cards(module_service, AGENT, morgan)) == 2


def test_removal_cancellation_and_time_revoke_or_expire_cards(service: Service) -> None:
    morgan = account_id(service, "Morgan household")
    shah = account_id(service, "Shah household")
    toyota, honda = sorted(cards(service, ALEX, morgan), key=lambda c: c["vehicle"]["make"], reverse=True)
    subaru = cards(service, PRIYA, shah)[0]
    assert {verify(service, c["code"])["status"] for c in (toyota, honda, subaru)} == {"valid"}

    # When the Toyota leaves the policy its card is revoked, and it is no longer offered
    service.sql(
        "UPDATE policy_vehicles SET removed_at=CURRENT_TIMESTAMP WHERE vin=:v", v=toyota["vehicle"]["vin"]
    )
    answer = verify(service, toyota["code"])
    assert (answer["status"], answer["status_reason"]) == ("revoked", "vehicle_removed")
    assert [c["id"] for c in cards(service, ALEX, morgan)] == [honda["id"]]
    assert verify(service, honda["code"])["status"] == "valid"

    # When Priya's auto policy is cancelled its card is revoked
    service.sql("UPDATE policies SET status='cancelled' WHERE number='AUT-100877'")
    answer = verify(service, subaru["code"])
    assert (answer["status"], answer["status_reason"]) == ("revoked", "policy_cancelled")
    assert cards(service, PRIYA, shah) == []

    # After the term (business date in the policy's zone) the remaining card is expired
    service.clock.advance(timedelta(days=366))
    assert verify(service, honda["code"])["status"] == "expired"


def test_the_insurer_profile_is_what_the_cards_and_documents_print(module_service: Service) -> None:
    # Given the insurer profile, which needs no sign-in (the sign-in window shows its phone)
    with module_service.http() as anonymous:
        r = anonymous.get("/insurer")
    assert r.status_code == 200, r.text
    profile = r.json()
    assert profile["claims_phone"] and profile["phone"] and profile["email"]
    # Then the ID card carries the same claims line, printed on the card itself
    card = cards(module_service, ALEX, account_id(module_service, "Morgan household"))[0]
    assert card["claims_phone"] == profile["claims_phone"]

    _pages, wallet_text = pdf_text(pdf(module_service, ALEX, card["wallet_document_id"]))
    assert profile["claims_phone"] in wallet_text
    # And the documents' letterhead gives the same general line
    with module_service.authed(ALEX) as c:
        docs = c.get(f"/accounts/{account_id(module_service, 'Morgan household')}/documents").json()
    declarations = next(d for d in docs["documents"] if d["kind"] == "declarations")
    _pages, text = pdf_text(pdf(module_service, ALEX, declarations["id"]))
    assert profile["phone"] in text
