"""Local wall-clock time <-> UTC instants, with explicit rules for DST changes.

Rules (used by every schedule in the service):
- A local time that does not exist (spring forward, e.g. 01:30 on the last Sunday of March in
  London) becomes the first instant that does: the moment the clocks change (02:00 BST = 01:00 UTC).
  It runs once, a little late, never skipped.
- A local time that happens twice (fall back, 01:30 on the last Sunday of October) means its
  first occurrence (fold=0, 01:30 BST = 00:30 UTC). Never twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.schedule.errors import PlanError

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

TimeZone = str | tzinfo


def zone(tz: TimeZone) -> tzinfo:
    """A tzinfo for an IANA name such as "Europe/London" (tzinfo objects pass through)."""
    if isinstance(tz, str):
        return _zone_named(tz)
    return tz


@lru_cache(maxsize=64)
def _zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PlanError(f"unknown time zone '{name}'") from None


def require_aware(instant: datetime, what: str = "instant") -> datetime:
    """`instant` in UTC; naive datetimes are refused because their meaning is a guess."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {instant!r}")
    return instant.astimezone(UTC)


def resolve_local(day: date, at: time, tz: TimeZone, *, fold: int = 0) -> datetime:
    """The UTC instant of wall time `at` on `day` in `tz`, by the DST rules above.

    `fold=1` picks the second occurrence of a repeated time instead of the first.
    """
    zi = zone(tz)
    wall = datetime.combine(day, at).replace(tzinfo=zi, fold=fold)
    instant = wall.astimezone(UTC)
    if instant.astimezone(zi).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    # A gap: the two folds read the wall time with the offsets before and after the change
    # (PEP 495), so the change itself lies between the two readings.
    early = wall.replace(fold=1).astimezone(UTC)
    late = wall.replace(fold=0).astimezone(UTC)
    return offset_change_between(min(early, late), max(early, late), zi)


def offset_change_between(start: datetime, end: datetime, tz: TimeZone) -> datetime:
    """The first instant in (start, end] whose UTC offset differs from `start`'s, to the second.

    Assumes at most one change in the interval; returns `end` when there is none.
    """
    zi = zone(tz)
    before = start.astimezone(zi).utcoffset()
    lo, hi = start, end  # invariant: offset(lo) == before; answer in (lo, hi]
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            mid = lo + timedelta(seconds=1)
        if mid.astimezone(zi).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


def next_offset_change(instant: datetime, tz: TimeZone, horizon: timedelta) -> datetime | None:
    """The next instant after `instant` (within `horizon`) at which `tz` changes its UTC offset."""
    zi = zone(tz)
    start = require_aware(instant)
    offset = start.astimezone(zi).utcoffset()
    step = timedelta(hours=1)  # real offset changes are months apart; an hour step cannot miss one
    probe = start
    while probe - start < horizon:
        nxt = min(probe + step, start + horizon)
        if nxt.astimezone(zi).utcoffset() != offset:
            return offset_change_between(probe, nxt, zi)
        probe = nxt
    return None


def describe_local(instant: datetime, tz: TimeZone) -> str:
    """A short local reading for staff, e.g. "Mon 30 Mar 10:00 BST"."""
    local = require_aware(instant).astimezone(zone(tz))
    return (
        f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} "
        f"{local:%H:%M} {local.tzname()}"
    )
