"""Quiet hours: the local wall-clock window in which nothing is sent to a mentee.

Quiet is judged by the mentee's wall clock, so "21:00-08:00" means 21:00 to 08:00 local on every
night, GMT or BST. The window includes its start and excludes its end: at 21:00:00 it is quiet,
at 08:00:00 it is open again. It may wrap midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.schedule.errors import PlanError
from bot.schedule.wall_clock import TimeZone, next_offset_change, require_aware, zone
from bot.schedule.weekly import parse_clock_time


@dataclass(frozen=True)
class QuietHours:
    """A daily quiet window [start, end) in local wall time; start == end is refused."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise PlanError("quiet hours are local wall-clock times, without a zone")
        if self.start == self.end:
            raise PlanError("quiet hours must start and end at different times")

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """Read "21:00-08:00" (PlanError if it cannot)."""
        first, sep, last = text.strip().partition("-")
        if not sep:
            raise PlanError(f"quiet hours must look like 21:00-08:00 (got '{text.strip()}')")
        return cls(parse_clock_time(first.strip()), parse_clock_time(last.strip()))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def describe(self) -> str:
        return f"quiet hours ({self})"

    def covers(self, wall: time) -> bool:
        """Whether local wall time `wall` is inside the window."""
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end  # wraps midnight

    def is_quiet(self, instant: datetime, tz: TimeZone) -> bool:
        """Whether `instant` (aware, any zone) falls in quiet hours on the wall clock of `tz`."""
        local = require_aware(instant).astimezone(zone(tz))
        return self.covers(local.time())

    def next_open(self, instant: datetime, tz: TimeZone) -> datetime:
        """The first instant at or after `instant` outside quiet hours (UTC), DST-correct."""
        zi = zone(tz)
        moment = require_aware(instant)
        # Between two clock changes wall time runs in step with UTC, so the wall clock reaches
        # `end` after exactly (end - wall) of real time, unless the clocks change first; then
        # carry on from the change with the new offset.
        for _ in range(4):
            wall = moment.astimezone(zi).replace(tzinfo=None)
            if not self.covers(wall.time()):
                return moment
            opening = datetime.combine(wall.date(), self.end)
            if opening < wall:
                opening += timedelta(days=1)
            opens = moment + (opening - wall)
            change = next_offset_change(moment, zi, opens - moment)
            if change is None or change > opens:
                return opens
            moment = change
        raise AssertionError(f"no open time found after {instant!r} in {tz}")  # pragma: no cover


def defer_to_window(due: datetime, tz: TimeZone, quiet: QuietHours | None) -> datetime:
    """When a message due at `due` may actually go: `due` itself, or when quiet hours end."""
    if quiet is None:
        return require_aware(due, "due")
    return quiet.next_open(due, tz)
