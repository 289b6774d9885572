"""Repository for due events: timers kept as rows so nothing important lives in memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.storage.models import DueEvent


class DueEventRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def schedule(self, *, kind: str, dedupe_key: str, due_at: datetime, now: datetime,
                 mentee_id: int | None = None, conversation_id: int | None = None,
                 alert_id: int | None = None, plan_version: int = 0, note: str | None = None) -> bool:
        """Create a due event unless one with the same key exists; True if created."""
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        stmt = (
            dialect.insert(DueEvent)
            .values(kind=kind, dedupe_key=dedupe_key, due_at=due_at, mentee_id=mentee_id,
                    conversation_id=conversation_id, alert_id=alert_id, plan_version=plan_version,
                    note=note, status="pending", created_at=now)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
        return bool(self.session.execute(stmt).rowcount)

    def claim_due(self, now: datetime, worker: str, limit: int = 500,
                  kinds: Sequence[str] | None = None) -> list[DueEvent]:
        """Lock and claim pending events due by `now`, oldest first.

        On PostgreSQL, FOR UPDATE SKIP LOCKED hands disjoint rows to concurrent workers; on SQLite
        every transaction begins IMMEDIATE (see db.make_engine), so claims are serialised.
        """
        stmt = (
            select(DueEvent)
            .where(DueEvent.status == "pending", DueEvent.due_at <= now)
            .order_by(DueEvent.due_at, DueEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if kinds:
            stmt = stmt.where(DueEvent.kind.in_(list(kinds)))
        rows = list(self.session.scalars(stmt).all())
        for row in rows:
            row.status = "claimed"
            row.claimed_by = worker
            row.claimed_at = now
        return rows

    def take_due_timer(self, conversation_id: int, kind: str, now: datetime,
                       worker: str) -> tuple[DueEvent | None, bool]:
        """The conversation's `kind` timer due by `now`, taken by this transaction if it can be.

        Returns (row, busy): the row (now 'done', or one claimed earlier in this transaction),
        or busy=True when such a row exists but another worker holds it (SKIP LOCKED).
        """
        due = (DueEvent.conversation_id == conversation_id, DueEvent.kind == kind,
               DueEvent.due_at <= now, DueEvent.status.in_(("pending", "claimed")))
        row = self.session.scalars(
            select(DueEvent).where(*due).order_by(DueEvent.id).limit(1)
            .with_for_update(skip_locked=True)).first()
        if row is not None:
            if row.status == "pending":
                row.status = "done"
                row.claimed_by = worker
                row.claimed_at = now
            return row, False
        busy = self.session.scalars(select(DueEvent.id).where(*due).limit(1)).first() is not None
        return None, busy

    def cancel(self, *, mentee_id: int | None = None, kinds: Sequence[str],
               after: datetime | None = None, conversation_id: int | None = None,
               alert_id: int | None = None) -> int:
        """Cancel pending events of these kinds (all, or those due after `after`)."""
        stmt = update(DueEvent).where(DueEvent.status == "pending", DueEvent.kind.in_(list(kinds)))
        if mentee_id is not None:
            stmt = stmt.where(DueEvent.mentee_id == mentee_id)
        if conversation_id is not None:
            stmt = stmt.where(DueEvent.conversation_id == conversation_id)
        if alert_id is not None:
            stmt = stmt.where(DueEvent.alert_id == alert_id)
        if after is not None:
            stmt = stmt.where(DueEvent.due_at > after)
        return int(self.session.execute(stmt.values(status="cancelled")).rowcount or 0)

    def pending_for(self, mentee_id: int, limit: int = 20) -> Sequence[DueEvent]:
        stmt = (
            select(DueEvent)
            .where(DueEvent.mentee_id == mentee_id, DueEvent.status == "pending")
            .order_by(DueEvent.due_at)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def for_alert(self, alert_id: int) -> Sequence[DueEvent]:
        stmt = select(DueEvent).where(DueEvent.alert_id == alert_id).order_by(DueEvent.id)
        return self.session.scalars(stmt).all()

    def count(self, **filters: Any) -> int:
        stmt = select(DueEvent)
        for key, value in filters.items():
            stmt = stmt.where(getattr(DueEvent, key) == value)
        return len(self.session.scalars(stmt).all())
