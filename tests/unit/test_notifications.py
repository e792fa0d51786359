"""Unit tests of the notification rules that need no service: quiet hours (DST too), the morning
spread, wording (money, dates, escaping, SMS length), locked channels and adapter settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.notifications import render
from services.notifications.adapters import HttpSmsProvider, SmtpMailer
from services.notifications.catalogue import EMAIL, IN_APP, SMS, TYPES, channel_enabled
from services.notifications.service import MORNING_SPREAD_MINUTES, in_quiet_hours, next_send_time

CHI = ZoneInfo("America/Chicago")


def at(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone).astimezone(UTC)


@pytest.mark.parametrize(
    ("local", "quiet"),
    [((20, 59), False), ((21, 0), True), ((23, 30), True), ((0, 0), True), ((7, 59), True), ((8, 0), False)],
)
def test_quiet_hours_are_21_to_08_where_the_customer_lives(local: tuple[int, int], quiet: bool) -> None:
    when = at(CHI, 2026, 11, 23, *local)
    assert in_quiet_hours(when, "America/Chicago") is quiet
    moved = next_send_time(when, "America/Chicago")
    assert (moved == when) is not quiet
    if quiet:
        assert moved.astimezone(CHI).time().hour == 8


def test_night_notices_wait_for_the_next_morning_and_are_spread() -> None:
    evening = at(CHI, 2026, 11, 23, 22, 15)
    morning = datetime(2026, 11, 24, 8, 0, tzinfo=CHI)
    times = [next_send_time(evening, "America/Chicago", f"notice-{i}") for i in range(200)]
    for t in times:
        assert morning <= t.astimezone(CHI) < morning + timedelta(minutes=MORNING_SPREAD_MINUTES)
    assert len({t for t in times}) > 50  # spread, not one burst at 08:00
    # Stable: the same notice always gets the same minute (a retried sweep moves nothing)
    assert next_send_time(evening, "America/Chicago", "notice-7") == times[7]
    # After midnight it is the same day's morning
    early = at(CHI, 2026, 11, 24, 3, 0)
    assert next_send_time(early, "America/Chicago").astimezone(CHI) == morning


def test_the_morning_is_local_across_a_dst_change() -> None:
    # Chicago springs forward on Sunday 8 March 2026 at 02:00: 08:00 is 13:00 UTC, not 14:00.
    night = at(CHI, 2026, 3, 7, 23, 0)
    assert next_send_time(night, "America/Chicago") == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)
    # London falls back on 25 October 2026: 08:00 is 08:00 UTC again.
    london = ZoneInfo("Europe/London")
    assert next_send_time(at(london, 2026, 10, 24, 22, 0), "Europe/London") == datetime(
        2026, 10, 25, 8, 0, tzinfo=UTC
    )


def test_money_and_dates_as_people_read_them() -> None:
    assert render.money(12_345, "USD") == "$123.45"
    assert render.money(5, "USD") == "$0.05"
    assert render.money(123_456_789, "USD") == "$1,234,567.89"
    assert render.money(-250, "GBP") == "-£2.50"
    assert render.money(100, "SEK") == "SEK 1.00"
    assert render.day("2026-12-01") == "Tue 1 Dec 2026"


def test_email_html_escapes_what_customers_and_staff_typed() -> None:
    data = {
        "claim_title": "More information needed for claim $claim_number",
        "claim_body": "We need: $note",
        "claim_sms": "x",
        "claim_number": "CLM-1",
        "note": "<script>alert(1)</script> & more",
    }
    mail = render.email("claim_update", data, full_name="Ann <b>O'Neil</b>", required=False)
    assert "<script>" not in mail.html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in mail.html
    assert "Ann &lt;b&gt;O&#x27;Neil&lt;/b&gt;" in mail.html
    assert "<script>alert(1)</script> & more" in mail.text  # plain text stays as typed
    assert mail.subject == "More information needed for claim CLM-1"
    assert "Portal Mutual Insurance Company" in mail.html and "What to do next" in mail.text


def test_required_notices_say_so_and_cannot_be_switched_off() -> None:
    pending = TYPES["pending_cancellation"]
    assert pending.required and channel_enabled(pending, EMAIL, False) is True
    assert channel_enabled(pending, SMS, False) is False
    assert channel_enabled(TYPES["welcome"], EMAIL, False) is False
    assert channel_enabled(TYPES["welcome"], SMS, None) is False  # default off
    assert channel_enabled(TYPES["welcome"], IN_APP, False) is True  # always kept in the app
    mail = render.email("policy_cancelled", {"policy_number": "P-1"}, full_name="A", required=True)
    assert "required by law" in mail.text and "Important notice" in mail.html


def test_texts_stay_within_three_segments() -> None:
    long = "word " * 200
    text = render.sms_text("case_update", {"case_body": long, "case_title": "t"})
    assert len(text) <= render.SMS_MAX and text.endswith("…")


def test_adapters_never_show_their_secrets() -> None:
    mailer = SmtpMailer("smtp://notices:s3cret%21@mail.example:587?starttls=1", "n@example")
    assert (mailer.host, mailer.port, mailer.starttls, mailer.username) == (
        "mail.example",
        587,
        True,
        "notices",
    )
    assert "s3cret" not in repr(mailer)
    assert "tok-123" not in repr(HttpSmsProvider("https://sms.example/send", "tok-123"))
    with pytest.raises(ValueError):
        SmtpMailer("http://mail.example", "n@example")
