"""What to do with one claimed due check-in: start it, wait, record it missed, skip or cancel it.

Pure: the caller gathers the facts (the mentee's status and plan version, whether a check-in is in
progress) and stores the verdict. The ticker's one-at-a-time path and its batch path both ask
here, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.schedule.misfire import dispatch_time
from bot.schedule.quiet_hours import QuietHours
from bot.schedule.wall_clock import TimeZone

VerdictStatus = Literal["start", "pending", "missed", "skipped", "cancelled"]

NOT_ACTIVE = "mentee not active"
PLAN_CHANGED = "plan changed"
UNAVAILABLE = "not sent: service was unavailable when it was due"
IN_PROGRESS = "a check-in was already in progress"


@dataclass(frozen=True)
class Verdict:
    """`start` it now, or store `status` (with a new `due_at` when pending, a `note` otherwise)."""

    status: VerdictStatus
    due_at: datetime | None = None
    note: str | None = None


def cancel_reason(kind: str, row_plan_version: int, mentee_status: str | None,
                  mentee_plan_version: int) -> str | None:
    """Why a due check-in must never go (mentee gone, paused or opted out; a stale plan), or None.

    `mentee_status` None means the mentee no longer exists. One-off check-ins survive plan changes.
    """
    if mentee_status != "active":
        return NOT_ACTIVE
    if kind == "checkin" and row_plan_version != mentee_plan_version:
        return PLAN_CHANGED
    return None


def dispatch_verdict(due: datetime, now: datetime, window: timedelta, tz: TimeZone,
                     quiet: QuietHours | None, *, in_progress: bool) -> Verdict:
    """For a check-in that may go: missed after downtime, held for quiet hours, skipped because
    one is in progress (a new one never interrupts it), or started now."""
    when = dispatch_time(due, now, window, tz, quiet)
    if when is None:  # the service was down too long: never a burst of stale check-ins
        return Verdict("missed", note=UNAVAILABLE)
    if when > now:  # quiet hours: the row waits for the window to open
        return Verdict("pending", due_at=when)
    if in_progress:
        return Verdict("skipped", note=IN_PROGRESS)
    return Verdict("start")
