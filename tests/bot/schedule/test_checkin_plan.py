"""When a mentee's check-ins fall: weekly plans across DST, release week, plan dates, pause."""

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.schedule import CheckinPlan, PlanError, checkins_between, next_checkins, parse_plan

LONDON = "Europe/London"
# Europe/London 2026: BST from 01:00 UTC on Sun 29 March to 01:00 UTC on Sun 25 October.
BST_STARTS = datetime(2026, 3, 29, 1, tzinfo=UTC)
BST_ENDS = datetime(2026, 10, 25, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def plan(text: str, **kwargs: object) -> CheckinPlan:
    return CheckinPlan(parse_plan(text), **kwargs)  # type: ignore[arg-type]


def ten_am_london(day: date) -> datetime:
    """10:00 London on `day`, worked out from the 2026 change dates, not from the code under test."""
    noon_utc = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    hour = 9 if BST_STARTS <= noon_utc < BST_ENDS else 10
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_mon_thu_10am_gives_exactly_the_right_instants_across_2026() -> None:
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    expected = [ten_am_london(d) for d in days if d.weekday() in (0, 3)]

    got = checkins_between(plan("mon,thu 10:00"), utc(2026, 1, 1), utc(2027, 1, 1))

    assert got == expected
    assert len(got) == 105  # 52 Mondays and 53 Thursdays in 2026
    assert len(set(got)) == len(got)


@pytest.mark.parametrize(
    "instant",
    [
        utc(2026, 3, 26, 10),  # Thu before spring forward: GMT
        utc(2026, 3, 30, 9),  # Mon after spring forward: BST
        utc(2026, 10, 22, 9),  # Thu before fall back: BST
        utc(2026, 10, 26, 10),  # Mon after fall back: GMT
    ],
)
def test_mon_thu_10am_either_side_of_the_clock_changes(instant: datetime) -> None:
    got = checkins_between(plan("mon,thu 10:00"), utc(2026, 3, 20), utc(2026, 11, 1))
    assert instant in got


def test_next_checkins_continues_from_any_instant_and_is_strictly_after_it() -> None:
    mon_thu = plan("mon,thu 10:00")
    first = next_checkins(mon_thu, utc(2026, 3, 26, 10), 3)
    assert first == [utc(2026, 3, 30, 9), utc(2026, 4, 2, 9), utc(2026, 4, 6, 9)]
    # Resuming from the last one fired never repeats it.
    assert next_checkins(mon_thu, first[-1], 1) == [utc(2026, 4, 9, 9)]


def test_next_checkins_agrees_with_checkins_between_over_a_year() -> None:
    tue_fri = plan("tue 10:00, fri 17:00")
    year = checkins_between(tue_fri, utc(2026, 1, 1), utc(2027, 1, 1))
    assert len(year) == 104
    assert next_checkins(tue_fri, utc(2025, 12, 31, 23, 59), len(year)) == year


def test_checkins_between_is_half_open() -> None:
    mon_thu = plan("mon,thu 10:00")
    monday, thursday = utc(2026, 1, 5, 10), utc(2026, 1, 8, 10)
    assert checkins_between(mon_thu, monday, thursday) == [monday]
    assert checkins_between(mon_thu, monday, monday) == []


@pytest.mark.parametrize(
    ("text", "after", "expected"),
    [
        # Spring forward: 01:30 does not exist on 29 March; it runs once at 02:00 BST.
        ("daily 01:30", utc(2026, 3, 28, 12), [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)]),
        # Fall back: 01:30 happens twice on 25 October; it runs once, at the first (BST) one.
        ("daily 01:30", utc(2026, 10, 24, 12), [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]),
        # Two planned times inside the missing hour collapse into one check-in.
        ("sun 01:15 01:45, mon 10:00", utc(2026, 3, 28), [utc(2026, 3, 29, 1), utc(2026, 3, 30, 9)]),
        # Times on either side of the repeated hour stay in order.
        (
            "sun 00:30 01:30 02:30",
            utc(2026, 10, 24),
            [utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 30)],
        ),
    ],
)
def test_a_0130_check_in_on_dst_sundays_runs_once(
    text: str, after: datetime, expected: list[datetime]
) -> None:
    assert next_checkins(plan(text), after, len(expected)) == expected


def test_a_check_in_already_sent_at_the_first_0130_is_not_sent_again_at_the_second() -> None:
    daily = plan("daily 01:30")
    sent = utc(2026, 10, 25, 0, 30)  # 01:30 BST
    assert next_checkins(daily, sent, 1) == [utc(2026, 10, 26, 1, 30)]
    # Even asking from inside the repeated hour (01:10 GMT) skips the second 01:30.
    assert next_checkins(daily, utc(2026, 10, 25, 1, 10), 1) == [utc(2026, 10, 26, 1, 30)]


def test_plans_follow_their_own_time_zone() -> None:
    new_york = plan("mon 09:00", tz="America/New_York")
    # US clocks change on 8 March, two weeks before London's.
    assert next_checkins(new_york, utc(2026, 3, 1), 2) == [utc(2026, 3, 2, 14), utc(2026, 3, 9, 13)]


def test_start_and_end_dates_bound_the_plan_inclusively() -> None:
    licence = plan("mon,thu 10:00", start_date=date(2026, 2, 5), end_date=date(2026, 2, 16))
    assert checkins_between(licence, utc(2026, 1, 1), utc(2027, 1, 1)) == [
        utc(2026, 2, 5, 10),
        utc(2026, 2, 9, 10),
        utc(2026, 2, 12, 10),
        utc(2026, 2, 16, 10),
    ]
    assert next_checkins(licence, utc(2026, 2, 16, 10), 5) == []


