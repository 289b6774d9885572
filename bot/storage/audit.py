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

    def search(self, *, since: datetime | None = None, before: datetime | None = None,
               actor_staff_id: int | None = None, actions: Sequence[str] = (),
               mentee_id: int | None = None, offset: int = 0,
               limit: int = 50) -> Sequence[AuditEntry]:
        """A page of the log for the staff app, newest first: entries at or after `since` and
        before `before`, by one staff member, with one of `actions`, about one mentee."""
        stmt = select(AuditEntry)
        if since is not None:
            stmt = stmt.where(AuditEntry.at >= since)
        if before is not None:
            stmt = stmt.where(AuditEntry.at < before)
        if actor_staff_id is not None:
            stmt = stmt.where(AuditEntry.actor_staff_id == actor_staff_id)
        if actions:
            stmt = stmt.where(AuditEntry.action.in_(list(actions)))
        if mentee_id is not None:
            stmt = stmt.where(AuditEntry.mentee_id == mentee_id)
        stmt = stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).offset(offset).limit(limit)
        return self.session.scalars(stmt).all()
