"""The client's one formatting module: money, dates, and times in the policy's zone, labelled."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ui import wording
from ui.error_wording import message, message_for
from ui.formatting import amount_text, day, money, parse_amount, time_in


def test_money_is_grouped_with_its_symbol() -> None:
    assert money(124000) == "$1,240.00"
    assert money(-512, "usd") == "-$5.12"
    assert money(123456789, "GBP") == "£1,234,567.89"
    assert money(500, "CHF") == "5.00 CHF"
    assert wording.money is money  # every page says it the same way


def test_amounts_round_trip_without_floats() -> None:
    assert parse_amount("$1,240.00") == 124000
    assert parse_amount("465") == 46500 and parse_amount("0.5") == 50
    assert parse_amount("12.345") is None and parse_amount("abc") is None and parse_amount("") is None
    assert amount_text(46500) == "465.00"


def test_one_date_style() -> None:
    assert day(date(2026, 11, 3)) == "3 Nov 2026"
    assert day(None) == "—"


def test_times_are_shown_in_the_policy_zone_and_labelled() -> None:
    winter = datetime(2026, 11, 12, 15, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 15, 0, tzinfo=UTC)
    assert time_in(winter, "America/Chicago") == "12 Nov 2026, 09:00 CST"
    assert time_in(summer, "America/Chicago") == "1 Jul 2026, 10:00 CDT"
    assert time_in(winter, "Europe/London") == "12 Nov 2026, 15:00 GMT"
    assert time_in(winter, "Not/AZone") == "12 Nov 2026, 15:00 UTC"


def test_problem_codes_are_worded_in_one_place() -> None:
    assert "declined" in message("payment.card_declined")
    assert message("no.such_code", "The service's own words") == "The service's own words"
    assert message_for(RuntimeError("x")).startswith("Something went wrong")


def test_older_notices_use_the_one_style_with_the_zone() -> None:
    import re

    from ui.notifications_wording import when_text

    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert when_text(datetime(2026, 11, 30, 11, 55, tzinfo=UTC), now) == "5 min ago"
    older = when_text(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), now)
    assert re.fullmatch(r"\d{1,2} Nov 2026, \d\d:\d\d \S+", older), older
