"""Repository for the audit log: who did or looked at what, and when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.storage.models import AuditEntry


class AuditRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entry: AuditEntry) -> None:
        entry.detail = entry.detail[:300]
        entry.target = entry.target[:60]
        self.session.add(entry)

    def list(self, *, since: datetime | None = None, actor: str = "", mentee_id: int | None = None,
             limit: int = 100) -> Sequence[AuditEntry]:
        """The newest `limit` entries, newest first; `actor` matches a label (any case)."""
        stmt = select(AuditEntry)
        if since is not None:
            stmt = stmt.where(AuditEntry.at >= since)
        if actor:
            stmt = stmt.where(func.lower(AuditEntry.actor_label) == actor.lower())
        if mentee_id is not None:
            stmt = stmt.where(AuditEntry.mentee_id == mentee_id)
        return self.session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit)).all()
