"""Unit tests: the branded PDF helper, document templates, ID-card codes and the signing key."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from pathlib import Path

import keyring.backend
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.idcards import codes
from services.idcards.render import CardFace, page_pdf, wallet_pdf
from services.pdf import BrandedDocument, pdf_money
from services.signing import (
    ENV_VAR,
    SigningKey,
    SigningKeyError,
    encode_private,
    load_signing_key,
)
from tests.pdf_support import pdf_text, qr_codes_on_page


class _SecureMemoryKeyring(keyring.backend.KeyringBackend):
    """Stands in for an OS keyring (module is not keyrings.alt/fail/null, so it counts as secure)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


class _FailKeyring(_SecureMemoryKeyring):
    pass


_FailKeyring.__module__ = "keyring.backends.fail"


def test_money_is_formatted_from_minor_units_without_float() -> None:
    assert pdf_money(148_800) == "$1,488.00"
    assert pdf_money(5) == "$0.05"
    assert pdf_money(-12_345, "GBP") == "-£123.45"
    assert pdf_money(100, "CHF") == "1.00 CHF"


def test_branded_document_is_a_real_pdf_with_header_footer_and_page_numbers() -> None:
    doc = BrandedDocument(
        "Payment receipt",
        subtitle="Policy AUT-1",
        reference="RCT-9",
        issued_at=datetime(2026, 11, 23, 15, tzinfo=UTC),
        time_zone="America/Chicago",
    )
    doc.heading("Payment")
    doc.facts([("Amount", pdf_money(12_450)), ("Method", "Visa ending 4242")])
    doc.table(["Installment", "Amount"], [[f"{i} of 60", "$24.90"] for i in range(1, 61)], align_right=(1,))
    content = doc.render()
    pages, text = pdf_text(content)
    assert pages == doc.page_count == 3
    assert "Portal Mutual Insurance Company" in text
    assert "Payment receipt" in text and "$124.50" in text and "60 of 60" in text
    assert "Page 3 of 3" in text
    assert "Nov 23, 2026 09:00 CST" in text  # the footer shows issue time in the policy's zone
    # Deterministic: the same input gives the same bytes, so the stored SHA-256 names the content.
    again = BrandedDocument(
        "Payment receipt",
        subtitle="Policy AUT-1",
        reference="RCT-9",
        issued_at=datetime(2026, 11, 23, 15, tzinfo=UTC),
        time_zone="America/Chicago",
    )
    again.heading("Payment")
    again.facts([("Amount", pdf_money(12_450)), ("Method", "Visa ending 4242")])
    again.table(["Installment", "Amount"], [[f"{i} of 60", "$24.90"] for i in range(1, 61)], align_right=(1,))
    assert again.render() == content


def test_code_round_trips_and_any_change_reads_as_forged() -> None:
    key = SigningKey.generate()
    payload = codes.CardPayload(
        "idc_1",
        key.key_id,
        "NAIC 1",
        "AUT-1",
        "VIN12345678901234",
        "2021 Toyota RAV4",
        date(2026, 1, 1),
        date(2027, 1, 1),
    )
    code = codes.sign_card(payload, key)
    assert codes.read_code(code, key) == payload

    # Given a card whose payload was edited (a later expiry) but kept its signature
    prefix, body, sig = code.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["t"] = "2030-01-01"
    forged_body = (
        base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())
        .rstrip(b"=")
        .decode()
    )
    # Then it does not verify; nor does a code signed by another key, nor junk
    assert codes.read_code(f"{prefix}.{forged_body}.{sig}", key) is None
    assert codes.read_code(code, SigningKey.generate()) is None
    assert codes.read_code("PMIC1.!!!.???", key) is None
    assert codes.read_code("hello", key) is None


def test_signing_key_from_environment_is_stable() -> None:
    private = Ed25519PrivateKey.generate()
    env = {ENV_VAR: encode_private(private)}
    a = load_signing_key(Path("/tmp/x"), environ=env, backend=_FailKeyring())
    b = load_signing_key(Path("/tmp/y"), environ=env, backend=_FailKeyring())
    assert a.source == "environment" and a.key_id == b.key_id
    with pytest.raises(SigningKeyError):
        load_signing_key(Path("/tmp/x"), environ={ENV_VAR: "not base64!"})
    with pytest.raises(SigningKeyError):
        load_signing_key(Path("/tmp/x"), environ={ENV_VAR: base64.b64encode(b"short").decode()})


def test_signing_key_is_kept_in_a_secure_keyring_per_data_dir(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ring = _SecureMemoryKeyring()
    first = load_signing_key(tmp_path / "a", environ={}, backend=ring)
    again = load_signing_key(tmp_path / "a", environ={}, backend=ring)
    other = load_signing_key(tmp_path / "b", environ={}, backend=ring)
    assert first.source == again.source == "keyring"
    assert first.key_id == again.key_id != other.key_id
    assert len(ring.items) == 2
    assert not list(tmp_path.rglob("*"))  # nothing written to the data dir


def test_without_env_or_secure_keyring_the_key_lives_in_memory_only(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    ring = _FailKeyring()
    key = load_signing_key(tmp_path, environ={}, backend=ring)
    assert key.source == "memory"
    assert not ring.items
    assert "forged" in caplog.text  # the warning says what this means for old cards
    # A new process gets a new key: its cards cannot be verified with the old one.
    assert load_signing_key(tmp_path, environ={}, backend=ring).key_id != key.key_id


def test_card_pdfs_carry_the_code_as_a_decodable_qr() -> None:
    key = SigningKey.generate()
    payload = codes.CardPayload(
        "idc_2",
        key.key_id,
        "NAIC 40117",
        "AUT-100234",
        "2T3P1RFV8MC123456",
        "2021 Toyota RAV4 XLE",
        date(2026, 9, 8),
        date(2027, 9, 8),
    )
    code = codes.sign_card(payload, key)
    face = CardFace(
        "AUT-100234",
        "Portal Mutual Insurance Company",
        "NAIC 40117",
        ["Alex Morgan", "Jamie Morgan"],
        "2021 Toyota RAV4 XLE",
        "2T3P1RFV8MC123456",
        date(2026, 9, 8),
        date(2027, 9, 8),
        code,
        "1-800-555-0123",
        "portal-mutual.example",
    )
    wallet, pages = wallet_pdf(face, issued_at=datetime(2026, 11, 23, tzinfo=UTC))
    count, text = pdf_text(wallet)
    assert count == pages == 2
    assert "AUT-100234" in text and "2T3P1RFV8MC123456" in text and "Alex Morgan, Jamie Morgan" in text
    assert qr_codes_on_page(wallet, 1) == [code]
    page, _ = page_pdf(face, issued_at=datetime(2026, 11, 23, tzinfo=UTC), time_zone="America/Chicago")
    assert qr_codes_on_page(page, 0) == [code]
    assert codes.read_code(qr_codes_on_page(page, 0)[0], key) == payload
