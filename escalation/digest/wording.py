"""Plain words for digest figures, shared by the HTML, text and CSV renderings."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from escalation.digest.results import AlertFigure, Digest
from escalation.digest.reasons import (
    AlertConcern,
    MissedStreak,
    MoodFalling,
    NoContact,
    OptedOut,
    Reason,
    Unreachable,
)
from escalation.digest.week import Week

_CATEGORY_NAMES = {"crisis": "Crisis", "housing": "Housing", "domestic_abuse": "Domestic abuse"}

# Mood 1 (low) .. 5 (good): red to green, with dark text where the background is light.
MOOD_COLOURS: dict[int, tuple[str, str]] = {
    1: ("#c62828", "#ffffff"),
    2: ("#f4a261", "#1a1a1a"),
    3: ("#ffe08a", "#1a1a1a"),
    4: ("#a5d68a", "#1a1a1a"),
    5: ("#2e7d32", "#ffffff"),
}
NO_ANSWER_COLOURS = ("#e6e6e6", "#555555")
NOT_JOINED_COLOURS = ("#ffffff", "#999999")


def category_name(category: str) -> str:
    return _CATEGORY_NAMES.get(category, category.replace("_", " ").capitalize())


def duration(span: timedelta) -> str:
    """E.g. "under 1 min", "12 min", "2 h 5 min", "3 days 4 h"."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return "under 1 min"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        unit = "day" if days == 1 else "days"
        return f"{days} {unit} {hours} h" if hours else f"{days} {unit}"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def local_time(instant: datetime, tz: ZoneInfo) -> str:
    """E.g. "Tue 20 Oct 14:05" in UK time."""
    local = instant.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def sortable_time(instant: datetime, tz: ZoneInfo) -> str:
    """E.g. "2026-10-20 14:05" in UK time: what a spreadsheet sorts and parses."""
    return f"{instant.astimezone(tz):%Y-%m-%d %H:%M}"


def local_day(instant: datetime, tz: ZoneInfo) -> str:
    local = instant.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b}"


def week_span(week: Week) -> str:
    """E.g. "Monday 19 October to Sunday 25 October 2026"."""
    mon, sun = week.monday, week.sunday
    return f"Monday {mon.day} {mon:%B} to Sunday {sun.day} {sun:%B %Y}"


def week_column(week: Week) -> str:
    """Short heading for a mood column: the Monday, e.g. "19 Oct"."""
    return f"{week.monday.day} {week.monday:%b}"


def rate(value: float | None) -> str:
    return "n/a" if value is None else f"{round(value * 100)}%"


def trend(points: int | None) -> str:
    if points is None:
        return "no earlier figure"
    if points == 0:
        return "no change"
    return f"up {points} points" if points > 0 else f"down {-points} points"


def mood(mean: float | None) -> str:
    return "-" if mean is None else f"{mean:.1f}"


def mood_colours(mean: float | None, before_joining: bool) -> tuple[str, str]:
    """(background, text) colours for a mood cell."""
    if before_joining:
        return NOT_JOINED_COLOURS
    if mean is None:
        return NO_ANSWER_COLOURS
    return MOOD_COLOURS[min(5, max(1, int(mean + 0.5)))]


def alert_state(alert: AlertFigure) -> str:
    if alert.time_to_ack is None:
        return "not acknowledged"
    late = " (late)" if alert.late else ""
    closed = ", closed" if alert.state == "closed" else ", still open"
    return f"acknowledged after {duration(alert.time_to_ack)}{late}{closed}"


def describe(reason: Reason, digest: Digest) -> str:
    """One plain sentence saying why a mentee needs a look."""
    tz = digest.week.tz
    match reason:
        case AlertConcern(alert=a):
            target = duration(digest.rules.ack_target(a.severity))
            raised = local_time(a.created_at, tz)
            head = f"{category_name(a.category)} alert {a.code} ({a.severity}) raised {raised}"
            if a.time_to_ack is None:
                return f"{head}: not acknowledged (target {target})"
            return f"{head}: {alert_state(a)}; target {target}"
        case Unreachable(since=since):
            return f"Messages not getting through since {local_day(since, tz)}"
        case OptedOut(at=at):
            return f"Opted out of check-ins on {local_day(at, tz)}"
        case MissedStreak(count=count):
            return f"Missed the last {count} check-ins in a row"
        case NoContact(days=days, since=since):
            if since is None:
                return f"No message since joining ({days} days)"
            return f"No message for {days} days (last on {local_day(since, tz)})"
        case MoodFalling(earlier=earlier, this_week=now):
            return f"Mood falling: {now:.1f} this week, {earlier:.1f} in the weeks before"
    raise TypeError(f"no wording for reason {reason!r}")
