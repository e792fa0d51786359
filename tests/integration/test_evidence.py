"""Evidence packs and dispute answers on SQLite and PostgreSQL, with real payments on localstripe."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from services.audit.verify_pack import verify
from services.payments.localstripe import LocalStripe
from tests.conftest import _database_url
from tests.payments_support import (
    ALEX,
    DECLINE_AT_CHARGE,
    PRIYA,
    account_id,
    add_card,
    client,
    pay,
    payments_service,
    policy,
    run_jobs,
    view,
)
from tests.support import Service

AGENT = "agent@portal.example"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def svc(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, localstripe: LocalStripe
) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("evidence")
    for url in _database_url(request.param, folder):
        with payments_service(url, folder, localstripe) as s:
            yield s


def _export(svc: Service, tmp: Path, account: str, **params: str) -> Path:
    with svc.authed(AGENT) as agent:
        r = agent.get(f"/staff/accounts/{account}/evidence", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        zf.extractall(tmp)
    (folder,) = tmp.iterdir()
    return folder


def _morgan(svc: Service) -> str:
    return svc.sql("SELECT id FROM accounts WHERE name='Morgan household'")[0][0]


def test_pack_verifies_standalone_and_fails_after_any_byte_changes(svc: Service, tmp_path: Path) -> None:
    pack = _export(svc, tmp_path / "zip", _morgan(svc))
    names = {p.name for p in pack.iterdir()}
    assert {"evidence.pdf", "events.json", "checkpoints.json", "public_key.json", "verify_pack.py"} <= names
    # The verifier copied into the pack runs on the pack alone: isolated Python (-I: no Portal on
    # the path), in a folder of its own, with only the cryptography package.
    alone = tmp_path / "alone"
    shutil.copytree(pack, alone)
    run = subprocess.run(
        [sys.executable, "-I", "verify_pack.py", "."], cwd=alone, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "VERIFIED" in run.stdout
    # The public key in the pack is the one the service publishes.
    published = svc.http().get("/audit/public-key").json()
    assert json.loads((pack / "public_key.json").read_text())["public_key"] == published["public_key"]
    assert verify(alone, published["public_key"])[0] == []
    # Any single byte of events.json changed (start, middle, end, inside a hash): the pack fails.
    original = (pack / "events.json").read_bytes()
    hash_at = original.index(b'"hash": "') + 12
    for offset in (0, len(original) // 3, len(original) // 2, hash_at, len(original) - 2):
        tampered = bytearray(original)
        tampered[offset] = (tampered[offset] + 1) % 256 or 1
        (alone / "events.json").write_bytes(bytes(tampered))
        problems, _ = verify(alone)
        assert problems, f"byte {offset} changed but the pack still verified"
    (alone / "events.json").write_bytes(original)
    assert verify(alone)[0] == []
    # A different key (someone else's, or a forged public_key.json) does not verify it either.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    other = base64.b64encode(
        Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ).decode()
    assert verify(alone, other)[0]


def test_pack_catches_a_rewritten_trail_that_re_signs_the_manifest(svc: Service, tmp_path: Path) -> None:
    # Someone rebuilds events.json consistently (new hashes, new manifest) but cannot sign.
    from services.audit.verify_pack import event_hash

    pack = _export(svc, tmp_path / "zip", _morgan(svc))
    doc = json.loads((pack / "events.json").read_text())
    doc["events"][0]["action"] = "payment.succeeded"
    prev = doc["events"][0]["prev_hash"]
    for e in doc["events"]:
        e["prev_hash"] = prev
        e["hash"] = prev = event_hash(e)
    (pack / "events.json").write_text(json.dumps(doc))
    problems, _ = verify(pack)
    assert any("events.json was changed" in p for p in problems)
    assert any("differs from what was sealed" in p for p in problems)


def test_pdf_tells_the_story_with_utc_and_local_times(svc: Service, tmp_path: Path) -> None:
    pack = _export(svc, tmp_path / "zip", _morgan(svc))
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pack / "evidence.pdf").pages).split())
    assert "Evidence record" in text and "Morgan household" in text
    assert "CST" in text or "CDT" in text  # the policy's local time, zone named
    assert "Raised complaint" in text and "Alex Morgan (policyholder), in the Portal app" in text
    assert "call-centre agent, for the customer, by phone" in text
    assert "Exported an evidence pack" in text
    events = json.loads((pack / "events.json").read_text())["events"]
    assert events[-1]["action"] == "evidence.exported"


def test_period_export_carries_the_period_and_the_link_to_the_seal(svc: Service, tmp_path: Path) -> None:
    today = svc.clock.now().astimezone(ZoneInfo("America/Chicago")).date()  # the policy's local day
    pack = _export(
        svc, tmp_path / "zip", _morgan(svc), **{"from": str(today), "to": str(today + timedelta(days=1))}
    )
    doc = json.loads((pack / "events.json").read_text())
    assert doc["period"]["from"] == str(today) and doc["period"]["time_zone"] == "America/Chicago"
    assert all(e["in_period"] for e in doc["events"])
    # Nothing in a period long past: a clear refusal, not an empty pack.
    with svc.authed(AGENT) as agent:
        r = agent.get(
            f"/staff/accounts/{_morgan(svc)}/evidence", params={"from": "2020-01-01", "to": "2020-01-31"}
        )
    assert r.status_code == 422 and r.json()["code"] == "evidence.no_events"
    assert verify(pack)[0] == []


def test_only_staff_export_and_a_refusal_writes_nothing(svc: Service) -> None:
    morgan = _morgan(svc)
    for email in (ALEX, "branch@portal.example"):
        with svc.authed(email) as c:
            before = svc.sql("SELECT COUNT(*) FROM audit_events WHERE action='evidence.exported'")[0][0]
            r = c.get(f"/staff/accounts/{morgan}/evidence")
            assert r.status_code == 403 and r.json()["code"] == "evidence.staff_only"
            after = svc.sql("SELECT COUNT(*) FROM audit_events WHERE action='evidence.exported'")[0][0]
            assert after == before
    with svc.authed(AGENT) as agent:
        r = agent.get("/staff/accounts/acc_nobody/evidence")
        assert r.status_code == 404


def test_cli_export_and_verify_pack(svc: Service, tmp_path: Path) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    env = {**os.environ, "PORTAL_AUDIT_SIGNING_KEY": key, "PORTAL_DATA_DIR": str(tmp_path)}
    url = str(svc.container.db.engine.url.render_as_string(hide_password=False))
    out = tmp_path / "pack"
    cli = [sys.executable, "-m", "portal_app.cli", "audit"]
    run = subprocess.run(
        [*cli, "export", "--database-url", url, "--account", _morgan(svc), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "evidence pack for" in run.stdout
    check = subprocess.run(
        [*cli, "verify-pack", str(out)], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert check.returncode == 0 and "VERIFIED" in check.stdout, check.stdout
    (out / "evidence.pdf").write_bytes((out / "evidence.pdf").read_bytes() + b"%")
    check = subprocess.run(
        [*cli, "verify-pack", str(out)], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert check.returncode == 1 and "evidence.pdf was changed" in check.stdout
    # Without a key the CLI refuses to make a pack nobody could trust.
    env.pop("PORTAL_AUDIT_SIGNING_KEY")
    run = subprocess.run(
        [*cli, "export", "--database-url", url, "--account", _morgan(svc), "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert run.returncode == 2 and "no audit signing key" in run.stderr


# --- dispute answers ---------------------------------------------------------------------------


def test_cancellation_answer_lists_attempts_sign_ins_and_notices_in_order(
    svc: Service, localstripe: LocalStripe
) -> None:
    with client(svc, PRIYA) as priya:
        acc = account_id(priya)
        renters = policy(view(priya, acc), "REN")
        late = next(i for i in renters["installments"] if i["status"] == "past_due")
        due = date.fromisoformat(late["due_date"])
        # Given Priya tried to pay with a card that declines...
        bad = add_card(priya, acc, localstripe.url, DECLINE_AT_CHARGE)
        assert pay(priya, renters["policy_id"], bad["id"], late["amount_minor"]).status_code == 402

        def to_day(n: int) -> None:
            now = date.fromisoformat(policy(view(priya, acc), "REN")["today"])
            svc.clock.advance(timedelta(days=max((due + timedelta(days=n) - now).days, 0)))
            run_jobs(svc)

        to_day(max(11, (date.fromisoformat(renters["today"]) - due).days))
        to_day(30)
        assert policy(view(priya, acc), "REN")["status"] == "cancelled"
    # ...when an agent asks "did she try to pay before we cancelled?"...
    with svc.authed(AGENT) as agent:
        r = agent.get(f"/staff/policies/{renters['policy_id']}/disputes/cancellation")
        with svc.authed(PRIYA) as own:
            refused = own.get(f"/staff/policies/{renters['policy_id']}/disputes/cancellation")
    assert refused.status_code == 403 and refused.json()["code"] == "dispute.staff_only"
    assert r.status_code == 200, r.text
    answer = r.json()
    # ...then the answer shows the attempt, the sign-ins and the notices, oldest first.
    assert answer["applies"] and answer["due_date"] == due.isoformat()
    actions = [e["action"] for e in answer["events"]]
    assert "payment.failed" in actions and "auth.signed_in" in actions
    assert actions.index("payment.failed") < actions.index("policy.cancelled_nonpayment")
    assert actions[-1] == "policy.cancelled_nonpayment"
    assert answer["payment_attempts"] >= 2 and not answer["succeeded_before_cancellation"]
    seqs = [e["seq"] for e in answer["events"]]
    assert seqs == sorted(seqs)
    first = answer["events"][0]
    assert first["local_time"] and first["who"] and first["what"]


def test_double_charge_answer_lists_every_charge_with_stripe_ids(
    svc: Service, localstripe: LocalStripe
) -> None:
    with client(svc, ALEX) as alex:
        acc = account_id(alex)
        card = add_card(alex, acc, localstripe.url)
        home = policy(view(alex, acc), "HOM")
        for _ in range(2):
            assert pay(alex, home["policy_id"], card["id"], 1_000).status_code == 201
    with svc.authed(AGENT) as agent:
        answer = agent.get(f"/staff/policies/{home['policy_id']}/disputes/charges").json()
        bad = agent.get(
            f"/staff/policies/{home['policy_id']}/disputes/charges",
            params={"from": "2026-12-01", "to": "2026-01-01"},
        )
    assert bad.status_code == 422 and bad.json()["code"] == "dispute.period_invalid"
    succeeded = [c for c in answer["charges"] if c["status"] == "succeeded"]
    assert len(succeeded) >= 2 and answer["succeeded_count"] == len(succeeded)
    assert all(c["stripe_payment_intent_id"].startswith("pi_") for c in succeeded)
    assert answer["charged_minor"] == sum(c["amount_minor"] for c in succeeded)


def test_charges_answer_counts_every_installment_the_customer_sees_as_paid(svc: Service) -> None:
    # Given the Morgans' auto policy, whose earlier installments were paid before Portal (the
    # seed records them as paid, with no card charge), as the Payments page shows them
    with client(svc, ALEX) as alex:
        auto = policy(view(alex, account_id(alex)), "AUT")
    window_from = (date.today() - timedelta(days=60)).isoformat()
    paid = [
        i
        for i in auto["installments"]
        if i["status"] == "paid" and i["paid_at"] and i["paid_at"][:10] >= window_from
    ]
    assert paid, "the demo auto policy should have an installment paid in the last 60 days"
    # When an agent asks whether the customer was charged twice in that period
    with svc.authed(AGENT) as agent:
        answer = agent.get(
            f"/staff/policies/{auto['policy_id']}/disputes/charges", params={"from": window_from}
        ).json()
    # Then every installment shown as Paid is in the answer, paid by a charge or as recorded money
    covered = {i for c in answer["charges"] if c["status"] == "succeeded" for i in c["installments"]}
    assert {i["id"] for i in paid} <= covered
    recorded = [c for c in answer["charges"] if c["kind"] == "recorded"]
    assert recorded and all(c["stripe_payment_intent_id"] is None for c in recorded)
    assert answer["succeeded_count"] >= len(paid) > 0
    assert answer["recorded_count"] == len(recorded)
    assert answer["charged_minor"] == sum(
        c["amount_minor"] for c in answer["charges"] if c["status"] == "succeeded"
    )
    # And nothing is flagged as taken twice: each was paid once
    assert not set(answer["possible_duplicates"]) & {c["payment_id"] for c in recorded}
