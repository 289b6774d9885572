"""The daily retention job."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.service.runtime import Services
from bot.storage.retention import redact_before, redact_stranger_pages_before


def apply_retention(session: Session, svc: Services, now: datetime) -> dict[str, int]:
    """Blank free text older than `[service] retention_days` (0 keeps everything), in the
    caller's transaction. A duty page about someone not registered with us (it carries their
    words) is blanked sooner, after `[service] stranger_retention_days`."""
    days = svc.config.service.retention_days
    counts = {"messages": 0, "answers": 0, "alerts": 0}
    if days > 0:
        counts = redact_before(session, now - timedelta(days=days))
    stranger_days = svc.config.service.stranger_retention_days
    if stranger_days > 0 and (days <= 0 or stranger_days < days):
        counts["stranger pages"] = redact_stranger_pages_before(
            session, now - timedelta(days=stranger_days))
    return counts
