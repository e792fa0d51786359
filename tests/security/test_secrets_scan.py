"""After a realistic session (sign-ins, a wrong password, refreshes, a card payment, a claim photo,
a case, staff at work) nothing secret is in the logs, any text column of any table, or the trail.

Looked for: every access and refresh token issued, every password typed, card numbers (the test
card itself and any Luhn-valid 13-19 digit run with a card prefix) and Stripe secret keys.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import String, Text, inspect, select
from sqlalchemy.types import JSON

from services.db.base import Base
from services.demo import DEMO_PASSWORD
from services.payments.localstripe import LocalStripe
from services.payments.runtime import LOCAL_SECRET_KEY
from tests.conftest import BACKENDS, _database_url
from tests.payments_support import VISA, WEBHOOK_SECRET, payments_service
from tests.security import world as w
from tests.support import Service

WRONG_PASSWORD = "Correct-Horse-Battery-9"  # typed by mistake: must not be kept anywhere
PAN = re.compile(r"(?<![0-9A-Za-z])[3456](?:[ -]?\d){12,18}(?![0-9A-Za-z])")
STRIPE_SECRET = re.compile(r"\b(?:sk|rk)_(?:test|live)_[0-9A-Za-z_]{6,}|\bwhsec_[0-9A-Za-z_]{6,}")


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def card_numbers(text: str) -> list[str]:
    found = []
    for m in PAN.finditer(text):
        digits = re.sub(r"[ -]", "", m.group())
        if 13 <= len(digits) <= 19 and luhn(digits):
            found.append(digits)
    return found


@pytest.fixture(params=BACKENDS)
def logged(
    request: pytest.FixtureRequest, tmp_path: Path, localstripe: LocalStripe
) -> Iterator[tuple[Service, Path]]:
    """A service whose every log record (DEBUG and up, any logger) goes to a file."""
    log_file = tmp_path / "service.log"
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        for url in _database_url(request.param, tmp_path):
            with payments_service(url, tmp_path, localstripe) as svc:
                yield svc, log_file
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


def test_no_token_password_card_or_stripe_key_in_logs_database_or_trail(
    logged: tuple[Service, Path], localstripe: LocalStripe
) -> None:
    svc, log_file = logged
    secrets_seen: set[str] = {DEMO_PASSWORD, WRONG_PASSWORD, LOCAL_SECRET_KEY, WEBHOOK_SECRET}
    # Given a session like a real day's: every role signs in, someone mistypes a password,
    # tokens are refreshed, and the world builder pays by card, files a claim with a photo,
    # opens a complaint with an attachment, and staff open accounts.
    with svc.http() as c:
        assert c.post("/auth/sign-in", json={"email": w.ALEX, "password": WRONG_PASSWORD}).status_code == 401
        bad = c.post("/auth/sign-in", json={"email": w.ALEX, "password": f"{VISA}"})
        assert bad.status_code == 401  # a card number typed into the password box
    for email in (w.ALEX, w.JAMIE, w.PRIYA, w.AGENT, w.BRANCH, w.SUPERVISOR, w.ADMIN):
        pair = svc.sign_in(email)
        secrets_seen |= {pair["access_token"], pair["refresh_token"]}
        with svc.http() as c:
            fresh = c.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}).json()
            secrets_seen |= {fresh["access_token"], fresh["refresh_token"]}
    world = w.build_world(svc, localstripe)
    with svc.authed(w.AGENT) as agent:
        for household in world.households.values():
            assert agent.get(f"/accounts/{household.ids['account_id']}").status_code == 200
    # A card number sent where it must never go is refused, and not kept either
    with svc.authed(w.ALEX) as alex:
        morgan = world.households["morgan"]
        refused = alex.post(
            f"/policies/{morgan.ids['policy_id']}/payments",
            json={"payment_method_id": VISA, "request_key": "card-in-the-wrong-field"},
        )
        assert refused.status_code == 422 and refused.json()["code"] == "payment.card_data_refused"

    # When we read back everything the service kept
    logs = log_file.read_text(errors="replace")
    assert "sign" in logs.lower() or "http" in logs.lower(), "the log capture did not work"
    texts: list[tuple[str, str]] = [("log file", logs)]
    engine = svc.container.db.engine
    present = set(inspect(engine).get_table_names())
    columns_scanned = 0
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name not in present:
                continue
            cols = [col for col in table.columns if isinstance(col.type, String | Text | JSON)]
            if not cols:
                continue
            columns_scanned += len(cols)
            for row in conn.execute(select(*cols)):
                for col, value in zip(cols, row, strict=True):
                    if value is not None:
                        texts.append((f"{table.name}.{col.name}", str(value)))
    trail = [t for where, t in texts if where.startswith("audit_events.")]

    # Then none of them holds a token, a password, a card number or a Stripe secret
    found: list[str] = []
    for where, text in texts:
        found += [f"{where}: a secret ({s[:12]}...)" for s in secrets_seen if s in text]
        found += [f"{where}: card number {p[:6]}..." for p in card_numbers(text)]
        found += [f"{where}: Stripe secret {k[:10]}..." for k in STRIPE_SECRET.findall(text)]
    print(
        f"\nscanned {len(logs.splitlines())} log lines, {columns_scanned} text columns "
        f"({len(texts) - 1} values, {len(trail)} from the audit trail) for {len(secrets_seen)} "
        f"tokens/passwords/keys, card numbers and Stripe keys: {len(found)} found"
    )
    assert len(trail) > 100 and columns_scanned > 50
    assert not found, "\n".join(sorted(set(found)))


def test_the_scanner_finds_what_it_looks_for() -> None:
    # A scan that can never fire proves nothing: it must see a test card, spaced or not,
    # and leave alone ids, hashes and timestamps.
    assert card_numbers(f"card {VISA} end") == [VISA]
    assert card_numbers("4242 4242 4242 4242") == [VISA]
    assert card_numbers("pm_1a4242424242424242x ts 1763866000000 sha 4242424242424241") == []
    assert STRIPE_SECRET.findall("key=sk_test_abcdef123 and whsec_abcdef99")
