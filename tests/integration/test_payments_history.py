"""Payment history lists every installment the schedule shows as Paid (issue 14)."""

from __future__ import annotations

from tests.support import Service

ALEX = "alex.morgan@example.com"


def test_installments_paid_before_portal_appear_in_the_history(module_service: Service) -> None:
    with module_service.authed(ALEX) as alex:
        account_id = alex.get("/me").json()["accounts"][0]["id"]
        view = alex.get(f"/accounts/{account_id}/payments").json()
    paid = {
        inst["id"]: inst for p in view["policies"] for inst in p["installments"] if inst["status"] == "paid"
    }
    assert paid, "the demo household has paid installments"
    allocated = {row[0] for row in module_service.sql("SELECT installment_id FROM payment_allocations")}
    rows = [h for h in view["history"] if h["kind"] == "installment"]
    # Every paid installment no Portal payment went to is a history row, once, with its amount
    assert {r["id"] for r in rows} == set(paid) - allocated
    for row in rows:
        assert row["amount_minor"] == paid[row["id"]]["paid_minor"] and row["status"] == "succeeded"
    stamps = [h["created_at"] for h in view["history"]]
    assert stamps == sorted(stamps, reverse=True)
