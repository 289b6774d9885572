"""Pure scheduling core: WHEN check-ins, reminders and expiries fall, in local wall time.

No database and no APScheduler here; callers pass the time zone and `now`. Every instant returned
is a timezone-aware UTC datetime.
"""

from bot.schedule.checkin_plan import CheckinPlan, checkins_between, next_checkins
from bot.schedule.errors import PlanError
from bot.schedule.follow_up import FollowUpPolicy, expiry_at, reminder_at
from bot.schedule.misfire import MisfireDecision, dispatch_time, misfire_decision
from bot.schedule.quiet_hours import QuietHours, defer_to_window
from bot.schedule.wall_clock import describe_local, resolve_local, zone
from bot.schedule.weekly import WeeklyPlan, parse_plan

__all__ = [
    "CheckinPlan",
    "FollowUpPolicy",
    "MisfireDecision",
    "PlanError",
    "QuietHours",
    "WeeklyPlan",
    "checkins_between",
    "defer_to_window",
    "describe_local",
    "dispatch_time",
    "expiry_at",
    "misfire_decision",
    "next_checkins",
    "parse_plan",
    "reminder_at",
    "resolve_local",
    "zone",
]
