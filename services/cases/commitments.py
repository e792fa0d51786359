"""What we promise on every case, and which promise is next.

- acknowledged within 24 hours of being raised (elapsed hours: a DST change does not stretch it);
- a target resolution within 24 hours (the service standard the dashboard measures);
- a summary resolution by the end of the third business day after the day it was raised, in the
  policy's time zone (FCA DISP 1.5; weekends and configured holidays skipped);
- a final response by the end of the local day eight weeks after it was raised (configurable).

Business-day arithmetic is the claims SLA's (services.claims.sla): one calendar for the product.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.claims.sla import add_business_days, end_of_day_utc, local_date

ACKNOWLEDGE_HOURS = 24
TARGET_RESOLUTION_HOURS = 24
SUMMARY_BUSINESS_DAYS = 3
FINAL_RESPONSE_WEEKS = 8

# (deadline, what meets it) in the order they usually fall.
DEADLINES = (
    ("acknowledge", "acknowledged_at"),
    ("target_resolution", "resolved_at"),
    ("summary_resolution", "resolved_at"),
    ("final_response", "closed_at"),
)


@dataclass(frozen=True)
class CaseCommitments:
    acknowledge_by: datetime
    target_resolution_by: datetime
    summary_resolution_by: datetime
    final_response_by: datetime

    def as_dict(self) -> dict[str, datetime]:
        return {
            "acknowledge": self.acknowledge_by,
            "target_resolution": self.target_resolution_by,
            "summary_resolution": self.summary_resolution_by,
            "final_response": self.final_response_by,
        }


def case_commitments(
    opened_at: datetime,
    time_zone: str,
    holidays: frozenset[date],
    *,
    final_weeks: int = FINAL_RESPONSE_WEEKS,
) -> CaseCommitments:
    """The four promised instants (UTC) for a case raised at `opened_at` on a policy in `time_zone`."""
    opened_on = local_date(opened_at, time_zone)
    return CaseCommitments(
        acknowledge_by=opened_at + timedelta(hours=ACKNOWLEDGE_HOURS),
        target_resolution_by=opened_at + timedelta(hours=TARGET_RESOLUTION_HOURS),
        summary_resolution_by=end_of_day_utc(
            add_business_days(opened_on, SUMMARY_BUSINESS_DAYS, holidays), time_zone
        ),
        final_response_by=end_of_day_utc(opened_on + timedelta(weeks=final_weeks), time_zone),
    )


@dataclass(frozen=True)
class DeadlineState:
    name: str
    due_at: datetime
    met_at: datetime | None
    overdue: bool  # not met and past due
    late: bool  # met, but after it was due
    seconds_left: int  # negative when overdue; 0 once met


def deadline_states(case: object, now: datetime) -> list[DeadlineState]:
    """Each commitment of a case (a Case row or anything with the same attributes) at `now`."""
    states = []
    for name, met_field in DEADLINES:
        due = getattr(case, f"{name}_by")
        if due is None:
            continue
        met = getattr(case, met_field)
        states.append(
            DeadlineState(
                name=name,
                due_at=due,
                met_at=met,
                overdue=met is None and now >= due,
                late=met is not None and met > due,
                seconds_left=0 if met is not None else int((due - now).total_seconds()),
            )
        )
    return states


def next_due(case: object) -> datetime | None:
    """The earliest promise not yet kept: what the customer is told to expect next."""
    pending = [
        getattr(case, f"{name}_by")
        for name, met_field in DEADLINES
        if getattr(case, met_field) is None and getattr(case, f"{name}_by") is not None
    ]
    return min(pending) if pending else None
