"""The send window of one mentee: service-wide quiet hours, or the mentee's own override, and
on top of them their safe-to-text windows and any code-word hold (bot/schedule/send_window.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.config import Config
from bot.schedule.quiet_hours import QuietHours
from bot.schedule.send_window import SafeWindows, SendWindow
from bot.storage.models import Mentee

# Said it is not safe to text at this number: nothing non-urgent goes until staff change it.
NEVER = datetime(9999, 1, 1, tzinfo=UTC)


def quiet_hours_for(config: Config, mentee: Mentee) -> Any:
    """None means no limits at all (an empty setting). A QuietHours, or a SendWindow for a
    mentee with safe-contact settings; both answer is_quiet() and next_open()."""
    quiet = _quiet_hours(config, mentee)
    safe = SafeWindows.parse(mentee.safe_windows) if getattr(mentee, "safe_windows", None) else None
    hold = getattr(mentee, "hold_until", None)
    if getattr(mentee, "safe_check", None) == "unsafe":
        hold = NEVER
    if safe is None and hold is None:
        return quiet
    return SendWindow(quiet, safe, hold)


def _quiet_hours(config: Config, mentee: Mentee) -> QuietHours | None:
    if mentee.quiet_start and mentee.quiet_end:
        return QuietHours.parse(f"{mentee.quiet_start}-{mentee.quiet_end}")
    if not config.service.quiet_hours:
        return None
    return QuietHours.parse(config.service.quiet_hours)


def has_safe_contact_limits(mentee: Mentee, now: datetime) -> bool:
    """Safe-to-text windows, a code-word hold or "not safe to text here": nobody overrides these."""
    hold = getattr(mentee, "hold_until", None)
    return bool(getattr(mentee, "safe_windows", None) or (hold is not None and hold > now)
                or getattr(mentee, "safe_check", None) == "unsafe")


def window_key(mentee: Mentee) -> tuple[Any, ...]:
    """Mentees with equal keys have equal send windows (for caching in batches)."""
    return (mentee.quiet_start, mentee.quiet_end, getattr(mentee, "safe_windows", None),
            getattr(mentee, "hold_until", None), getattr(mentee, "safe_check", None) == "unsafe")


def tz_for(mentee: Mentee) -> str:
    return mentee.timezone or "Europe/London"
