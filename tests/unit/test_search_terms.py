"""Search terms: what a customer is found by, normalised the same way as queries."""

from __future__ import annotations

from services.search.terms import UPPER, holder_terms, normalise, number_terms


def test_normalise_keeps_ascii_letters_and_digits_only() -> None:
    assert normalise("Zoë O'Neil-Smith") == "zoeoneilsmith"
    assert normalise("+1 (312) 555-0142") == "13125550142"
    assert normalise("AUT-100234") == "aut100234"
    assert normalise("  ") == ""
    # The range upper bound sorts after every character a term can hold.
    assert all(ch < UPPER for ch in "abcxyz0189")


def test_a_holder_is_found_by_name_words_both_orders_email_phone_tails_and_postcode() -> None:
    terms = list(
        holder_terms(
            holder_id="hld_1",
            account_id="acc_1",
            full_name="Alex Morgan",
            email="Alex.Morgan@Example.com",
            phone="+1 312 555 0142",
            postcode="SW1A 1AA",
        )
    )
    by_kind: dict[str, set[str]] = {}
    for t in terms:
        by_kind.setdefault(t["kind"], set()).add(t["term"])
        assert t["holder_id"] == "hld_1" and t["account_id"] == "acc_1" and t["source_id"] == "hld_1"
    assert by_kind["name"] == {"alexmorgan", "morganalex", "alex", "morgan"}
    assert by_kind["email"] == {"alexmorganexamplecom", "alexmorgan"}
    assert by_kind["phone"] == {"13125550142", "3125550142", "5550142"}
    assert by_kind["postcode"] == {"sw1a1aa"}
    assert len(terms) == len({(t["kind"], t["term"]) for t in terms})  # no duplicates


def test_missing_details_and_one_letter_words_make_no_terms() -> None:
    terms = list(
        holder_terms(holder_id="h", account_id="a", full_name="J Q", email=None, phone=None, postcode=None)
    )
    assert {t["term"] for t in terms} == {"jq", "qj"}


def test_numbers_are_found_with_and_without_their_letters() -> None:
    terms = list(
        number_terms(kind="claim", number="CLM-700112", source_id="clm_1", account_id="a", holder_id="h")
    )
    assert {t["term"] for t in terms} == {"clm700112", "700112"}
    assert {t["display"] for t in terms} == {"CLM-700112"}