def test_a_future_start_date_is_waited_for() -> None:
    later = plan("mon,thu 10:00", start_date=date(2026, 6, 1))
    assert next_checkins(later, utc(2026, 1, 1), 1) == [utc(2026, 6, 1, 9)]


def test_a_paused_plan_yields_nothing_and_resumes_where_the_calendar_is() -> None:
    paused = plan("daily 10:00", paused=True)
    assert next_checkins(paused, utc(2026, 1, 1), 10) == []
    assert checkins_between(paused, utc(2026, 1, 1), utc(2027, 1, 1)) == []
    resumed = replace(paused, paused=False)
    assert next_checkins(resumed, utc(2026, 5, 5, 12), 1) == [utc(2026, 5, 6, 9)]


def test_release_week_is_daily_then_the_weekly_plan() -> None:
    # Released Wednesday 1 April 2026; the plan is Mondays and Thursdays at 10:00.
    released = plan("mon,thu 10:00", release_date=date(2026, 4, 1), release_daily_at=time(11, 0))
    got = checkins_between(released, utc(2026, 3, 30), utc(2026, 4, 17))
    assert got == [
        utc(2026, 3, 30, 9),  # Mon 30 Mar: weekly plan before release
        # Thu 2 .. Wed 8 April: daily at 11:00 BST, replacing Thursday's and Monday's 10:00
        utc(2026, 4, 2, 10),
        utc(2026, 4, 3, 10),
        utc(2026, 4, 4, 10),
        utc(2026, 4, 5, 10),
        utc(2026, 4, 6, 10),
        utc(2026, 4, 7, 10),
        utc(2026, 4, 8, 10),
        utc(2026, 4, 9, 9),  # Thu 9 Apr: back to the weekly plan
        utc(2026, 4, 13, 9),
        utc(2026, 4, 16, 9),
    ]


def test_release_day_itself_follows_the_weekly_plan() -> None:
    released = plan("mon,thu 10:00", release_date=date(2026, 4, 2), release_days=2)
    assert next_checkins(released, utc(2026, 4, 1), 4) == [
        utc(2026, 4, 2, 9),  # Thu: release day, weekly plan
        utc(2026, 4, 3, 9),  # Fri, Sat: daily at the default 10:00
        utc(2026, 4, 4, 9),
        utc(2026, 4, 6, 9),  # Mon: weekly plan
    ]


def test_a_release_date_in_the_past_only_affects_its_own_week() -> None:
    long_ago = plan("mon,thu 10:00", release_date=date(2025, 12, 1))
    assert next_checkins(long_ago, utc(2026, 1, 1), 3) == [
        utc(2026, 1, 1, 10),
        utc(2026, 1, 5, 10),
        utc(2026, 1, 8, 10),
    ]


def test_asking_during_release_week_gives_the_rest_of_it() -> None:
    released = plan("mon 10:00", release_date=date(2026, 1, 10), release_days=3)
    assert next_checkins(released, utc(2026, 1, 12, 12), 3) == [
        utc(2026, 1, 13, 10),
        utc(2026, 1, 19, 10),
        utc(2026, 1, 26, 10),
    ]


def test_release_week_is_bounded_by_the_plan_dates_and_pause() -> None:
    released = plan(
        "mon 10:00",
        release_date=date(2026, 1, 10),
        start_date=date(2026, 1, 12),
        end_date=date(2026, 1, 14),
    )
    assert checkins_between(released, utc(2026, 1, 1), utc(2027, 1, 1)) == [
        utc(2026, 1, 12, 10),
        utc(2026, 1, 13, 10),
        utc(2026, 1, 14, 10),
    ]
    assert checkins_between(replace(released, paused=True), utc(2026, 1, 1), utc(2027, 1, 1)) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tz": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        (
            {"start_date": date(2026, 2, 1), "end_date": date(2026, 1, 1)},
            "end date is before start date",
        ),
        ({"release_days": -1}, "release days cannot be negative"),
    ],
)
def test_impossible_plans_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        plan("mon 10:00", **kwargs)


def test_all_instants_are_utc_and_naive_input_is_refused() -> None:
    assert all(i.tzinfo is UTC for i in next_checkins(plan("daily 10:00"), utc(2026, 1, 1), 5))
    with pytest.raises(ValueError, match="timezone-aware"):
        next_checkins(plan("daily 10:00"), datetime(2026, 1, 1), 1)


def test_zero_count_asks_for_nothing() -> None:
    assert next_checkins(plan("daily 10:00"), utc(2026, 1, 1), 0) == []


@pytest.mark.parametrize("at", ["00:30", "01:00", "01:30", "01:59", "02:00", "10:00", "23:59"])
def test_a_daily_plan_fires_exactly_once_on_every_local_date_of_the_year(at: str) -> None:
    got = checkins_between(plan(f"daily {at}"), utc(2026, 1, 1), utc(2027, 1, 1))
    local_dates = [g.astimezone(ZoneInfo(LONDON)).date() for g in got]
    assert len(set(got)) == len(got)
    assert got == sorted(got)
    # London is on GMT (= UTC) at both ends of the year, so the local dates are exactly 2026's.
    assert local_dates == [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
