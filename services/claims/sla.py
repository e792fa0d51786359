"""Service commitments for claims: business days in the policy's time zone.

Acknowledge within 1 business day, first review within 3 business days, counted from the day the
claim was filed *where the policy lives* (the filing day itself does not count). Weekends and the
configured holidays are skipped. A step is due by the end of its promised day, local time, so the
UTC instant of a deadline moves with daylight saving time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ACKNOWLEDGE_DAYS = 1
REVIEW_DAYS = 3


def parse_holidays(value: str | Iterable[str] | None) -> frozenset[date]:
    """'2026-12-25, 2027-01-01' (env/TOML string) or a TOML list -> a set of dates."""
    if not value:
        return frozenset()
    items = value.replace(";", ",").split(",") if isinstance(value, str) else list(value)
    return frozenset(date.fromisoformat(str(item).strip()) for item in items if str(item).strip())


def is_business_day(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(start: date, days: int, holidays: frozenset[date]) -> date:
    """The `days`-th business day after `start` (start itself never counts)."""
    current = start
    counted = 0
    while counted < days:
        current += timedelta(days=1)
        if is_business_day(current, holidays):
            counted += 1
    return current


def end_of_day_utc(day: date, time_zone: str) -> datetime:
    """The UTC instant the local `day` ends (midnight that starts the next local day)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def local_date(instant: datetime, time_zone: str) -> date:
    return instant.astimezone(ZoneInfo(time_zone)).date()


@dataclass(frozen=True)
class Commitments:
    acknowledge_by: date
    review_by: date


def commitments(submitted_at: datetime, time_zone: str, holidays: frozenset[date]) -> Commitments:
    """The promised-by dates for a claim filed at `submitted_at` on a policy in `time_zone`."""
    filed_on = local_date(submitted_at, time_zone)
    return Commitments(
        acknowledge_by=add_business_days(filed_on, ACKNOWLEDGE_DAYS, holidays),
        review_by=add_business_days(filed_on, REVIEW_DAYS, holidays),
    )


@dataclass(frozen=True)
class StepState:
    step: str
    due_date: date
    due_at: datetime
    done_at: datetime | None
    overdue: bool  # not done and past its deadline
    late: bool  # done, but after its deadline


def step_state(step: str, due: date, done_at: datetime | None, time_zone: str, now: datetime) -> StepState:
    due_at = end_of_day_utc(due, time_zone)
    return StepState(
        step=step,
        due_date=due,
        due_at=due_at,
        done_at=done_at,
        overdue=done_at is None and now >= due_at,
        late=done_at is not None and done_at >= due_at,
    )
