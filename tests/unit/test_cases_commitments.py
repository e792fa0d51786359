"""Case commitments: 24 elapsed hours, the third business day in the policy's zone, eight weeks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from services.cases.commitments import case_commitments, deadline_states, next_due
from services.claims.sla import parse_holidays

CHICAGO = "America/Chicago"
LONDON = "Europe/London"


def test_raised_on_a_friday_summary_skips_the_weekend() -> None:
    # Given a complaint raised Friday 20 Nov 2026, 15:00 in Chicago (21:00 UTC)
    opened = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
    c = case_commitments(opened, CHICAGO, frozenset())
    # Then acknowledgement and the target resolution are 24 elapsed hours later...
    assert c.acknowledge_by == opened + timedelta(hours=24)
    assert c.target_resolution_by == opened + timedelta(hours=24)
    # ...and the summary resolution is due by the end of Wednesday 25 Nov local (Mon, Tue, Wed),
    # i.e. midnight CST = 06:00 UTC on Thursday.
    assert c.summary_resolution_by == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def test_holidays_are_not_business_days() -> None:
    # Raised Tuesday 22 Dec 2026 in London; Christmas and Boxing Day (observed Monday 28th) are off.
    opened = datetime(2026, 12, 22, 10, 0, tzinfo=UTC)
    holidays = parse_holidays("2026-12-25, 2026-12-28")
    c = case_commitments(opened, LONDON, holidays)
    # Wed 23, Thu 24, (Fri 25 holiday, weekend, Mon 28 holiday) Tue 29 -> ends midnight 29/30 GMT.
    assert c.summary_resolution_by == datetime(2026, 12, 30, 0, 0, tzinfo=UTC)
    # Without the holidays: Wed 23, Thu 24, Fri 25 -> midnight Fri/Sat.
    assert case_commitments(opened, LONDON, frozenset()).summary_resolution_by == datetime(
        2026, 12, 26, 0, 0, tzinfo=UTC
    )


def test_dst_change_moves_the_utc_instant_of_a_local_deadline() -> None:
    # Raised Friday 30 Oct 2026 in Chicago; clocks go back on Sunday 1 Nov (CDT -> CST).
    opened = datetime(2026, 10, 30, 17, 0, tzinfo=UTC)  # 12:00 CDT
    c = case_commitments(opened, CHICAGO, frozenset())
    # Business days Mon 2, Tue 3, Wed 4 Nov: the deadline is midnight CST = 06:00 UTC, not 05:00.
    assert c.summary_resolution_by == datetime(2026, 11, 5, 6, 0, tzinfo=UTC)
    # 24 hours stay 24 elapsed hours across the change.
    assert c.acknowledge_by - opened == timedelta(hours=24)
    # Spring forward in London: raised Friday 27 Mar 2026; BST starts Sunday 29 Mar.
    london = case_commitments(datetime(2026, 3, 27, 12, 0, tzinfo=UTC), LONDON, frozenset())
    assert london.summary_resolution_by == datetime(2026, 4, 1, 23, 0, tzinfo=UTC)  # midnight BST


def test_final_response_eight_weeks_is_configurable() -> None:
    opened = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # Friday 15:00 CST
    assert case_commitments(opened, CHICAGO, frozenset()).final_response_by == datetime(
        2027, 1, 16, 6, 0, tzinfo=UTC
    )
    four = case_commitments(opened, CHICAGO, frozenset(), final_weeks=4)
    assert four.final_response_by.date() == date(2026, 12, 19)


def _case(opened: datetime, **met: datetime | None) -> SimpleNamespace:
    c = case_commitments(opened, CHICAGO, frozenset())
    return SimpleNamespace(
        acknowledge_by=c.acknowledge_by,
        target_resolution_by=c.target_resolution_by,
        summary_resolution_by=c.summary_resolution_by,
        final_response_by=c.final_response_by,
        acknowledged_at=met.get("acknowledged_at"),
        resolved_at=met.get("resolved_at"),
        closed_at=met.get("closed_at"),
    )


def test_deadline_states_count_down_and_flag_overdue_and_late() -> None:
    opened = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
    case = _case(opened, acknowledged_at=opened + timedelta(hours=30))
    now = opened + timedelta(hours=26)
    states = {s.name: s for s in deadline_states(case, now)}
    assert states["acknowledge"].late and not states["acknowledge"].overdue
    assert states["target_resolution"].overdue and states["target_resolution"].seconds_left == -2 * 3600
    assert not states["summary_resolution"].overdue and states["summary_resolution"].seconds_left > 0
    # The next promise shown to the customer is the earliest unmet one.
    assert next_due(case) == case.target_resolution_by
    done = _case(opened, acknowledged_at=opened, resolved_at=opened, closed_at=opened)
    assert next_due(done) is None
