"""The daily retention job."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.service.runtime import Services
from bot.storage.retention import redact_before


def apply_retention(session: Session, svc: Services, now: datetime) -> dict[str, int]:
    """Blank free text older than `[service] retention_days` (0 keeps everything), in the
    caller's transaction."""
    days = svc.config.service.retention_days
    if days <= 0:
        return {"messages": 0, "answers": 0, "alerts": 0}
    return redact_before(session, now - timedelta(days=days))
