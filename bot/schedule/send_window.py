"""Safe-to-text windows and the whole send window of one mentee (pure).

A mentee at risk of abuse may say when it is safe to text them, e.g. "mon-fri 10:00-14:00":
every non-urgent message waits for such a window, on top of quiet hours. A code-word hold
("I can't talk, someone is here") closes the window entirely until it ends. All in the
mentee's local wall time, so "10:00-14:00" means 10:00 to 14:00 on their clock, GMT or BST.

`SendWindow` answers the same two questions as `QuietHours` (is it closed now, when does it
next open), so every place that waits for quiet hours waits for this instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.schedule.errors import PlanError
from bot.schedule.quiet_hours import QuietHours
from bot.schedule.wall_clock import TimeZone, require_aware, resolve_local, zone
from bot.schedule.weekly import _parse_days, parse_clock_time  # type: ignore[attr-defined]

_SLOT = re.compile(r"^(?P<days>[a-z][a-z,\s-]*?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class SafeWindows:
    """Weekly local windows [start, end) on given weekdays in which texting is safe."""

    slots: tuple[tuple[frozenset[int], time, time], ...]

    @classmethod
    def parse(cls, text: str) -> SafeWindows:
        """Read "mon-fri 10:00-14:00" or "mon,wed 10:00-12:00, sat 11:00-13:00"."""
        slots = []
        # Commas separate days too ("mon,wed 10:00-12:00"), so slots split on a comma after a time.
        for chunk in re.split(r"(?<=\d)\s*,\s*", text.strip().lower()):
            match = _SLOT.match(chunk.strip())
            if match is None:
                raise PlanError(f"safe-to-text windows must look like 'mon-fri 10:00-14:00' (got '{chunk}')")
            days: list[int] = []
            for token in re.split(r"[,\s]+", re.sub(r"\s*-\s*", "-", match["days"]).strip()):
                days.extend(_parse_days(token))
            start, end = parse_clock_time(match["start"]), parse_clock_time(match["end"])
            if end <= start:
                raise PlanError(f"a safe-to-text window must end after it starts (got '{chunk}')")
            slots.append((frozenset(days), start, end))
        if not slots:
            raise PlanError("safe-to-text windows are empty: try 'mon-fri 10:00-14:00'")
        return cls(tuple(slots))

    def __str__(self) -> str:
        return ", ".join(f"{_days_text(days)} {start:%H:%M}-{end:%H:%M}" for days, start, end in self.slots)

    def open_at(self, instant: datetime, tz: TimeZone) -> bool:
        local = require_aware(instant).astimezone(zone(tz))
        return any(local.weekday() in days and start <= local.time() < end
                   for days, start, end in self.slots)

    def next_open(self, instant: datetime, tz: TimeZone) -> datetime:
        """`instant` if a window is open then, else the start of the next window (UTC)."""
        moment = require_aware(instant)
        if self.open_at(moment, tz):
            return moment
        day = moment.astimezone(zone(tz)).date()
        best: datetime | None = None
        for offset in range(0, 8):
            d = day + timedelta(days=offset)
            for days, start, end in self.slots:
                if d.weekday() not in days:
                    continue
                opens = resolve_local(d, start, tz)
                if opens > moment and (best is None or opens < best) and self.open_at(opens, tz):
                    best = opens
            if best is not None:
                return best
        raise AssertionError(f"no safe window found after {instant!r}")  # pragma: no cover


def _days_text(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{_DAYS[ordered[0]]}-{_DAYS[ordered[-1]]}".lower()
    return ",".join(_DAYS[d].lower() for d in ordered)


@dataclass(frozen=True)
class SendWindow:
    """When a non-urgent message may go to one mentee: outside quiet hours, inside a safe
    window (if they have any), and not before a code-word hold ends."""

    quiet: QuietHours | None = None
    safe: SafeWindows | None = None
    hold_until: datetime | None = None

    def describe(self) -> str:
        parts = []
        if self.quiet is not None:
            parts.append(self.quiet.describe())
        if self.safe is not None:
            parts.append(f"outside their safe-to-text times ({self.safe})")
        if self.hold_until is not None:
            parts.append("a code-word hold")
        return " or ".join(parts) or "no limits"

    def is_quiet(self, instant: datetime, tz: TimeZone) -> bool:
        moment = require_aware(instant)
        if self.hold_until is not None and moment < self.hold_until:
            return True
        if self.quiet is not None and self.quiet.is_quiet(moment, tz):
            return True
        return self.safe is not None and not self.safe.open_at(moment, tz)

    def next_open(self, instant: datetime, tz: TimeZone) -> datetime:
        moment = require_aware(instant)
        if self.hold_until is not None and moment < self.hold_until:
            moment = self.hold_until
        for _ in range(64):  # each step moves past one closed stretch; they cannot alternate forever
            if self.quiet is not None and self.quiet.is_quiet(moment, tz):
                moment = self.quiet.next_open(moment, tz)
                continue
            if self.safe is not None and not self.safe.open_at(moment, tz):
                moment = self.safe.next_open(moment, tz)
                continue
            return moment
        raise PlanError("the safe-to-text windows all fall inside quiet hours: nothing could ever be sent")
