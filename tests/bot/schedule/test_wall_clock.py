"""Local wall-clock time to UTC, with the service's DST rules, and local readings for staff."""

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.schedule import PlanError, describe_local, resolve_local, zone
from bot.schedule.wall_clock import next_offset_change, require_aware

LONDON = "Europe/London"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "at", "expected"),
    [
        # Ordinary winter and summer days.
        (date(2026, 1, 15), time(10), utc(2026, 1, 15, 10)),
        (date(2026, 7, 15), time(10), utc(2026, 7, 15, 9)),
        # Spring forward, Sunday 29 March 2026: 01:00 GMT jumps to 02:00 BST.
        (date(2026, 3, 29), time(0, 59), utc(2026, 3, 29, 0, 59)),
        (date(2026, 3, 29), time(1, 0), utc(2026, 3, 29, 1)),  # does not exist: 02:00 BST
        (date(2026, 3, 29), time(1, 30), utc(2026, 3, 29, 1)),  # does not exist: 02:00 BST
        (date(2026, 3, 29), time(1, 59), utc(2026, 3, 29, 1)),  # does not exist: 02:00 BST
        (date(2026, 3, 29), time(2, 0), utc(2026, 3, 29, 1)),
        (date(2026, 3, 29), time(2, 30), utc(2026, 3, 29, 1, 30)),
        (date(2026, 3, 29), time(10), utc(2026, 3, 29, 9)),
        # Fall back, Sunday 25 October 2026: 02:00 BST goes back to 01:00 GMT.
        (date(2026, 10, 25), time(0, 30), utc(2026, 10, 24, 23, 30)),
        (date(2026, 10, 25), time(1, 0), utc(2026, 10, 25, 0, 0)),  # first 01:00, BST
        (date(2026, 10, 25), time(1, 30), utc(2026, 10, 25, 0, 30)),  # first 01:30, BST
        (date(2026, 10, 25), time(2, 0), utc(2026, 10, 25, 2, 0)),
        (date(2026, 10, 25), time(10), utc(2026, 10, 25, 10)),
    ],
)
def test_london_wall_times_resolve_to_one_utc_instant(day: date, at: time, expected: datetime) -> None:
    assert resolve_local(day, at, LONDON) == expected


def test_the_second_occurrence_of_a_repeated_time_is_available_on_request() -> None:
    assert resolve_local(date(2026, 10, 25), time(1, 30), LONDON, fold=1) == utc(2026, 10, 25, 1, 30)


def test_resolved_instants_are_utc() -> None:
    assert resolve_local(date(2026, 7, 1), time(10), LONDON).tzinfo is UTC


@pytest.mark.parametrize(
    ("tz", "day", "at", "expected"),
    [
        # New York springs forward at 02:00 EST -> 03:00 EDT (07:00 UTC).
        ("America/New_York", date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7)),
        # Lord Howe moves only 30 minutes: 02:00 -> 02:30 (+11:00).
        ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 10), utc(2026, 10, 3, 15, 30)),
    ],
)
def test_missing_times_elsewhere_also_move_to_the_moment_the_clocks_change(
    tz: str, day: date, at: time, expected: datetime
) -> None:
    assert resolve_local(day, at, tz) == expected


def test_an_unknown_time_zone_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match="unknown time zone 'Europe/Lundon'"):
        zone("Europe/Lundon")


def test_tzinfo_objects_are_accepted_as_zones() -> None:
    london = ZoneInfo(LONDON)
    assert zone(london) is london
    assert resolve_local(date(2026, 7, 1), time(10), london) == utc(2026, 7, 1, 9)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        require_aware(datetime(2026, 1, 1, 10))
    assert require_aware(datetime(2026, 1, 1, 11, tzinfo=timezone(timedelta(hours=1)))) == utc(
        2026, 1, 1, 10
    )


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (utc(2026, 3, 30, 9), "Mon 30 Mar 10:00 BST"),
        (utc(2026, 3, 26, 10), "Thu 26 Mar 10:00 GMT"),
        (utc(2026, 10, 25, 0, 30), "Sun 25 Oct 01:30 BST"),
        (utc(2026, 10, 25, 1, 30), "Sun 25 Oct 01:30 GMT"),
        (utc(2027, 1, 4, 10, 5), "Mon 4 Jan 10:05 GMT"),
    ],
)
def test_describe_local_reads_an_instant_in_london_time(instant: datetime, expected: str) -> None:
    assert describe_local(instant, LONDON) == expected


def test_next_offset_change_finds_the_moment_the_clocks_change() -> None:
    horizon = timedelta(days=2)
    assert next_offset_change(utc(2026, 3, 28), LONDON, horizon) == utc(2026, 3, 29, 1)
    assert next_offset_change(utc(2026, 10, 24, 12), LONDON, horizon) == utc(2026, 10, 25, 1)
    assert next_offset_change(utc(2026, 6, 1), LONDON, horizon) is None


@pytest.mark.parametrize("sunday", [date(2026, 3, 29), date(2026, 10, 25)])
def test_resolve_local_agrees_with_a_minute_by_minute_walk_on_dst_sundays(sunday: date) -> None:
    """Every wall minute of the day maps to the first UTC minute showing it, or, if no minute
    shows it, the first one showing a later wall time."""
    london = ZoneInfo(LONDON)
    start = datetime.combine(sunday, time(0), tzinfo=UTC) - timedelta(hours=2)
    grid = [start + timedelta(minutes=m) for m in range(28 * 60)]
    walls = [g.astimezone(london).replace(tzinfo=None) for g in grid]
    for minute in range(24 * 60):
        wanted = datetime.combine(sunday, time(minute // 60, minute % 60))
        first = next(g for g, w in zip(grid, walls, strict=True) if w >= wanted)
        assert resolve_local(sunday, wanted.time(), LONDON) == first, wanted
