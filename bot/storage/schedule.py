"""Repository for due events: timers kept as rows so nothing important lives in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.storage.bulk import insert_rows, one_of
from bot.storage.later import kept
from bot.storage.models import DueEvent


@dataclass(frozen=True)
class ClaimedDue:
    """A claimed due event as plain values (no ORM object: a batch of thousands stays cheap)."""

    id: int
    kind: str
    due_at: datetime
    mentee_id: int | None
    conversation_id: int | None
    alert_id: int | None
    plan_version: int
    flow: str | None = None  # a flow the booking names


@dataclass(frozen=True)
class Settled:
    """How a claimed row ends this tick: its new status, and due time/note where they change."""

    id: int
    status: str
    due_at: datetime | None = None
    note: str | None = None


_TABLE: Table = DueEvent.__table__  # type: ignore[assignment]  # mapped to a Table


class DueEventRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def schedule(self, *, kind: str, dedupe_key: str, due_at: datetime, now: datetime,
                 mentee_id: int | None = None, conversation_id: int | None = None,
                 alert_id: int | None = None, plan_version: int = 0, note: str | None = None,
                 flow: str | None = None) -> bool:
        """Create a due event unless one with the same key exists; True if created."""
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        stmt = (
            dialect.insert(DueEvent)
            .values(kind=kind, dedupe_key=dedupe_key, due_at=due_at, mentee_id=mentee_id,
                    conversation_id=conversation_id, alert_id=alert_id, plan_version=plan_version,
                    note=note, flow=flow, status="pending", created_at=now)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
        return bool(self.session.execute(stmt).rowcount)

    def schedule_later(self, *, kind: str, dedupe_key: str, due_at: datetime, now: datetime,
                       mentee_id: int | None = None, alert_id: int | None = None) -> None:
        """As schedule, but inside messages.outbox_rows_later the row is written with the batch's
        other rows (see bot.storage.later), still skipped if its key exists; at once outside one."""
        later = kept(self.session)
        if later is None:
            self.schedule(kind=kind, dedupe_key=dedupe_key, due_at=due_at, now=now,
                          mentee_id=mentee_id, alert_id=alert_id)
            return
        later.keep(_TABLE, {"kind": kind, "dedupe_key": dedupe_key, "due_at": due_at,
                            "mentee_id": mentee_id, "conversation_id": None, "alert_id": alert_id,
                            "plan_version": 0, "note": None, "status": "pending",
                            "created_at": now, "flow": None})

    def schedule_many(self, rows: Sequence[dict[str, Any]], now: datetime, *,
                      keys_are_new: bool = False, count: bool = False) -> int:
        """Create many due events in one statement, skipping any whose dedupe key exists.

        Each row gives kind, dedupe_key, due_at and optionally mentee_id, conversation_id,
        alert_id, plan_version, note. `keys_are_new` (keys no row can have yet, e.g. made from
        ids just issued) skips the conflict check, a third of the insert's cost; a duplicate
        key then raises instead of being skipped. With `count`, returns how many were created.
        """
        values = [{"kind": r["kind"], "dedupe_key": r["dedupe_key"], "due_at": r["due_at"],
                   "mentee_id": r.get("mentee_id"), "conversation_id": r.get("conversation_id"),
                   "alert_id": r.get("alert_id"), "plan_version": r.get("plan_version", 0),
                   "note": r.get("note"), "status": "pending", "created_at": now} for r in rows]
        inserted = insert_rows(self.session, _TABLE, values, returning=[_TABLE.c.id] if count else (),
                               skip_conflicts_on=None if keys_are_new else ["dedupe_key"])
        return len(inserted)

    def claim_batch(self, now: datetime, limit: int = 500) -> list[ClaimedDue]:
        """Lock pending events due by `now`, oldest first, as plain values (one statement).

        Locked is claimed: on PostgreSQL FOR UPDATE SKIP LOCKED hands disjoint rows to concurrent
        workers, and on SQLite every transaction begins IMMEDIATE (see db.make_engine). The
        caller records the claim with each row's outcome (settle_many, or load for ORM rows)
        before it commits.
        """
        t = _TABLE.c
        stmt = (
            select(t.id, t.kind, t.due_at, t.mentee_id, t.conversation_id, t.alert_id, t.plan_version,
                   t.flow)
            .where(t.status == "pending", t.due_at <= now)
            .order_by(t.due_at, t.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [ClaimedDue(*r) for r in self.session.execute(stmt)]

    def load(self, ids: Sequence[int], worker: str, now: datetime) -> list[DueEvent]:
        """The ORM rows of these events (locked by claim_batch), oldest first, marked claimed."""
        if not ids:
            return []
        stmt = (select(DueEvent).where(one_of(self.session, DueEvent.id, ids))
                .order_by(DueEvent.due_at, DueEvent.id))
        rows = list(self.session.scalars(stmt).all())
        for row in rows:
            row.status = "claimed"
            row.claimed_by = worker
            row.claimed_at = now
        return rows

    def settle_many(self, settled: Sequence[Settled], worker: str, now: datetime) -> None:
        """Store how claimed rows ended, and who claimed them when: one UPDATE for the plain
        'done' ones, one executemany for the rest (each keeps its due time and note unless the
        outcome changes them)."""
        t = _TABLE.c
        is_plain = [s.status == "done" and s.due_at is None and s.note is None for s in settled]
        plain = [s.id for s, yes in zip(settled, is_plain, strict=True) if yes]
        if plain:
            self.session.execute(update(_TABLE).where(one_of(self.session, t.id, plain))
                                 .values(status="done", claimed_by=worker, claimed_at=now))
        other = [s for s, yes in zip(settled, is_plain, strict=True) if not yes]
        if other:
            stmt = (update(_TABLE).where(t.id == bindparam("b_id"))
                    .values(status=bindparam("b_status"), claimed_by=worker, claimed_at=now,
                            due_at=func.coalesce(bindparam("b_due_at", type_=t.due_at.type), t.due_at),
                            note=func.coalesce(bindparam("b_note", type_=t.note.type), t.note)))
            self.session.execute(stmt, [{"b_id": s.id, "b_status": s.status, "b_due_at": s.due_at,
                                         "b_note": s.note} for s in other])

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

    def next_due_at(self) -> datetime | None:
        """When the earliest pending event falls due."""
        return self.session.scalar(select(func.min(DueEvent.due_at)).where(DueEvent.status == "pending"))

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
