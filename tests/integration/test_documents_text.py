"""Every document type, made from the demo world through the real service, reads back as meant.

The Shah household holds the demo's hard text: a co-holder and driver "Zoë Ångström-Núñez" with an
address on "Rue de l'Église", a driver with a long name, and a dispute written with curly quotes
and a euro sign. Each PDF (declarations, policy wording, billing statement, ID card page and
wallet card, payment receipt, evidence record) is read back with pypdf and with poppler's
pdftotext: the text must be there character for character, with no U+FFFD and no stray "Â" (the
mark of UTF-8 bytes read as Latin-1), every font embedded, and the metadata set.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections.abc import Iterator
from datetime import UTC, timedelta

import pytest

from services.payments.localstripe import LocalStripe
from services.pdf import PRODUCER
from tests.payments_support import PRIYA, account_id, add_card, client, pay, payments_service, policy, view
from tests.pdf_support import pdf_fonts, pdf_metadata, pdf_text, pdftotext
from tests.support import Service

AGENT = "agent@portal.example"
ZOE = "Zoë Ångström-Núñez"
LONG_NAME = "Maximiliano Sebastián Ångström-Núñez de la Villa-Fuentes"

# What each document must say, beyond its title: the non-ASCII text it carries.
EXPECTED: dict[str, list[str]] = {
    "declarations": [
        "Declarations page",
        "AUT-100877",
        f"Priya Shah, {ZOE}",
        LONG_NAME,
        "Personal auto — Active",
        "Portal Mutual Insurance Company ·",
    ],
    "policy_wording": ["Policy wording", "AUT-100877", "Page 1 of"],
    "billing_statement": ["Policy AUT-100877 ·", "REMAINING BALANCE", "Page 1 of 1"],
    "id_card": [f"Priya Shah, {ZOE} hold auto insurance", "2019 Subaru Outback Premium", "Page 1 of 1"],
    "id_card_wallet": [f"Priya Shah, {ZOE}", "AUTO INSURANCE ID CARD · NAIC 40117", "Code "],
    "receipt": ["Payment receipt", "Payment received — thank you", "Visa ending 4242", "Priya Shah"],
    "evidence": [
        "Evidence record",
        "Shah household",
        f"Priya Shah, {ZOE}",
        f"{ZOE} was added to the account as a policyholder.",
        "“My renters payment shows as “unpaid””",
        "Case · Raised dispute",
        "Priya Shah (policyholder), in the Portal app",
        "“python verify_pack.py .”",
    ],
}


def _flat(text: str) -> str:
    """Whitespace folded (lines wrap anywhere) and NFC, so "ë" compares equal however it was split."""
    return unicodedata.normalize("NFC", " ".join(text.split()))


@pytest.fixture(scope="module")
def documents(
    tmp_path_factory: pytest.TempPathFactory, localstripe: LocalStripe
) -> Iterator[dict[str, bytes]]:
    """Each document type once, as the service serves it to Priya (and the evidence pack to an agent)."""
    folder = tmp_path_factory.mktemp("documents-text")
    with payments_service(f"sqlite:///{folder / 'portal.sqlite3'}", folder, localstripe) as svc:
        yield _collect(svc, localstripe)


def _collect(svc: Service, localstripe: LocalStripe) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    with client(svc, PRIYA) as priya:
        account = account_id(priya)
        listed = priya.get(f"/accounts/{account}/documents")
        assert listed.status_code == 200, listed.text
        for d in listed.json()["documents"]:
            if d["policy_number"] == "AUT-100877" and d["kind"] not in out:
                r = priya.get(f"/documents/{d['id']}/content")
                assert r.status_code == 200, r.text
                out[d["kind"]] = r.content
        # A real payment on localstripe, then its receipt.
        card = add_card(priya, account, localstripe.url)
        renters = policy(view(priya, account), "REN")
        paid = pay(priya, renters["policy_id"], card["id"], None)
        assert paid.status_code == 201, paid.text
        receipt = priya.get(f"/payments/{paid.json()['id']}/receipt.pdf")
        assert receipt.status_code == 200, receipt.text
        out["receipt"] = receipt.content
    with client(svc, AGENT) as agent:
        r = agent.get(f"/staff/accounts/{account}/evidence")
        assert r.status_code == 200, r.text
        with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
            (name,) = [n for n in zf.namelist() if n.endswith("/evidence.pdf")]
            out["evidence"] = zf.read(name)
    return out


def test_every_document_type_was_made(documents: dict[str, bytes]) -> None:
    assert set(documents) == set(EXPECTED)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_text_reads_back_as_meant(documents: dict[str, bytes], kind: str) -> None:
    content = documents[kind]
    _, text = pdf_text(content)
    readings = {"pypdf": text}
    poppler = pdftotext(content)
    if poppler is not None:  # scripts/ensure-system-deps.sh installs poppler-utils
        readings["pdftotext"] = poppler
    for tool, raw in readings.items():
        flat = _flat(raw)
        missing = [want for want in EXPECTED[kind] if _flat(want) not in flat]
        assert not missing, f"{tool} did not find {missing} in the {kind} PDF:\n{flat[:3000]}"
        assert "\ufffd" not in raw, f"{tool}: replacement character in the {kind} PDF"
        assert "Â" not in raw and "â€" not in raw, f"{tool}: mis-encoded text in the {kind} PDF"


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_every_font_is_embedded_and_metadata_is_set(documents: dict[str, bytes], kind: str) -> None:
    content = documents[kind]
    fonts = pdf_fonts(content)
    assert fonts, f"no fonts found in the {kind} PDF"
    assert [f for f in fonts if not f.embedded] == [], f"unembedded fonts in the {kind} PDF"
    assert all("DejaVu" in f.name for f in fonts), [f.name for f in fonts]
    meta = pdf_metadata(content)
    assert meta["title"] and meta["subject"] and meta["author"] == "Portal Mutual Insurance Company"
    assert meta["producer"] == PRODUCER
    created = meta["created"]
    assert created is not None and created.utcoffset() == timedelta(0)
    # The creation date is when the document was issued (the service's clock), not a fixed stamp.
    assert created.astimezone(UTC).year >= 2026
