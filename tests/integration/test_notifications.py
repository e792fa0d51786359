"""Notifications end to end on SQLite and PostgreSQL, against a real SMTP server (aiosmtpd) and a
local HTTP endpoint standing in for the SMS provider: each type triggers, preferences and quiet
hours hold with a moved clock, retries back off, and every notice sent is on the audit trail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.actor import Actor
from services.audit import service as audit
from services.notifications.models import Notification, NotificationDelivery
from services.notifications.sender import NotificationSender
from tests.conftest import _database_url
from tests.notifications_support import SMS_TOKEN, Inbox, SmsEndpoint, move_to_local, sms_server, smtp_server
from tests.support import Service, running_service

ALEX = "alex.morgan@example.com"
JAMIE = "jamie.morgan@example.com"
PRIYA = "priya.shah@example.com"
AGENT = "agent@portal.example"
CHICAGO = "America/Chicago"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Service, Inbox, SmsEndpoint]]:
    """A fresh service wired to aiosmtpd and the SMS endpoint, its clock at noon in Chicago."""
    with smtp_server() as (smtp_url, inbox), sms_server() as (sms_url, sms):
        for url in _database_url(request.param, tmp_path):
            with running_service(
                url, tmp_path, smtp_url=smtp_url, sms_url=sms_url, sms_token=SMS_TOKEN
            ) as svc:
                move_to_local(svc.clock, CHICAGO, 12)
                yield svc, inbox, sms


def _send(svc: Service, **kw: Any) -> Any:
    rt = svc.container.extras["notifications"]
    sender: NotificationSender = rt.sender(**kw)  # type: ignore[attr-defined]
    return sender.run_once()


def _morgan(svc: Service) -> dict[str, Any]:
    account_id = svc.sql("SELECT account_id FROM account_holders WHERE email = :e", e=ALEX)[0][0]
    policies = svc.sql(
        "SELECT id, number, product_line FROM policies WHERE account_id = :a ORDER BY number", a=account_id
    )
    return {"account_id": account_id, "policies": {line: (pid, num) for pid, num, line in policies}}


def _record(svc: Service, action: str, entity_type: str, entity_id: str, after: dict[str, Any]) -> None:
    account_id = _morgan(svc)["account_id"]
    with svc.container.db.write() as session:
        audit.record(
            session,
            Actor.system("Test"),
            svc.container.clock,
            action=action,
            account_id=account_id,
            entity_type=entity_type,
            entity_id=entity_id,
            after=after,
        )


def _types(svc: Service, holder_email: str = ALEX) -> list[str]:
    return [
        r[0]
        for r in svc.sql(
            "SELECT n.type FROM notifications n JOIN account_holders h ON h.id = n.holder_id "
            "WHERE h.email = :e ORDER BY n.created_at",
            e=holder_email,
        )
    ]


def _deliveries(svc: Service, notice_type: str, channel: str) -> list[tuple[Any, ...]]:
    """(status, address, not_before as aware UTC, result) of each delivery, read through the ORM."""
    with svc.container.db.read() as session:
        rows = session.execute(
            select(NotificationDelivery)
            .join(Notification, Notification.id == NotificationDelivery.notification_id)
            .where(Notification.type == notice_type, NotificationDelivery.channel == channel)
        ).scalars()
        return [(d.status, d.address, d.not_before, d.result) for d in rows]


def test_each_type_triggers_and_reaches_every_channel(world: tuple[Service, Inbox, SmsEndpoint]) -> None:
    svc, inbox, sms = world
    m = _morgan(svc)
    auto_id, auto_no = m["policies"]["auto"]
    # Given the demo seed's notices (welcome, the open claim) are sent first
    _send(svc)
    seeded = len(inbox.snapshot())
    assert "Welcome to Portal, Alex" in inbox.subjects()

    # When a claim is filed through the API (the real trigger: the claim's own audit event)
    with svc.authed(ALEX) as alex:
        overview = alex.get(f"/accounts/{m['account_id']}").json()
        policy = next(p for p in overview["policies"] if p["product_line"] == "auto")
        vehicle = svc.sql(
            "SELECT year, make, model FROM policy_vehicles WHERE policy_id = :p", p=policy["id"]
        )[0]
        r = alex.post(
            "/claims",
            json={
                "account_id": m["account_id"],
                "policy_id": policy["id"],
                "loss_type": "collision",
                "loss_at": (svc.clock.now() - timedelta(days=1)).isoformat(),
                "location": "N Clark St & W Belmont Ave, Chicago",
                "description": "Rear-ended at a red light; bumper and tail light broken.",
                "vehicle": " ".join(map(str, vehicle)),
                "other_parties": "Grey Honda Civic, plate IL AB 1234",
                "police_report": "",
                "injuries": False,
            },
        )
        assert r.status_code == 201, r.text
        claim = r.json()
    # ... and the other domains' events happen (as their services write them)
    money = {"amount_minor": 12_345, "currency": "USD", "policy_number": auto_no}
    _record(svc, "payment.succeeded", "payment", "pay_1", {**money, "receipt_number": "RCT-1"})
    _record(svc, "payment.failed", "payment", "pay_2", {**money, "failure_code": "card_declined"})
    _record(
        svc,
        "autopay.reminder_sent",
        "installment",
        "ins_1",
        {**money, "due_date": "2026-12-01", "card": "visa 4242"},
    )
    _record(
        svc,
        "policy.pending_cancellation",
        "policy",
        auto_id,
        {"status": "pending_cancellation", "cancel_on": "2026-12-20", "amount_past_due_minor": 9_900},
    )
    _record(svc, "policy.cancelled_nonpayment", "policy", auto_id, {"reinstate_until": "2027-01-19"})
    _record(svc, "policy.reinstated", "policy", auto_id, {"status": "reinstated"})
    _record(svc, "policy.payment_day_changed", "policy", auto_id, {"payment_day": 15})
    _record(
        svc, "document.issued", "document", "doc_1", {"title": "Declarations page", "policy_number": auto_no}
    )
    _record(
        svc,
        "claim.status_changed",
        "claim",
        claim["id"],
        {"status": "info_requested", "number": claim["number"], "note": "a photo of the other car's plate"},
    )
    _record(
        svc, "case.responded", "case", "case_1", {"status": "in_progress", "message": "We refunded the fee."}
    )
    # ... and a customer's own viewing of documents (not news) and an internal note (not for them)
    with svc.container.db.write() as session:
        audit.record(
            session,
            Actor(user_id="usr_x", role="policyholder"),
            svc.container.clock,
            action="document.issued",
            account_id=m["account_id"],
            entity_type="document",
            entity_id="doc_2",
            after={"title": "ID card", "policy_number": auto_no},
        )
    with svc.container.db.write() as session:  # ... a document generated on first view
        audit.record(
            session,
            Actor.system("Document service"),
            svc.container.clock,
            action="document.issued",
            account_id=m["account_id"],
            entity_type="document",
            entity_id="doc_3",
            after={"title": "Declarations", "kind": "declarations", "policy_number": auto_no},
        )
    _record(svc, "case.note_added", "case", "case_1", {"message": "internal"})

    # Then each event queued its notice for both holders, in the same transaction
    expected = [
        "claim_received",
        "payment_received",
        "payment_failed",
        "autopay_upcoming",
        "pending_cancellation",
        "policy_cancelled",
        "policy_reinstated",
        "policy_changed",
        "document_ready",
        "claim_update",
        "case_update",
    ]
    new = _types(svc)[-len(expected) :]
    assert new == expected
    assert _types(svc, JAMIE)[-len(expected) :] == expected
    assert _types(svc).count("document_ready") == 1

    # When the sender runs
    stats = _send(svc)
    assert stats.failed == 0 and stats.retried == 0
    # Then email went over SMTP with plain text and branded HTML, texts to the SMS endpoint
    msgs = inbox.snapshot()[seeded:]
    subjects = [str(x["Subject"]) for x in msgs]
    assert f"Claim {claim['number']} received" in subjects
    assert "Payment of $123.45 did not go through" in subjects
    assert f"Policy {auto_no} will be cancelled on Sun 20 Dec 2026" in subjects
    assert f"More information needed for claim {claim['number']}" in subjects
    failed = next(x for x in msgs if "did not go through" in str(x["Subject"]))
    assert failed.is_multipart()
    plain = failed.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    html = failed.get_body(("html",)).get_content()  # type: ignore[attr-defined]
    assert "the card was declined" in plain and "What to do next" in plain
    assert "Portal Mutual Insurance Company" in html and "#0E2747" in html
    # the legally required notice goes by email even though it is marked so
    cancel = next(x for x in msgs if "will be cancelled" in str(x["Subject"]))
    assert "required by law" in cancel.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    texts = [s["body"] for s in sms.received]
    assert any(f"claim {claim['number']} received" in t for t in texts)
    assert any("failed (the card was declined)" in t for t in texts)
    assert all(s["to"] in ("+1 312 555 0142", "+1 312 555 0177") for s in sms.received)
    # And nothing is left to send; a second pass sends nothing again
    assert svc.sql("SELECT count(*) FROM notification_deliveries WHERE status = 'queued'")[0][0] == 0
    before = (len(inbox.snapshot()), len(sms.received))
    assert _send(svc).sent == 0
    assert (len(inbox.snapshot()), len(sms.received)) == before

    # And each notice sent is on the audit trail: what, to whom, which channel, when, result
    rows = svc.sql(
        "SELECT after, occurred_at, actor_role FROM audit_events WHERE action = 'notification.sent' "
        "AND account_id = :a",
        a=m["account_id"],
    )
    sent = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]
    emails = [s for s in sent if s["channel"] == "email" and s["type"] == "payment_failed"]
    assert {s["to"] for s in emails} == {ALEX, JAMIE}
    assert all(s["result"] == "accepted" and s["delivery_id"] for s in emails)
    assert {s["channel"] for s in sent} == {"in_app", "email", "sms"}
    assert all(r[2] == "system" for r in rows)


def test_date_based_notices_come_from_the_sweep_once(world: tuple[Service, Inbox, SmsEndpoint]) -> None:
    svc, inbox, _sms = world
    rt = svc.container.extras["notifications"]
    # Given Priya's next open installment, on a policy she pays by hand
    row = svc.sql(
        "SELECT i.id, i.due_date, p.time_zone, p.id FROM installments i "
        "JOIN policies p ON p.id = i.policy_id "
        "JOIN account_holders h ON h.account_id = p.account_id "
        "WHERE h.email = :e AND p.autopay_enabled = :f AND i.paid_minor < i.amount_minor "
        "AND i.due_date > :today ORDER BY i.due_date LIMIT 1",
        e=PRIYA,
        f=False,
        today=svc.clock.now().date() + timedelta(days=1),
    )[0]
    inst_id, due, tz, policy_id = row
    due = due if not isinstance(due, str) else __import__("datetime").date.fromisoformat(due)
    # When the clock reaches two days before it, at 10:00 where she lives
    days = (due - svc.clock.now().date()).days - 3
    move_to_local(svc.clock, tz, 10, days=max(days, 0))
    assert rt.sweep(force=True) >= 1  # type: ignore[attr-defined]
    assert rt.sweep(force=True) == 0  # type: ignore[attr-defined]
    # Then she is reminded once, with the amount and the date
    notes = svc.sql(
        "SELECT title, data FROM notifications WHERE type = 'payment_due' AND subject_id = :i", i=inst_id
    )
    assert len(notes) == 1 and "due" in notes[0][0]
    # And a pending cancellation gets a final warning before the date and a last chance after it
    account = svc.sql("SELECT account_id FROM policies WHERE id = :p", p=policy_id)[0][0]
    today = svc.clock.now().date()
    svc.sql(
        "INSERT INTO delinquencies (id, policy_id, account_id, installment_id, status, due_date, "
        "grace_ends_on, cancel_on, grace_started_at) VALUES ('dlq_t', :p, :a, :i, 'pending_cancellation', "
        ":d, :g, :c, :now)",
        p=policy_id,
        a=account,
        i=inst_id,
        d=today - timedelta(days=28),
        g=today - timedelta(days=18),
        c=today + timedelta(days=2),
        now=svc.clock.now(),
    )
    rt.sweep(force=True)  # type: ignore[attr-defined]
    svc.sql(
        "UPDATE delinquencies SET status = 'cancelled', cancel_on = :c, reinstate_until = :r "
        "WHERE id = 'dlq_t'",
        c=today - timedelta(days=8),
        r=today + timedelta(days=22),
    )
    rt.sweep(force=True)  # type: ignore[attr-defined]
    rt.sweep(force=True)  # type: ignore[attr-defined]
    stages = svc.sql(
        "SELECT title FROM notifications WHERE type = 'pending_cancellation' AND subject_id = :p "
        "ORDER BY created_at",
        p=policy_id,
    )
    assert [t[0].split(":")[0].split(" ")[0] for t in stages] == ["Final", "You"]
    _send(svc)
    assert any(s.startswith("Final notice: policy") for s in inbox.subjects())


def test_quiet_hours_hold_notices_until_morning(world: tuple[Service, Inbox, SmsEndpoint]) -> None:
    svc, inbox, sms = world
    _send(svc)  # the seed's notices
    sent_before = (len(inbox.snapshot()), len(sms.received))
    # Given it is 23:30 in Chicago
    move_to_local(svc.clock, CHICAGO, 23, 30)
    # When a payment fails
    _record(
        svc,
        "payment.failed",
        "payment",
        "pay_night",
        {"amount_minor": 5_000, "currency": "USD", "policy_number": "X", "failure_code": "expired_card"},
    )
    stats = _send(svc)
    # Then the in-app notice is there at once, but no email or text goes out at night
    assert stats.by_channel.get("in_app") == 2 and "email" not in stats.by_channel
    assert (len(inbox.snapshot()), len(sms.received)) == sent_before
    for status, _address, not_before, _result in _deliveries(svc, "payment_failed", "email"):
        assert status == "queued"
        assert 8 <= not_before.astimezone(ZoneInfo(CHICAGO)).hour < 10
    # When it is 07:55 nothing yet; at 10:05 the morning's queue goes
    move_to_local(svc.clock, CHICAGO, 7, 55)
    assert _send(svc).sent == 0
    move_to_local(svc.clock, CHICAGO, 10, 5)
    stats = _send(svc)
    assert stats.by_channel == {"email": 2, "sms": 2}
    assert "Payment of $50.00 did not go through" in inbox.subjects()


def test_preferences_are_respected_and_required_notices_cannot_be_switched_off(
    world: tuple[Service, Inbox, SmsEndpoint],
) -> None:
    svc, inbox, sms = world
    _send(svc)
    with svc.authed(ALEX) as alex:
        prefs = alex.get("/notifications/preferences").json()
        by_type = {t["type"]: t for t in prefs["types"]}
        assert by_type["pending_cancellation"]["required"] is True
        assert by_type["pending_cancellation"]["channels"]["email"] == {"enabled": True, "locked": True}
        assert prefs["quiet_hours"] == {"start": "21:00", "end": "08:00"} and prefs["time_zone"] == CHICAGO
        # When Alex switches texts off for payment failures and email on for them stays
        r = alex.put(
            "/notifications/preferences",
            json={"changes": [{"type": "payment_failed", "channel": "sms", "enabled": False}]},
        )
        assert r.status_code == 200
        assert {t["type"]: t for t in r.json()["types"]}["payment_failed"]["channels"]["sms"][
            "enabled"
        ] is False
        # Then switching off a legally required notice is refused, and nothing is half-written
        events = svc.sql(
            "SELECT count(*) FROM audit_events WHERE action = 'notification.preferences_changed'"
        )
        r = alex.put(
            "/notifications/preferences",
            json={
                "changes": [
                    {"type": "welcome", "channel": "email", "enabled": False},
                    {"type": "policy_cancelled", "channel": "email", "enabled": False},
                ]
            },
        )
        assert r.status_code == 422 and r.json()["code"] == "notification.required"
        assert svc.sql("SELECT count(*) FROM notification_preferences WHERE type = 'welcome'")[0][0] == 0
        assert (
            svc.sql("SELECT count(*) FROM audit_events WHERE action = 'notification.preferences_changed'")
            == events
        )
        for bad, code in [
            ({"type": "nope", "channel": "sms", "enabled": False}, "notification.unknown_type"),
            ({"type": "welcome", "channel": "pigeon", "enabled": True}, "notification.unknown_channel"),
        ]:
            r = alex.put("/notifications/preferences", json={"changes": [bad]})
            assert (r.status_code, r.json()["code"]) == (422, code)
        assert alex.put("/notifications/preferences", json={"changes": [], "x": 1}).status_code == 422
    with svc.authed(AGENT) as agent:
        r = agent.get("/notifications/preferences")
        assert (r.status_code, r.json()["code"]) == (403, "notification.customers_only")
    # When a payment fails
    _record(
        svc,
        "payment.failed",
        "payment",
        "pay_pref",
        {"amount_minor": 100, "currency": "USD", "policy_number": "X", "failure_code": "card_declined"},
    )
    _send(svc)
    # Then Alex gets no text but Jamie (who kept the default) does; both get the email
    assert [s["to"] for s in sms.received if "$1.00" in s["body"]] == ["+1 312 555 0177"]
    to = [str(x["To"]) for x in inbox.snapshot() if "$1.00" in str(x["Subject"])]
    assert sorted(to) == sorted([f"Alex Morgan <{ALEX}>", f"Jamie Morgan <{JAMIE}>"])
    # And a change made after a notice was queued still counts when it is sent
    move_to_local(svc.clock, CHICAGO, 22)
    _record(
        svc,
        "payment.failed",
        "payment",
        "pay_pref2",
        {"amount_minor": 200, "currency": "USD", "policy_number": "X", "failure_code": "card_declined"},
    )
    with svc.authed(JAMIE) as jamie:
        r = jamie.put(
            "/notifications/preferences",
            json={"changes": [{"type": "payment_failed", "channel": "sms", "enabled": False}]},
        )
        assert r.status_code == 200
    move_to_local(svc.clock, CHICAGO, 11)
    _send(svc)
    assert not [s for s in sms.received if "$2.00" in s["body"]]
    assert svc.sql("SELECT count(*) FROM notification_deliveries WHERE result = 'preference_off'")[0][0] == 1


def test_the_notification_centre_lists_and_marks_read(world: tuple[Service, Inbox, SmsEndpoint]) -> None:
    svc, _inbox, _sms = world
    with svc.authed(ALEX) as alex, svc.authed(PRIYA) as priya:
        listing = alex.get("/notifications").json()
        assert listing["unread"] == len(listing["notifications"]) >= 2
        first = listing["notifications"][0]["id"]
        # Another customer's notice cannot be marked, nor seen
        r = priya.post("/notifications/read", json={"ids": [first]})
        assert (r.status_code, r.json()["code"]) == (404, "notification.not_found")
        assert first not in [n["id"] for n in priya.get("/notifications").json()["notifications"]]
        r = alex.post("/notifications/read", json={"ids": [first]})
        assert r.json() == {"marked": 1, "unread": listing["unread"] - 1}
        r = alex.post("/notifications/read", json={})
        assert r.json()["unread"] == 0
        assert alex.get("/notifications").json()["unread"] == 0
        assert svc.sql("SELECT count(*) FROM audit_events WHERE action = 'notification.read'")[0][0] == 2
        # Jamie's copies stay unread: each holder has their own
        with svc.authed(JAMIE) as jamie:
            assert jamie.get("/notifications").json()["unread"] >= 2
    with svc.authed(AGENT) as agent:
        account = _morgan(svc)["account_id"]
        _send(svc)
        rows = agent.get(f"/accounts/{account}/notifications/deliveries").json()["deliveries"]
        assert {r["channel"] for r in rows} >= {"in_app", "email"} and all(
            r["status"] == "sent" for r in rows
        )
        with svc.authed(ALEX) as alex:
            r = alex.get(f"/accounts/{account}/notifications/deliveries")
            assert r.status_code == 403


def test_failures_are_retried_with_backoff_and_then_given_up(
    world: tuple[Service, Inbox, SmsEndpoint],
) -> None:
    svc, _inbox, sms = world
    _send(svc)
    # Given the SMS provider is down for two tries
    sms.fail_next = 2
    _record(
        svc,
        "payment.failed",
        "payment",
        "pay_retry",
        {"amount_minor": 700, "currency": "USD", "policy_number": "X", "failure_code": "card_declined"},
    )
    stats = _send(svc)
    assert stats.retried == 2 and stats.by_channel.get("sms") is None
    rows = _deliveries(svc, "payment_failed", "sms")
    assert all(r[0] == "queued" for r in rows)
    # Then it is not tried again before the backoff runs out (60 s after the first attempt)
    assert _send(svc).sent == 0
    svc.clock.advance(timedelta(seconds=61))
    assert _send(svc).by_channel == {"sms": 2}
    assert len([s for s in sms.received if "$7.00" in s["body"]]) == 2
    # And a provider that refuses outright (401: a bad token) fails for good, on the audit trail
    svc.sql("UPDATE notification_deliveries SET status = 'queued', attempts = 0 WHERE channel = 'sms'")
    rt = svc.container.extras["notifications"]
    from services.notifications.adapters import HttpSmsProvider

    sender = NotificationSender(
        svc.container.db,
        svc.clock,
        rt.mailer(),
        HttpSmsProvider(rt.settings.sms_url, "wrong"),  # type: ignore[attr-defined]
    )
    stats = sender.run_once()
    assert stats.failed > 0
    assert (
        svc.sql("SELECT count(*) FROM audit_events WHERE action = 'notification.failed'")[0][0]
        == stats.failed
    )


def test_large_batches_are_spread_over_minutes(world: tuple[Service, Inbox, SmsEndpoint]) -> None:
    svc, inbox, _sms = world
    _send(svc)
    svc.clock.advance(timedelta(seconds=61))  # the seed's emails no longer count against the minute
    for i in range(6):
        _record(svc, "case.responded", "case", f"case_{i}", {"message": f"reply {i}"})
    # 6 notices x 2 holders = 12 emails; 5 may leave per minute
    rt = svc.container.extras["notifications"]
    sender = NotificationSender(
        svc.container.db,
        svc.clock,
        rt.mailer(),  # type: ignore[attr-defined]
        rt.sms(),  # type: ignore[attr-defined]
        per_minute=5,
        sender_address="notices@portal.example",
    )
    start = len(inbox.snapshot())
    assert sender.run_once().by_channel.get("email") == 5
    assert sender.run_once().sent == 0
    svc.clock.advance(timedelta(seconds=61))
    assert sender.run_once().by_channel.get("email") == 5
    svc.clock.advance(timedelta(seconds=61))
    assert sender.run_once().by_channel.get("email") == 2
    assert len(inbox.snapshot()) - start == 12


def test_embedded_default_keeps_texts_in_a_local_outbox_staff_can_read(tmp_path: Path) -> None:
    with running_service(f"sqlite:///{tmp_path / 'p.sqlite3'}", tmp_path) as svc:
        move_to_local(svc.clock, CHICAGO, 12)
        _record(svc, "claim.status_changed", "claim", "clm_x", {"status": "approved", "number": "CLM-1"})
        _send(svc)
        # Emails land as .eml files in the data dir; texts in the local outbox
        files = list((tmp_path / "mail-outbox").glob("*.eml"))
        assert any("Claim CLM-1 approved" in f.read_text() for f in files)
        with svc.authed(AGENT) as agent:
            texts = agent.get("/notifications/sms-outbox").json()["messages"]
            assert any("CLM-1" in t["body"] for t in texts)
        with svc.authed(ALEX) as alex:
            assert alex.get("/notifications/sms-outbox").status_code == 403
        # Sending the same text again (a resend after a crash) keeps one copy
        rt = svc.container.extras["notifications"]
        outbox = rt.sms()  # type: ignore[attr-defined]
        ref = svc.sql("SELECT reference FROM local_sms_outbox LIMIT 1")[0][0]
        outbox.send(to="+1", body="again", reference=ref, account_id=None)
        assert svc.sql("SELECT count(*) FROM local_sms_outbox WHERE reference = :r", r=ref)[0][0] == 1
