"""The crash test: a sender killed with SIGKILL mid-batch, again and again, sends nothing twice
and loses nothing; counted on what aiosmtpd and the SMS endpoint received.

Email over SMTP is at most once by design (see services/notifications/adapters.SmtpMailer): the
one step where a kill can lose a message is between committing "handed over" and writing the
end-of-data line. The exact-step tests below kill the sender on each side of that line."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from services.bootstrap import build
from services.clock import SystemClock
from services.config import ServiceSettings
from services.db.database import make_engine
from services.notifications.models import Notification, NotificationDelivery
from services.notifications.service import queue_notice
from services.runtime import prepare
from tests.conftest import BACKENDS, _database_url
from tests.notifications_support import SMS_TOKEN, Inbox, SmsEndpoint, daytime_zone, sms_server, smtp_server

NOTICES = 20  # per holder: x2 holders x3 channels = 120 deliveries
KILLS = 6


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _database_url(request.param, tmp_path)


def _queue(database: str, tmp_path: Path, smtp_url: str, sms_url: str, count: int) -> list[str]:
    """A seeded world plus `count` claim updates for the Morgans, due now in a daytime zone."""
    settings = ServiceSettings(
        database_url=database, data_dir=tmp_path, smtp_url=smtp_url, sms_url=sms_url, sms_token=SMS_TOKEN
    )
    container = build(settings, clock=SystemClock())
    prepare(container, seed=True)
    now = container.clock.now()
    with container.db.write() as session:
        account_id = session.scalar(
            select(Notification.account_id).where(Notification.type == "claim_received").limit(1)
        )
        assert account_id
        # The seed's own notices are not part of this test: take them out of the queue.
        session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.status == "queued")
            .values(status="suppressed")
        )
        for i in range(count):
            queue_notice(
                session,
                now,
                account_id=account_id,
                notice_type="claim_update",
                subject_type="claim",
                subject_id="clm_crash",
                occasion=f"crash-{i}",
                data={
                    "claim_title": f"Claim update {i}",
                    "claim_body": f"Step {i} of the claim.",
                    "claim_sms": f"step {i}",
                },
            )
        # Real time on the sender's side: put these customers where it is daytime now.
        session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.dedupe_key.like("claim_update:clm_crash:%"))
            .values(time_zone=daytime_zone(now), not_before=now)
        )
        ids = list(
            session.scalars(
                select(NotificationDelivery.id).where(
                    NotificationDelivery.dedupe_key.like("claim_update:clm_crash:%")
                )
            )
        )
    container.db.dispose()
    return ids


def _env(database: str, tmp_path: Path, smtp_url: str, sms_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PORTAL_DATABASE_URL=database,
        PORTAL_DATA_DIR=str(tmp_path),
        PORTAL_SMTP_URL=smtp_url,
        PORTAL_SMS_URL=sms_url,
        PORTAL_SMS_TOKEN=SMS_TOKEN,
        **extra,
    )
    return env


def _cmd(*args: str, kill_at: str | None = None) -> list[str]:
    # --no-sweep: only this test's notices are due (the demo's date-based ones stay out of it).
    # kill_at="point:n": the sender SIGKILLs itself the n-th time it reaches that protocol step.
    entry = ["tests.notifications_fault", kill_at] if kill_at else ["services.notifications.main"]
    return [
        sys.executable,
        "-m",
        *entry,
        "--no-sweep",
        "--lease",
        "1",
        "--poll",
        "0.05",
        *args,
    ]


def _sender(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(_cmd(), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


_ENGINES: dict[str, Engine] = {}


def _states(database: str, tmp_path: Path, ids: list[str]) -> dict[str, tuple[str, str | None, str]]:
    engine = _ENGINES.setdefault(database, make_engine(database))
    with Session(engine) as session:
        rows = session.scalars(select(NotificationDelivery).where(NotificationDelivery.id.in_(ids)))
        return {d.id: (d.status, d.result, d.channel) for d in rows}


def _sent(database: str, tmp_path: Path, ids: list[str]) -> int:
    return sum(1 for st, _r, _c in _states(database, tmp_path, ids).values() if st == "sent")


def _check(inbox: Inbox, sms: SmsEndpoint, states: dict[str, tuple[str, str | None, str]]) -> int:
    """Nothing twice anywhere; texts and in-app exactly once; returns unconfirmed emails."""
    assert all(s == "sent" for s, _r, _c in states.values()), Counter(s for s, _r, _c in states.values())
    got = Counter(str(m["Message-ID"]).strip("<>").split("@")[0] for m in inbox.snapshot())
    assert not [k for k, n in got.items() if n > 1], "an email was delivered twice"
    texts = Counter(s["key"] for s in sms.received)
    assert not [k for k, n in texts.items() if n > 1], "a text was delivered twice"
    unconfirmed = 0
    for delivery_id, (_s, result, channel) in states.items():
        if channel == "sms":
            assert texts[delivery_id] == 1
        elif channel == "email" and result == "accepted":
            assert got[delivery_id] == 1
        elif channel == "email":
            # Recorded as unconfirmed on the trail: delivered once or, in the one lost window, not at all.
            assert result == "unconfirmed" and got[delivery_id] <= 1
            unconfirmed += 1
    return unconfirmed


@pytest.mark.timeout(600)
def test_sigkilled_sender_sends_nothing_twice_and_loses_nothing(database: str, tmp_path: Path) -> None:
    with smtp_server() as (smtp_url, inbox), sms_server() as (sms_url, sms):
        ids = _queue(database, tmp_path, smtp_url, sms_url, NOTICES)
        env = _env(database, tmp_path, smtp_url, sms_url)
        rng = random.Random(int(os.environ.get("PORTAL_CRASH_SEED", "9")))
        # When the sender is killed at random moments while it works through the batch
        kills = 0
        deadline = time.monotonic() + 240
        while kills < KILLS and time.monotonic() < deadline:
            states = _states(database, tmp_path, ids)
            done = sum(1 for st, _r, _c in states.values() if st == "sent")
            if done == len(states):
                break
            proc = _sender(env)
            # Kill it mid-batch: once it has made progress, at a random moment soon after.
            while proc.poll() is None and _sent(database, tmp_path, ids) <= done:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.25))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
            time.sleep(1.05)  # the dead sender's leases run out
        # Then (after a last clean pass) every notice was delivered once, nothing twice
        time.sleep(1.05)
        assert subprocess.run(_cmd("--once"), env=env, capture_output=True).returncode == 0
        states = _states(database, tmp_path, ids)
        unconfirmed = _check(inbox, sms, states)
        assert kills >= 3, kills
        missing = [d for d, (_s, r, c) in states.items() if c == "email" and r == "unconfirmed"]
        counts = (kills, len(inbox.snapshot()), len(sms.received), unconfirmed)
        print("kills={} emails={} texts={} unconfirmed={}".format(*counts))
        assert len(missing) == unconfirmed


@pytest.mark.parametrize(
    ("point", "lost"),
    [
        ("claimed", 0),  # nothing sent yet: queued again
        ("before_handover", 0),  # the body was written, the end-of-data line was not: the server dropped it
        (
            "before_finish",
            0,
        ),  # sent and acknowledged, not yet recorded: SMS resent with its key, email recorded
        ("after_handover", 1),  # the one window where email can be lost: recorded as unconfirmed
    ],
)
def test_a_kill_at_each_step_of_the_protocol(point: str, lost: int, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    with smtp_server() as (smtp_url, inbox), sms_server() as (sms_url, sms):
        ids = _queue(database, tmp_path, smtp_url, sms_url, 2)
        env = _env(database, tmp_path, smtp_url, sms_url)
        # When the sender kills itself the third time it reaches the step
        done = subprocess.run(_cmd("--once", kill_at=f"{point}:3"), env=env, capture_output=True)
        assert done.returncode == -signal.SIGKILL
        # Then a new sender, once the lease ran out, finishes the batch
        time.sleep(1.05)
        assert subprocess.run(_cmd("--once"), env=env, capture_output=True).returncode == 0
        states = _states(database, tmp_path, ids)
        unconfirmed = _check(inbox, sms, states)
        mine = {str(m["Message-ID"]).strip("<>").split("@")[0] for m in inbox.snapshot()}
        emails = [d for d, (_s, _r, c) in states.items() if c == "email"]
        assert len([d for d in emails if d not in mine]) == lost
        if point == "before_finish":
            # Which delivery reaches this step third depends on claim order: a text (resent under
            # its idempotency key, so still once) or an email the server already accepted. That
            # email arrived (checked above) but the sender cannot know it, so it is recorded as
            # unconfirmed rather than resent: at most one such record, never a lost email.
            assert unconfirmed <= 1
        else:
            assert unconfirmed == lost
