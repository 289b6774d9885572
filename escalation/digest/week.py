"""ISO weeks as local-time windows: Monday 00:00 to the next Monday 00:00 in the service's zone."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

_WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, order=True)
class Week:
    """One ISO week in a time zone; `start` and `end` are UTC instants, `end` exclusive.

    A week containing a clock change is 167 or 169 hours long: the window is built from local
    midnights, never by adding seven days of hours to a UTC instant.
    """

    year: int
    number: int
    tz: ZoneInfo = field(default=LONDON, compare=False)

    def __post_init__(self) -> None:
        # fromisocalendar rejects week 53 in a 52-week year, which is the check we want.
        date.fromisocalendar(self.year, self.number, 1)

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def start(self) -> datetime:
        return _local_midnight_utc(self.monday, self.tz)

    @property
    def end(self) -> datetime:
        return _local_midnight_utc(self.monday + timedelta(days=7), self.tz)

    @property
    def label(self) -> str:
        """The ISO name, e.g. "2026-W48"."""
        return f"{self.year}-W{self.number:02d}"

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    def shifted(self, weeks: int) -> Week:
        """The week `weeks` later (negative: earlier), in the same zone."""
        iso = (self.monday + timedelta(weeks=weeks)).isocalendar()
        return Week(iso.year, iso.week, self.tz)

    @classmethod
    def containing(cls, instant: datetime, tz: ZoneInfo = LONDON) -> Week:
        """The week in `tz` that the aware `instant` falls in."""
        if instant.tzinfo is None:
            raise ValueError("Week.containing needs a timezone-aware instant")
        iso = instant.astimezone(tz).date().isocalendar()
        return cls(iso.year, iso.week, tz)

    @classmethod
    def last_complete(cls, now: datetime, tz: ZoneInfo = LONDON) -> Week:
        """The most recent week that has fully ended at `now` (the one a Monday digest reports)."""
        return cls.containing(now, tz).shifted(-1)


def parse_week(text: str, tz: ZoneInfo = LONDON) -> Week:
    """Parse "2026-W48" into a Week; raise ValueError naming the input if it is not one."""
    match = _WEEK_PATTERN.match(text.strip())
    if match is None:
        raise ValueError(f"week {text!r} is not in the form 2026-W48")
    try:
        return Week(int(match.group(1)), int(match.group(2)), tz)
    except ValueError:
        raise ValueError(f"week {text!r} does not exist in {match.group(1)}") from None


def _local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    # UK clocks change at 01:00/02:00, so local midnight always exists and is unambiguous.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
