"""The send window of one mentee: service-wide quiet hours, or the mentee's own override."""

from __future__ import annotations

from bot.config import Config
from bot.schedule.quiet_hours import QuietHours
from bot.storage.models import Mentee


def quiet_hours_for(config: Config, mentee: Mentee) -> QuietHours | None:
    """None means no quiet hours at all (an empty setting)."""
    if mentee.quiet_start and mentee.quiet_end:
        return QuietHours.parse(f"{mentee.quiet_start}-{mentee.quiet_end}")
    if not config.service.quiet_hours:
        return None
    return QuietHours.parse(config.service.quiet_hours)


def tz_for(mentee: Mentee) -> str:
    return mentee.timezone or "Europe/London"
