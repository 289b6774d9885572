"""What a mentee's plan will do: the check-ins ahead however far, and warnings for staff."""

from __future__ import annotations

from datetime import datetime

from bot.schedule import describe_local, next_checkins
from bot.service.checkins import checkin_plan_of
from bot.service.quiet import quiet_hours_for, tz_for
from bot.service.runtime import Services
from bot.storage.models import Mentee


def upcoming_checkins(svc: Services, mentee: Mentee, now: datetime, count: int) -> list[datetime]:
    """The plan's next check-in times (UTC), not only the 14 days already booked."""
    plan = checkin_plan_of(svc, mentee)
    if plan is None or plan.paused:
        return []
    return next_checkins(plan, now, count)


def plan_warnings(svc: Services, mentee: Mentee, now: datetime) -> list[str]:
    """One line per planned time that cannot go when planned (quiet hours, a safe-to-text
    window), saying when it will really go. Judged on the next few weeks of the plan."""
    window, tz = quiet_hours_for(svc.config, mentee), tz_for(mentee)
    if window is None:
        return []
    warnings: list[str] = []
    seen: set[tuple[int, str]] = set()
    for due in upcoming_checkins(svc, mentee, now, 28):
        if not window.is_quiet(due, tz):
            continue
        local = due.astimezone(window_zone(tz))
        key = (local.weekday(), f"{local:%H:%M}")
        if key in seen:
            continue
        seen.add(key)
        goes = window.next_open(due, tz)
        warnings.append(f"{describe_local(due, tz)} falls inside {window.describe()}: "
                        f"it will go at {describe_local(goes, tz)}")
    return warnings


def window_zone(tz: str):  # type: ignore[no-untyped-def]
    from bot.schedule import zone

    return zone(tz)


def flow_choices(svc: Services) -> list[tuple[str, str]]:
    """The flows a plan can name (shipped and the charity's folder): name and description. The
    safety check is not offered: it is asked by itself after a domestic-abuse flag."""
    from bot.service.flows import library

    lib = library(svc)
    skip = {svc.config.safe_contact.safe_check_flow}
    return [(name, lib.get(name).description) for name in lib.names if name not in skip]
