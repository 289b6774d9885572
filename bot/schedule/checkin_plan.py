"""A mentee's full check-in plan and the UTC instants it produces.

Occurrences are generated in local wall time, one local date at a time, and turned into UTC by
the DST rules of `wall_clock` (a missing time runs at the moment the clocks change; a repeated
time runs at its first occurrence). Two planned times that land on the same instant run once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.schedule.errors import PlanError
from bot.schedule.wall_clock import require_aware, resolve_local, zone
from bot.schedule.weekly import WeeklyPlan

DEFAULT_TZ = "Europe/London"


@dataclass(frozen=True)
class CheckinPlan:
    """When one mentee is checked in with.

    start_date/end_date bound the plan in local dates, both inclusive (e.g. the licence period).
    After a release date the mentee is checked in daily at `release_daily_at` for the
    `release_days` days after it (release_date + 1 .. release_date + release_days); on those
    days the daily time replaces the weekly plan. The release day itself follows the weekly plan.
    A paused plan produces nothing.
    """

    weekly: WeeklyPlan
    tz: str = DEFAULT_TZ
    start_date: date | None = None
    end_date: date | None = None
    paused: bool = False
    release_date: date | None = None
    release_daily_at: time = time(10, 0)
    release_days: int = 7

    def __post_init__(self) -> None:
        zone(self.tz)  # an unknown zone is a PlanError now, not at the first check-in
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise PlanError("end date is before start date")
        if self.release_days < 0:
            raise PlanError("release days cannot be negative")
        if self.release_daily_at.tzinfo is not None:
            raise PlanError("release time is local wall-clock time, without a zone")

    def times_on(self, day: date) -> tuple[time, ...]:
        """The local times planned on `day`, earliest first (empty outside the plan's dates)."""
        if self.paused or not self._in_dates(day):
            return ()
        if self._in_release_week(day):
            return (self.release_daily_at,)
        if self.weekly.first_of_month and day.day > 7:
            return ()
        return self.weekly.times_on(day.weekday())

    def last_planned_date(self) -> date | None:
        """The last local date that can hold a check-in, or None when the plan never ends."""
        if self.end_date is not None:
            return self.end_date
        if self.weekly.slots:
            return None
        if self.release_date is not None:
            return self.release_date + timedelta(days=self.release_days)
        return date.min

    def _in_dates(self, day: date) -> bool:
        return (self.start_date is None or day >= self.start_date) and (
            self.end_date is None or day <= self.end_date
        )

    def _in_release_week(self, day: date) -> bool:
        if self.release_date is None:
            return False
        return 1 <= (day - self.release_date).days <= self.release_days


def next_checkins(plan: CheckinPlan, after: datetime, count: int) -> list[datetime]:
    """The next `count` check-in instants strictly after `after` (UTC, earliest first)."""
    if count <= 0:
        return []
    found: list[datetime] = []
    for instant in _occurrences_from(plan, require_aware(after, "after")):
        found.append(instant)
        if len(found) == count:
            break
    return found


def checkins_between(plan: CheckinPlan, start: datetime, end: datetime) -> list[datetime]:
    """Every check-in instant in [start, end) (UTC, earliest first)."""
    start_utc, end_utc = require_aware(start, "start"), require_aware(end, "end")
    found: list[datetime] = []
    # _occurrences_from is strictly after its argument, so step back a microsecond to include start.
    for instant in _occurrences_from(plan, start_utc - timedelta(microseconds=1)):
        if instant >= end_utc:
            break
        found.append(instant)
    return found


def _occurrences_from(plan: CheckinPlan, after: datetime) -> Iterator[datetime]:
    """Check-in instants strictly after `after`, in order, until the plan ends."""
    if plan.paused:
        return
    # Start a day early: a shifted wall time could in principle move an instant across midnight.
    day = after.astimezone(zone(plan.tz)).date() - timedelta(days=1)
    if plan.start_date is not None and plan.start_date > day:
        day = plan.start_date
    last = plan.last_planned_date()
    while last is None or day <= last:
        instants = sorted({resolve_local(day, at, plan.tz) for at in plan.times_on(day)})
        for instant in instants:
            if instant > after:
                yield instant
        if day == date.max:
            return
        day += timedelta(days=1)
