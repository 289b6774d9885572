"""After downtime a check-in goes out once or is missed; reminders and expiry follow the policy."""

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.schedule import (
    FollowUpPolicy,
    PlanError,
    QuietHours,
    dispatch_time,
    expiry_at,
    misfire_decision,
    reminder_at,
)

LONDON = "Europe/London"
NIGHT = QuietHours(time(21), time(8))
WINDOW = timedelta(hours=2)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


DUE = utc(2026, 1, 5, 10)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (DUE, "send"),  # on time
        (DUE + timedelta(minutes=5), "send"),  # a short restart
        (DUE + WINDOW - timedelta(seconds=1), "send"),
        (DUE + WINDOW, "send"),  # exactly at the end of the window: still sent
        (DUE + WINDOW + timedelta(seconds=1), "missed"),
        (DUE + timedelta(days=3), "missed"),  # down for days: recorded as missed, not sent
    ],
)
def test_misfire_decision_sends_inside_the_window_and_misses_after(
    now: datetime, expected: str
) -> None:
    assert misfire_decision(DUE, now, WINDOW) == expected


def test_after_long_downtime_only_rows_inside_the_window_are_sent() -> None:
    """Back after three days: of six Mon/Thu check-ins and today's, only today's goes out."""
    due_rows = [utc(2026, 1, d, 10) for d in (1, 5, 8, 12, 15, 19)] + [utc(2026, 1, 22, 9, 30)]
    now = utc(2026, 1, 22, 10, 15)
    decisions = [misfire_decision(due, now, WINDOW) for due in due_rows]
    assert decisions == ["missed"] * 6 + ["send"]


def test_misfire_decision_refuses_rows_not_yet_due_and_bad_windows() -> None:
    with pytest.raises(ValueError, match="not due yet"):
        misfire_decision(DUE, DUE - timedelta(seconds=1), WINDOW)
    with pytest.raises(ValueError, match="cannot be negative"):
        misfire_decision(DUE, DUE, -WINDOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        misfire_decision(datetime(2026, 1, 5, 10), DUE, WINDOW)


@pytest.mark.parametrize(
    ("due", "now", "expected"),
    [
        (utc(2026, 1, 5, 10), utc(2026, 1, 5, 10, 30), utc(2026, 1, 5, 10, 30)),  # send now
        (utc(2026, 1, 5, 10), utc(2026, 1, 5, 13), None),  # missed
        # Due 20:00, service back at 21:30: inside the window but quiet, so wait for 08:00.
        (utc(2026, 1, 5, 20), utc(2026, 1, 5, 21, 30), utc(2026, 1, 6, 8)),
        # Same in summer: 21:30 BST back, opens 08:00 BST.
        (utc(2026, 7, 6, 19), utc(2026, 7, 6, 20, 30), utc(2026, 7, 7, 7)),
    ],
)
def test_dispatch_time_checks_the_window_and_quiet_hours_when_the_message_leaves(
    due: datetime, now: datetime, expected: datetime | None
) -> None:
    assert dispatch_time(due, now, WINDOW, LONDON, NIGHT) == expected


def test_a_deferred_check_in_restarts_its_window_when_quiet_hours_end() -> None:
    due, back = utc(2026, 1, 5, 20), utc(2026, 1, 5, 21, 30)
    new_due = dispatch_time(due, back, WINDOW, LONDON, NIGHT)
    assert new_due == utc(2026, 1, 6, 8)
    a_minute_later = new_due + timedelta(minutes=1)
    assert dispatch_time(new_due, a_minute_later, WINDOW, LONDON, NIGHT) == a_minute_later


def test_dispatch_time_without_quiet_hours_sends_now() -> None:
    assert dispatch_time(utc(2026, 1, 5, 22), utc(2026, 1, 5, 22, 1), WINDOW, LONDON, None) == utc(
        2026, 1, 5, 22, 1
    )


POLICY = FollowUpPolicy(
    remind_after=timedelta(hours=4),
    expire_after=timedelta(hours=20),
    reply_time_after_reminder=timedelta(hours=2),
)


@pytest.mark.parametrize(
    ("sent", "reminder", "expiry"),
    [
        # 10:00 check-in: reminder 14:00, expires 06:00 next day.
        (utc(2026, 1, 5, 10), utc(2026, 1, 5, 14), utc(2026, 1, 6, 6)),
        # 18:30 check-in: 22:30 is quiet, the reminder waits for 08:00; expiry 14:30 stays.
        (utc(2026, 1, 5, 18, 30), utc(2026, 1, 6, 8), utc(2026, 1, 6, 14, 30)),
        # Summer 18:30 BST: reminder at 08:00 BST next morning.
        (utc(2026, 7, 6, 17, 30), utc(2026, 7, 7, 7), utc(2026, 7, 7, 13, 30)),
    ],
)
def test_reminder_is_kept_out_of_quiet_hours_and_expiry_follows(
    sent: datetime, reminder: datetime, expiry: datetime
) -> None:
    assert reminder_at(sent, POLICY, LONDON, NIGHT) == reminder
    assert expiry_at(sent, POLICY, LONDON, NIGHT) == expiry


def test_expiry_leaves_time_to_answer_a_reminder_pushed_late_by_quiet_hours() -> None:
    short = FollowUpPolicy(timedelta(hours=2), timedelta(hours=6), timedelta(hours=3))
    sent = utc(2026, 1, 5, 20)  # reminder 22:00 is quiet -> 08:00; plain expiry would be 02:00
    assert reminder_at(sent, short, LONDON, NIGHT) == utc(2026, 1, 6, 8)
    assert expiry_at(sent, short, LONDON, NIGHT) == utc(2026, 1, 6, 11)


def test_without_quiet_hours_follow_ups_are_plain_offsets() -> None:
    sent = utc(2026, 1, 5, 20)
    assert reminder_at(sent, POLICY, LONDON, None) == utc(2026, 1, 6, 0)
    assert expiry_at(sent, POLICY, LONDON, None) == utc(2026, 1, 6, 16)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"remind_after": timedelta(0)}, "reminder delay must be positive"),
        (
            {"remind_after": timedelta(hours=5), "expire_after": timedelta(hours=5)},
            "expiry must come after",
        ),
        ({"reply_time_after_reminder": timedelta(hours=-1)}, "cannot be negative"),
    ],
)
def test_impossible_follow_up_policies_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        FollowUpPolicy(**kwargs)
