"""Parsing and printing a mentee's weekly check-in plan."""

from datetime import time

import pytest

from bot.schedule import PlanError, WeeklyPlan, parse_plan

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


@pytest.mark.parametrize(
    ("text", "slots"),
    [
        ("mon,thu 10:00", {(MON, time(10)), (THU, time(10))}),
        ("daily 18:30", {(d, time(18, 30)) for d in range(7)}),
        ("mon-fri 09:15", {(d, time(9, 15)) for d in range(5)}),
        ("tue 10:00, fri 17:00", {(TUE, time(10)), (FRI, time(17))}),
        ("MON,Thu 10:00", {(MON, time(10)), (THU, time(10))}),
        ("Monday, Thursday 10:00", {(MON, time(10)), (THU, time(10))}),
        ("tues thurs 9:05", {(TUE, time(9, 5)), (THU, time(9, 5))}),
        ("mon - wed 08:00", {(MON, time(8)), (TUE, time(8)), (WED, time(8))}),
        ("fri-mon 12:00", {(FRI, time(12)), (SAT, time(12)), (SUN, time(12)), (MON, time(12))}),
        ("weekends 11:00", {(SAT, time(11)), (SUN, time(11))}),
        ("weekdays 07:45", {(d, time(7, 45)) for d in range(5)}),
        ("mon,thu 10:00 18:00", {(MON, time(10)), (THU, time(10)), (MON, time(18)), (THU, time(18))}),
        ("mon 10:00, mon 10:00", {(MON, time(10))}),
        ("sun 00:00, sat 23:59", {(SUN, time(0)), (SAT, time(23, 59))}),
    ],
)
def test_plan_text_is_read_into_weekday_and_time_slots(text: str, slots: set) -> None:
    assert parse_plan(text).slots == frozenset(slots)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("mon,thu 10:00", "mon,thu 10:00"),
        ("Thursday, Monday 10:00", "mon,thu 10:00"),
        ("daily 18:30", "daily 18:30"),
        ("mon-sun 18:30", "daily 18:30"),
        ("mon-fri 09:15", "mon-fri 09:15"),
        ("tue 10:00, fri 17:00", "tue 10:00, fri 17:00"),
        ("fri 17:00, tue 10:00", "tue 10:00, fri 17:00"),
        ("fri-mon 9:00", "mon,fri-sun 09:00"),
        ("thu 18:00 10:00, mon 10:00 18:00", "mon,thu 10:00 18:00"),
        ("mon,tue,wed,fri,sat 08:00", "mon-wed,fri,sat 08:00"),
    ],
)
def test_a_plan_prints_in_one_canonical_form_that_parses_back(text: str, canonical: str) -> None:
    plan = parse_plan(text)
    assert str(plan) == canonical
    assert parse_plan(str(plan)) == plan


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mnd 10:00", "unknown day 'mnd'"),
        ("mon-xyz 10:00", "unknown day 'xyz'"),
        ("daily-fri 10:00", "unknown day 'daily'"),
        ("mon 25:00", "time must be HH:MM between 00:00 and 23:59 (got '25:00')"),
        ("mon 10:60", "time must be HH:MM between 00:00 and 23:59 (got '10:60')"),
        ("mon 10am", "time must be HH:MM, like 10:00 (got '10am')"),
        ("mon 10", "time must be HH:MM, like 10:00 (got '10')"),
        ("mon 10.00", "time must be HH:MM, like 10:00 (got '10.00')"),
        ("10:00", "time 10:00 has no day before it"),
        ("mon", "no time given for 'mon': add one like 10:00"),
        ("mon 10:00, thu", "no time given for 'thu': add one like 10:00"),
        ("", "plan is empty: try something like 'mon,thu 10:00'"),
        ("  ,  ", "plan is empty: try something like 'mon,thu 10:00'"),
    ],
)
def test_bad_plan_text_is_refused_with_one_plain_line(text: str, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(text)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_plan_error_is_a_value_error() -> None:
    assert issubclass(PlanError, ValueError)


def test_times_on_lists_a_days_times_earliest_first() -> None:
    plan = parse_plan("mon 18:00, mon,thu 10:00")
    assert plan.times_on(MON) == (time(10), time(18))
    assert plan.times_on(THU) == (time(10),)
    assert plan.times_on(SUN) == ()


def test_daily_plan_has_every_weekday() -> None:
    assert WeeklyPlan.daily(time(9)) == parse_plan("daily 09:00")


def test_slots_must_be_real_weekdays_and_whole_minutes() -> None:
    with pytest.raises(PlanError):
        WeeklyPlan(frozenset({(7, time(10))}))
    with pytest.raises(PlanError):
        WeeklyPlan(frozenset({(0, time(10, 0, 30))}))
