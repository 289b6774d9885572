"""Quiet hours: nothing goes to a mentee inside them; a message due then waits for the window."""

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.schedule import (
    CheckinPlan,
    PlanError,
    QuietHours,
    checkins_between,
    defer_to_window,
    parse_plan,
)

LONDON = "Europe/London"
NIGHT = QuietHours(time(21, 0), time(8, 0))  # wraps midnight
LUNCH = QuietHours(time(12, 0), time(13, 30))  # does not wrap


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("quiet", "instant", "expected"),
    [
        # Winter (GMT = UTC).
        (NIGHT, utc(2026, 1, 10, 20, 59, 59), False),
        (NIGHT, utc(2026, 1, 10, 21, 0), True),  # exactly at start: quiet
        (NIGHT, utc(2026, 1, 10, 23, 59), True),
        (NIGHT, utc(2026, 1, 11, 0, 0), True),  # midnight inside a wrapping window
        (NIGHT, utc(2026, 1, 11, 7, 59, 59), True),
        (NIGHT, utc(2026, 1, 11, 8, 0), False),  # exactly at end: open
        # Summer (BST = UTC+1): the window follows the wall clock.
        (NIGHT, utc(2026, 7, 10, 19, 59), False),
        (NIGHT, utc(2026, 7, 10, 20, 0), True),  # 21:00 BST
        (NIGHT, utc(2026, 7, 11, 6, 59), True),
        (NIGHT, utc(2026, 7, 11, 7, 0), False),  # 08:00 BST
        (LUNCH, utc(2026, 1, 10, 11, 59), False),
        (LUNCH, utc(2026, 1, 10, 12, 0), True),
        (LUNCH, utc(2026, 1, 10, 13, 29), True),
        (LUNCH, utc(2026, 1, 10, 13, 30), False),
        (LUNCH, utc(2026, 1, 10, 23, 0), False),
    ],
)
def test_is_quiet_at_the_boundaries(quiet: QuietHours, instant: datetime, expected: bool) -> None:
    assert quiet.is_quiet(instant, LONDON) is expected


def test_is_quiet_reads_any_aware_instant_in_the_mentees_zone() -> None:
    paris_evening = datetime(2026, 1, 10, 21, 30, tzinfo=timezone(timedelta(hours=1)))  # 20:30 London
    assert not NIGHT.is_quiet(paris_evening, LONDON)
    assert NIGHT.is_quiet(paris_evening, "Europe/Paris")


@pytest.mark.parametrize(
    ("quiet", "instant", "expected"),
    [
        (NIGHT, utc(2026, 1, 10, 15), utc(2026, 1, 10, 15)),  # open: unchanged
        (NIGHT, utc(2026, 1, 10, 20, 59), utc(2026, 1, 10, 20, 59)),
        (NIGHT, utc(2026, 1, 10, 21), utc(2026, 1, 11, 8)),  # exactly at start
        (NIGHT, utc(2026, 1, 10, 23, 30), utc(2026, 1, 11, 8)),  # before midnight
        (NIGHT, utc(2026, 1, 11, 3), utc(2026, 1, 11, 8)),  # after midnight
        (NIGHT, utc(2026, 1, 11, 8), utc(2026, 1, 11, 8)),  # exactly at end
        (NIGHT, utc(2026, 7, 10, 22), utc(2026, 7, 11, 7)),  # summer: 08:00 BST
        (LUNCH, utc(2026, 1, 10, 12, 10), utc(2026, 1, 10, 13, 30)),
        # Spring forward: the night of 28/29 March is an hour shorter; still opens at 08:00 BST.
        (NIGHT, utc(2026, 3, 28, 21, 30), utc(2026, 3, 29, 7)),
        (NIGHT, utc(2026, 3, 29, 0, 59), utc(2026, 3, 29, 7)),
        (NIGHT, utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 7)),
        # Fall back: the night of 24/25 October is an hour longer; opens at 08:00 GMT.
        (NIGHT, utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 8)),
        (NIGHT, utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 8)),
        (NIGHT, utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 8)),
    ],
)
def test_next_open_is_the_first_instant_outside_quiet_hours(
    quiet: QuietHours, instant: datetime, expected: datetime
) -> None:
    opens = quiet.next_open(instant, LONDON)
    assert opens == expected
    assert opens.tzinfo is UTC
    assert not quiet.is_quiet(opens, LONDON)
    assert quiet.is_quiet(opens - timedelta(seconds=1), LONDON) or opens == instant


