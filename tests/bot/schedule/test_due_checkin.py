"""The verdict on one claimed due check-in: cancel it, record it missed, hold it, skip it or start it."""

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.schedule import QuietHours
from bot.schedule.due_checkin import (
    IN_PROGRESS,
    NOT_ACTIVE,
    PLAN_CHANGED,
    UNAVAILABLE,
    Verdict,
    cancel_reason,
    dispatch_verdict,
)

LONDON = "Europe/London"
NIGHT = QuietHours(time(21), time(8))
WINDOW = timedelta(hours=3)
DUE = datetime(2026, 3, 9, 10, tzinfo=UTC)  # Monday 10:00 GMT


@pytest.mark.parametrize("status", ["paused", "opted_out", None])
def test_a_check_in_for_a_mentee_who_is_paused_opted_out_or_gone_is_cancelled(status: str | None) -> None:
    assert cancel_reason("checkin", 0, status, 0) == NOT_ACTIVE
    assert cancel_reason("oneoff", 0, status, 0) == NOT_ACTIVE


def test_a_planned_check_in_from_an_older_plan_is_cancelled_but_a_one_off_survives_a_plan_change() -> None:
    assert cancel_reason("checkin", 1, "active", 2) == PLAN_CHANGED
    assert cancel_reason("oneoff", 1, "active", 2) is None
    assert cancel_reason("checkin", 2, "active", 2) is None


def test_on_time_and_outside_quiet_hours_it_starts() -> None:
    assert dispatch_verdict(DUE, DUE + timedelta(seconds=30), WINDOW, LONDON, NIGHT,
                            in_progress=False) == Verdict("start")


def test_after_downtime_past_the_late_window_it_is_recorded_missed_not_sent() -> None:
    late = DUE + WINDOW + timedelta(seconds=1)
    assert dispatch_verdict(DUE, late, WINDOW, LONDON, NIGHT, in_progress=False) == Verdict(
        "missed", note=UNAVAILABLE)
    # Missed even when one is in progress: the row's record says why it never went.
    assert dispatch_verdict(DUE, late, WINDOW, LONDON, NIGHT, in_progress=True).status == "missed"


def test_inside_quiet_hours_it_waits_for_the_morning_even_if_one_is_in_progress() -> None:
    due = datetime(2026, 3, 9, 20, 30, tzinfo=UTC)
    now = datetime(2026, 3, 9, 21, 5, tzinfo=UTC)  # 21:05 London, inside the late window
    morning = datetime(2026, 3, 10, 8, tzinfo=UTC)
    for busy in (False, True):
        assert dispatch_verdict(due, now, WINDOW, LONDON, NIGHT, in_progress=busy) == Verdict(
            "pending", due_at=morning)


def test_quiet_hours_follow_london_summer_time() -> None:
    due = datetime(2026, 7, 1, 6, 30, tzinfo=UTC)  # 07:30 BST
    assert dispatch_verdict(due, due, WINDOW, LONDON, NIGHT, in_progress=False) == Verdict(
        "pending", due_at=datetime(2026, 7, 1, 7, tzinfo=UTC))  # 08:00 BST


def test_a_check_in_in_progress_is_never_interrupted() -> None:
    assert dispatch_verdict(DUE, DUE, WINDOW, LONDON, NIGHT, in_progress=True) == Verdict(
        "skipped", note=IN_PROGRESS)


def test_without_quiet_hours_a_night_time_check_in_starts() -> None:
    night = datetime(2026, 3, 9, 1, 30, tzinfo=UTC)
    assert dispatch_verdict(night, night, WINDOW, LONDON, None, in_progress=False) == Verdict("start")
