"""What to do with a due message found late (after downtime): send it once, or record it missed.

Never a burst: each due row gets one decision, and anything older than the window is missed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from bot.schedule.quiet_hours import QuietHours
from bot.schedule.wall_clock import TimeZone, require_aware

MisfireDecision = Literal["send", "missed"]


def misfire_decision(due: datetime, now: datetime, window: timedelta) -> MisfireDecision:
    """"send" if `now` is at most `window` after `due` (inclusive), else "missed".

    Asking before `due` is a bug in the caller (rows are claimed only once due) and raises.
    """
    due_utc, now_utc = require_aware(due, "due"), require_aware(now, "now")
    if window < timedelta(0):
        raise ValueError("misfire window cannot be negative")
    if now_utc < due_utc:
        raise ValueError(f"not due yet: due {due_utc.isoformat()}, now {now_utc.isoformat()}")
    return "send" if now_utc - due_utc <= window else "missed"


def dispatch_time(
    due: datetime, now: datetime, window: timedelta, tz: TimeZone, quiet: QuietHours | None
) -> datetime | None:
    """When a claimed check-in may leave: `now`, a later instant, or None when it is missed.

    Checked at the moment of sending: a check-in still inside its window but caught by quiet hours
    (e.g. the service came back at 21:30) waits for the window to open; the caller stores the
    returned instant as the row's new due time, so the misfire window counts from then.
    """
    if misfire_decision(due, now, window) == "missed":
        return None
    now_utc = require_aware(now, "now")
    if quiet is None:
        return now_utc
    return quiet.next_open(now_utc, tz)
