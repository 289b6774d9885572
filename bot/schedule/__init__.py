"""Pure scheduling core: WHEN check-ins, reminders and expiries fall, in local wall time.

No database and no APScheduler here; callers pass the time zone and `now`. Every instant returned
is a timezone-aware UTC datetime.
"""

from bot.schedule.checkin_plan import CheckinPlan, checkins_between, next_checkins
from bot.schedule.errors import PlanError
from bot.schedule.quiet_hours import QuietHours, defer_to_window
from bot.schedule.wall_clock import describe_local, resolve_local, zone
from bot.schedule.weekly import WeeklyPlan, parse_plan

__all__ = [
    "CheckinPlan",
    "PlanError",
    "QuietHours",
    "checkins_between",
    "defer_to_window",
    "WeeklyPlan",
    "describe_local",
    "next_checkins",
    "parse_plan",
    "resolve_local",
    "zone",
]
