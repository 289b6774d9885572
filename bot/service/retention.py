"""The daily retention job."""

from __future__ import annotations

from datetime import timedelta

from bot.service.runtime import Services
from bot.storage.retention import redact_before


def apply_retention(svc: Services) -> dict[str, int]:
    """Blank free text older than `[service] retention_days` (0 keeps everything)."""
    days = svc.config.service.retention_days
    if days <= 0:
        return {"messages": 0, "answers": 0, "alerts": 0}
    with svc.sessions() as session, session.begin():
        return redact_before(session, svc.clock.now() - timedelta(days=days))
