"""Claim service commitments: business days in the policy's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.claims import sla

CHICAGO = "America/Chicago"


def test_friday_filing_is_acknowledged_by_monday_and_reviewed_by_wednesday() -> None:
    # Given a claim filed on Friday 13 Nov 2026 at 10:00 in Chicago
    filed = datetime(2026, 11, 13, 16, 0, tzinfo=UTC)
    # When the commitments are fixed
    promised = sla.commitments(filed, CHICAGO, frozenset())
    # Then the weekend is skipped
    assert promised.acknowledge_by == date(2026, 11, 16)
    assert promised.review_by == date(2026, 11, 18)


def test_weekend_filing_counts_from_monday() -> None:
    filed = datetime(2026, 11, 14, 18, 0, tzinfo=UTC)  # Saturday noon in Chicago
    promised = sla.commitments(filed, CHICAGO, frozenset())
    assert promised.acknowledge_by == date(2026, 11, 16)
    assert promised.review_by == date(2026, 11, 18)


def test_local_date_decides_not_utc() -> None:
    # Friday 23:30 in Chicago is already Saturday in UTC: the filing day is still Friday there.
    filed = datetime(2026, 11, 21, 5, 30, tzinfo=UTC)
    assert sla.local_date(filed, CHICAGO) == date(2026, 11, 20)
    assert sla.commitments(filed, CHICAGO, frozenset()).acknowledge_by == date(2026, 11, 23)
    # The same instant in Tokyo is Saturday afternoon: counted from the next business day.
    assert sla.commitments(filed, "Asia/Tokyo", frozenset()).acknowledge_by == date(2026, 11, 23)


def test_configured_holidays_are_skipped() -> None:
    holidays = sla.parse_holidays("2026-11-26, 2026-11-27")  # Thanksgiving and the day after
    filed = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wednesday
    promised = sla.commitments(filed, CHICAGO, holidays)
    assert promised.acknowledge_by == date(2026, 11, 30)
    assert promised.review_by == date(2026, 12, 2)
    assert sla.parse_holidays(["2026-12-25"]) == {date(2026, 12, 25)}
    assert sla.parse_holidays("") == frozenset()


def test_deadline_instant_follows_the_dst_change() -> None:
    # Given a claim filed on Friday 30 Oct 2026; Chicago leaves daylight time on Sunday 1 Nov
    filed = datetime(2026, 10, 30, 15, 0, tzinfo=UTC)
    promised = sla.commitments(filed, CHICAGO, frozenset())
    assert promised.acknowledge_by == date(2026, 11, 2)
    # Then the deadline is local midnight in standard time (UTC-6), not daylight time (UTC-5)
    assert sla.end_of_day_utc(promised.acknowledge_by, CHICAGO) == datetime(2026, 11, 3, 6, 0, tzinfo=UTC)
    assert sla.end_of_day_utc(date(2026, 10, 30), CHICAGO) == datetime(2026, 10, 31, 5, 0, tzinfo=UTC)
    # And a step is overdue exactly from that instant
    due = promised.acknowledge_by
    just_before = datetime(2026, 11, 3, 5, 59, 59, tzinfo=UTC)
    at = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)
    assert not sla.step_state("acknowledge", due, None, CHICAGO, just_before).overdue
    assert sla.step_state("acknowledge", due, None, CHICAGO, at).overdue
    late = sla.step_state("acknowledge", due, at, CHICAGO, at)
    assert late.late and not late.overdue


def test_spring_forward_week() -> None:
    # Filed Friday 6 Mar 2026; clocks go forward on Sunday 8 Mar: review by Wednesday 11 Mar.
    filed = datetime(2026, 3, 6, 20, 0, tzinfo=UTC)
    promised = sla.commitments(filed, CHICAGO, frozenset())
    assert promised.review_by == date(2026, 3, 11)
    assert sla.end_of_day_utc(promised.review_by, CHICAGO) == datetime(2026, 3, 12, 5, 0, tzinfo=UTC)
