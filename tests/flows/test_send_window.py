"""Safe-to-text windows on top of quiet hours, in Europe/London wall time across DST (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.schedule import PlanError
from bot.schedule.quiet_hours import QuietHours
from bot.schedule.send_window import SafeWindows, SendWindow

LONDON = "Europe/London"
QUIET = QuietHours.parse("21:00-08:00")
WEEKDAYS = SafeWindows.parse("mon-fri 10:00-14:00")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("now", "opens"), [
    # GMT, winter: Tuesday 09:00 waits for 10:00 the same day.
    (utc(2026, 3, 10, 9, 0), utc(2026, 3, 10, 10, 0)),
    # Inside the window: at once.
    (utc(2026, 3, 10, 12, 0), utc(2026, 3, 10, 12, 0)),
    # Friday afternoon waits for Monday 10:00.
    (utc(2026, 3, 13, 15, 0), utc(2026, 3, 16, 10, 0)),
    # Friday 27 March (GMT) to Monday 30 March: the clocks go forward on Sunday, so 10:00 BST
    # on Monday is 09:00 UTC.
    (utc(2026, 3, 27, 15, 0), utc(2026, 3, 30, 9, 0)),
    # In BST, 09:30 UTC is 10:30 local: inside the window.
    (utc(2026, 3, 31, 9, 30), utc(2026, 3, 31, 9, 30)),
    # Friday 23 October (BST) to Monday 26 October (GMT again): 10:00 GMT.
    (utc(2026, 10, 23, 14, 0), utc(2026, 10, 26, 10, 0)),
])
def test_a_message_waits_for_the_next_safe_window(now: datetime, opens: datetime) -> None:
    window = SendWindow(QUIET, WEEKDAYS)
    assert window.next_open(now, LONDON) == opens
    assert window.is_quiet(now, LONDON) == (opens != now)


def test_quiet_hours_still_apply_inside_a_window_that_overlaps_them() -> None:
    window = SendWindow(QUIET, SafeWindows.parse("daily 07:00-09:00"))
    # 07:30 is in the safe window but still quiet hours: it goes at 08:00.
    assert window.next_open(utc(2026, 3, 10, 7, 30), LONDON) == utc(2026, 3, 10, 8, 0)


def test_a_code_word_hold_comes_first_then_the_windows() -> None:
    hold = utc(2026, 3, 10, 13, 30)
    window = SendWindow(QUIET, WEEKDAYS, hold_until=hold)
    assert window.is_quiet(utc(2026, 3, 10, 11, 0), LONDON)
    assert window.next_open(utc(2026, 3, 10, 11, 0), LONDON) == hold
    late = SendWindow(QUIET, WEEKDAYS, hold_until=utc(2026, 3, 10, 15, 0))
    assert late.next_open(utc(2026, 3, 10, 11, 0), LONDON) == utc(2026, 3, 11, 10, 0)


def test_windows_that_all_fall_in_quiet_hours_are_an_error_not_a_hang() -> None:
    window = SendWindow(QUIET, SafeWindows.parse("daily 22:00-23:00"))
    with pytest.raises(PlanError, match="all fall inside quiet hours"):
        window.next_open(utc(2026, 3, 10, 12, 0), LONDON)


@pytest.mark.parametrize(("text", "problem"), [
    ("10:00-14:00", "must look like 'mon-fri 10:00-14:00'"),
    ("mon 14:00-10:00", "must end after it starts"),
    ("funday 10:00-11:00", "unknown day 'funday'"),
    ("mon 10:00-25:00", "time must be HH:MM between 00:00 and 23:59"),
])
def test_a_bad_window_is_one_clear_line(text: str, problem: str) -> None:
    with pytest.raises(PlanError, match=problem):
        SafeWindows.parse(text)


def test_windows_read_back_as_written() -> None:
    assert str(SafeWindows.parse("Mon - Fri 10:00 - 14:00, sat 11:00-12:00")) == "mon-fri 10:00-14:00, sat 11:00-12:00"


def test_staff_cannot_set_windows_that_never_open(world) -> None:  # type: ignore[no-untyped-def]
    from bot.app import safety
    from bot.app.errors import InvalidInput

    with pytest.raises(InvalidInput, match="all fall inside quiet hours"):
        safety.change(world.svc, world.operator, world.sam, safety.SafetyChanges(windows="daily 22:00-23:00"))
    with pytest.raises(InvalidInput, match="is a service keyword"):
        safety.change(world.svc, world.operator, world.sam, safety.SafetyChanges(code_word="stop"))
    got = safety.change(world.svc, world.operator, world.sam, safety.SafetyChanges(code_word="Blue Moon"))
    assert got.has_code_word and "blue" not in repr(got).lower()
    [entry] = world.audited("mentee.safety")
    assert "blue" not in entry.detail.lower()


def test_now_never_overrides_a_safe_to_text_window(world) -> None:  # type: ignore[no-untyped-def]
    from bot.app import mentees, messages, safety

    world.clock.set(utc(2026, 3, 10, 22, 0))  # Tuesday 22:00: quiet hours and outside the window
    safety.change(world.svc, world.operator, world.sam, safety.SafetyChanges(windows="mon-fri 10:00-14:00"))
    queued = messages.reply_to_mentee(world.svc, world.dan, world.sam, "Hi Sam", send_now_anyway=True)
    assert queued.waits_until == utc(2026, 3, 11, 10, 0)
    started = mentees.start_checkin(world.svc, world.operator, world.sam, now_anyway=True)
    assert started.waits_until == utc(2026, 3, 11, 10, 0)