def test_a_window_ending_inside_the_missing_hour_opens_when_the_clocks_change() -> None:
    late = QuietHours(time(21), time(1, 30))
    # 01:30 does not exist on 29 March: the wall clock jumps from 01:00 GMT to 02:00 BST.
    assert late.next_open(utc(2026, 3, 28, 22), LONDON) == utc(2026, 3, 29, 1)


def test_a_window_ending_inside_the_repeated_hour_opens_at_each_pass_of_the_wall_clock() -> None:
    late = QuietHours(time(21), time(1, 30))
    # First 01:30 (BST) opens the window...
    assert late.next_open(utc(2026, 10, 24, 21), LONDON) == utc(2026, 10, 25, 0, 30)
    # ...and from inside the repeated hour (01:10 GMT), the next wall-clock 01:30 is the GMT one,
    # never an instant in the past.
    assert late.is_quiet(utc(2026, 10, 25, 1, 10), LONDON)
    assert late.next_open(utc(2026, 10, 25, 1, 10), LONDON) == utc(2026, 10, 25, 1, 30)


def test_a_window_the_clocks_jump_out_of_opens_at_the_change() -> None:
    repeated = QuietHours(time(1, 30), time(3, 0))
    # 01:45 BST is quiet; at 01:00 UTC the wall clock goes back to 01:00 GMT, before 01:30.
    assert repeated.next_open(utc(2026, 10, 25, 0, 45), LONDON) == utc(2026, 10, 25, 1)


def test_defer_to_window_moves_a_due_message_out_of_quiet_hours() -> None:
    assert defer_to_window(utc(2026, 1, 10, 22), LONDON, NIGHT) == utc(2026, 1, 11, 8)
    assert defer_to_window(utc(2026, 1, 10, 10), LONDON, NIGHT) == utc(2026, 1, 10, 10)
    assert defer_to_window(utc(2026, 1, 10, 22), LONDON, None) == utc(2026, 1, 10, 22)


def test_quiet_hours_read_and_print_as_text() -> None:
    assert QuietHours.parse("21:00-08:00") == NIGHT
    assert QuietHours.parse(" 21:00 - 8:00 ") == NIGHT
    assert str(NIGHT) == "21:00-08:00"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("21:00", "quiet hours must look like 21:00-08:00 (got '21:00')"),
        ("21:00-25:00", "time must be HH:MM between 00:00 and 23:59 (got '25:00')"),
        ("9pm-8:00", "time must be HH:MM, like 10:00 (got '9pm')"),
        ("08:00-08:00", "quiet hours must start and end at different times"),
    ],
)
def test_bad_quiet_hours_are_refused(text: str, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        QuietHours.parse(text)
    assert str(caught.value) == message


def _minute_grid(start: datetime, days: int) -> list[datetime]:
    return [start + timedelta(minutes=m) for m in range(days * 24 * 60)]


@pytest.mark.parametrize("weekend_start", [utc(2026, 3, 27, 12), utc(2026, 10, 23, 12)])
@pytest.mark.parametrize(
    "window", ["21:00-08:00", "21:00-01:30", "01:30-03:00", "00:30-02:30", "12:00-13:30"]
)
def test_next_open_agrees_with_a_minute_by_minute_walk_over_dst_weekends(
    weekend_start: datetime, window: str
) -> None:
    """Cross-check against brute force: the first minute whose London wall time is not quiet."""
    quiet = QuietHours.parse(window)
    grid = _minute_grid(weekend_start, 4)
    next_open_index: list[int | None] = [None] * len(grid)
    upcoming: int | None = None
    for i in range(len(grid) - 1, -1, -1):
        if not quiet.is_quiet(grid[i], LONDON):
            upcoming = i
        next_open_index[i] = upcoming
    for i in range(0, len(grid), 7):
        j = next_open_index[i]
        if j is not None:
            assert quiet.next_open(grid[i], LONDON) == grid[j], grid[i]


def test_a_check_in_planned_inside_quiet_hours_goes_at_opening_every_day_of_the_year() -> None:
    early = CheckinPlan(parse_plan("daily 07:00"))
    planned = checkins_between(early, utc(2026, 1, 1), utc(2027, 1, 1))
    sent = [defer_to_window(due, LONDON, NIGHT) for due in planned]
    walls = {s.astimezone(ZoneInfo(LONDON)).time() for s in sent}
    assert walls == {time(8, 0)}
    assert len(set(sent)) == len(sent) == 365
