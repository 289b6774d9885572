"""Follow-up timing after a check-in goes out: one reminder, then expiry (recorded as missed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.schedule.errors import PlanError
from bot.schedule.quiet_hours import QuietHours, defer_to_window
from bot.schedule.wall_clock import TimeZone, require_aware


@dataclass(frozen=True)
class FollowUpPolicy:
    """Configurable durations, all counted from when the check-in was sent.

    remind_after: when the single reminder is due (moved out of quiet hours).
    expire_after: when the unanswered conversation ends and the check-in counts as missed.
    reply_time_after_reminder: the least time a mentee gets to answer a reminder; expiry moves
        later if quiet hours pushed the reminder close to it.
    """

    remind_after: timedelta = timedelta(hours=4)
    expire_after: timedelta = timedelta(hours=20)
    reply_time_after_reminder: timedelta = timedelta(hours=2)

    def __post_init__(self) -> None:
        if self.remind_after <= timedelta(0):
            raise PlanError("reminder delay must be positive")
        if self.expire_after <= self.remind_after:
            raise PlanError("expiry must come after the reminder")
        if self.reply_time_after_reminder < timedelta(0):
            raise PlanError("reply time after the reminder cannot be negative")


def reminder_at(
    sent_at: datetime, policy: FollowUpPolicy, tz: TimeZone, quiet: QuietHours | None
) -> datetime:
    """When the reminder is due: `remind_after` after sending, outside quiet hours."""
    return defer_to_window(require_aware(sent_at, "sent_at") + policy.remind_after, tz, quiet)


def expiry_at(
    sent_at: datetime, policy: FollowUpPolicy, tz: TimeZone, quiet: QuietHours | None
) -> datetime:
    """When an unanswered check-in expires: `expire_after` after sending, but never sooner than
    `reply_time_after_reminder` after the reminder. Expiry sends nothing, so quiet hours do not
    hold it back."""
    by_policy = require_aware(sent_at, "sent_at") + policy.expire_after
    after_reminder = reminder_at(sent_at, policy, tz, quiet) + policy.reply_time_after_reminder
    return max(by_policy, after_reminder)
