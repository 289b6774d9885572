"""A mentee's weekly check-in plan: which weekdays, at which local wall-clock times.

Text form, as staff type it (case-insensitive):
    "mon,thu 10:00"            two days, one time
    "daily 18:30"              every day ("weekdays" and "weekends" work too)
    "mon-fri 09:15"            a range (ranges may wrap: "fri-mon")
    "tue 10:00, fri 17:00"     different times on different days
    "mon,thu 10:00 18:00"      two times on the same days
    "first mon 10:00"          monthly: the first Monday of each month ("monthly mon 10:00" too)
Full day names ("monday") and common short forms ("tues", "thurs") are accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from bot.schedule.errors import PlanError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_DAY_WORDS: dict[str, tuple[int, ...]] = {
    **{name: (i,) for i, name in enumerate(DAY_NAMES)},
    **{
        full: (i,)
        for i, full in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    "tues": (1,),
    "weds": (2,),
    "thur": (3,),
    "thurs": (3,),
    "daily": tuple(range(7)),
    "everyday": tuple(range(7)),
    "weekdays": tuple(range(5)),
    "weekends": (5, 6),
}

_TIME = re.compile(r"(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class WeeklyPlan:
    """Weekly (weekday, local time) slots; weekday 0 is Monday, as in `date.weekday()`."""

    slots: frozenset[tuple[int, time]]
    first_of_month: bool = False  # only on the first of each weekday in a month (days 1-7)

    def __post_init__(self) -> None:
        for weekday, at in self.slots:
            if not 0 <= weekday <= 6:
                raise PlanError(f"weekday must be 0-6, got {weekday}")
            if at.tzinfo is not None or at.second or at.microsecond:
                raise PlanError("plan times are whole minutes of local wall-clock time")

    @classmethod
    def daily(cls, at: time) -> WeeklyPlan:
        """Every day at `at`."""
        return cls(frozenset((d, at) for d in range(7)))

    def times_on(self, weekday: int) -> tuple[time, ...]:
        """The local times planned on `weekday`, earliest first."""
        return tuple(sorted(at for d, at in self.slots if d == weekday))

    def __str__(self) -> str:
        """Canonical text that `parse_plan` reads back to an equal plan."""
        by_time: dict[time, list[int]] = {}
        for weekday, at in self.slots:
            by_time.setdefault(at, []).append(weekday)
        # Times that share exactly the same days are written together: "mon,thu 10:00 18:00".
        by_days: dict[tuple[int, ...], list[time]] = {}
        for at, days in by_time.items():
            by_days.setdefault(tuple(sorted(days)), []).append(at)
        groups = sorted((days, sorted(times)) for days, times in by_days.items())
        return ("first " if self.first_of_month else "") + ", ".join(
            f"{_days_text(list(days))} {' '.join(f'{at:%H:%M}' for at in times)}"
            for days, times in groups
        )


def parse_plan(text: str) -> WeeklyPlan:
    """Parse staff text such as "mon,thu 10:00" into a WeeklyPlan, or raise PlanError."""
    tokens = re.sub(r"\s*-\s*", "-", text.strip().lower()).replace(",", " ").split()
    if not tokens:
        raise PlanError("plan is empty: try something like 'mon,thu 10:00'")
    first = tokens[0] in {"first", "monthly"}
    if first:
        tokens = tokens[1:]
        if not tokens:
            raise PlanError("a monthly plan needs a day and a time, like 'first mon 10:00'")
    slots: set[tuple[int, time]] = set()
    pending: list[int] = []  # days waiting for their time
    last_days: list[int] = []  # days of the previous time, for "mon 10:00 18:00"
    for token in tokens:
        if any(ch.isdigit() for ch in token):
            at = parse_clock_time(token)
            days = pending or last_days
            if not days:
                raise PlanError(f"time {token} has no day before it")
            slots.update((d, at) for d in days)
            last_days, pending = days, []
        else:
            pending.extend(_parse_days(token))
    if pending:
        raise PlanError(f"no time given for '{tokens[-1]}': add one like 10:00")
    return WeeklyPlan(frozenset(slots), first_of_month=first)


def parse_clock_time(token: str) -> time:
    """A 24-hour "HH:MM" local time, or PlanError."""
    match = _TIME.fullmatch(token)
    if match is None:
        raise PlanError(f"time must be HH:MM, like 10:00 (got '{token}')")
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise PlanError(f"time must be HH:MM between 00:00 and 23:59 (got '{token}')")
    return time(hour, minute)


def _parse_days(token: str) -> list[int]:
    if "-" in token:
        first, _, last = token.partition("-")
        start, end = _single_day(first), _single_day(last)
        return [(start + i) % 7 for i in range((end - start) % 7 + 1)]
    if token not in _DAY_WORDS:
        raise PlanError(f"unknown day '{token}'")
    return list(_DAY_WORDS[token])


def _single_day(word: str) -> int:
    days = _DAY_WORDS.get(word)
    if days is None or len(days) != 1:
        raise PlanError(f"unknown day '{word}'")
    return days[0]


def _days_text(days: list[int]) -> str:
    """Sorted weekdays as "daily", or runs of three or more as ranges: "mon-wed,fri"."""
    if len(days) == 7:
        return "daily"
    runs: list[list[int]] = []
    for d in days:
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}")
        else:
            parts.extend(DAY_NAMES[d] for d in run)
    return ",".join(parts)
