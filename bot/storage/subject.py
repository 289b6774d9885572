"""Everything stored about one mentee: read it all (subject access), or remove the words (erasure).

"Everything" is found by the mentee's id in every table that holds one, plus what hangs off their
alerts (events, notes) and conversations (answers). Staff messages about the mentee (alerts,
nudges) carry the mentee's id too, so they are found the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from bot.storage.models import (
    Alert,
    AlertEvent,
    AlertNote,
    Answer,
    AuditEntry,
    Base,
    Conversation,
    DueEvent,
    Mentee,
    Message,
    ReadMarker,
    RiskFlag,
)

# Kept out of an export: internal keys, not information about the person.
_NOT_EXPORTED = {"phone_hash", "telegram_chat_id_hash", "telegram_link_code", "version"}


def as_dict(row: Base) -> dict[str, Any]:
    """A row's columns as JSON-ready values (instants and dates as ISO 8601)."""
    out: dict[str, Any] = {}
    for column in row.__table__.columns:  # type: ignore[attr-defined]
        if column.key in _NOT_EXPORTED:
            continue
        value = getattr(row, column.key)
        if isinstance(value, datetime | date):
            value = value.isoformat()
        out[column.key] = value
    return out


def _all(session: Session, stmt: Any) -> list[Any]:
    return list(session.scalars(stmt).all())


def everything_about(session: Session, mentee: Mentee) -> dict[str, list[Any]]:
    """Every row about `mentee`, by kind, oldest first."""
    mid = mentee.id
    alerts = _all(session, select(Alert).where(Alert.mentee_id == mid).order_by(Alert.id))
    alert_ids = [a.id for a in alerts]
    return {
        "conversations": _all(session, select(Conversation).where(Conversation.mentee_id == mid)
                              .order_by(Conversation.id)),
        "answers": _all(session, select(Answer).where(Answer.mentee_id == mid).order_by(Answer.id)),
        "messages": _all(session, select(Message).where(Message.mentee_id == mid).order_by(Message.id)),
        "alerts": alerts,
        "alert_events": _all(session, select(AlertEvent).where(AlertEvent.alert_id.in_(alert_ids))
                             .order_by(AlertEvent.id)),
        "alert_notes": _all(session, select(AlertNote).where(AlertNote.alert_id.in_(alert_ids))
                            .order_by(AlertNote.id)),
        "risk_flags": _all(session, select(RiskFlag).where(RiskFlag.mentee_id == mid).order_by(RiskFlag.id)),
        "scheduled": _all(session, select(DueEvent).where(DueEvent.mentee_id == mid).order_by(DueEvent.id)),
        "read_markers": _all(session, select(ReadMarker).where(ReadMarker.mentee_id == mid)),
        "audit": _all(session, select(AuditEntry).where(
            or_(AuditEntry.mentee_id == mid, AuditEntry.alert_id.in_(alert_ids))).order_by(AuditEntry.id)),
    }


def erased_name(mentee_id: int) -> str:
    return f"Erased mentee #{mentee_id}"


def erase(session: Session, mentee: Mentee, now: datetime) -> dict[str, int]:
    """Remove the person's details and every word they wrote or staff wrote about them; keep
    the figures (dates, statuses, answer values and mood numbers, alert categories) the digests
    count. Returns how many of each kind of record were cleared. The caller has checked alerts."""
    mid = mentee.id
    alert_ids = select(Alert.id).where(Alert.mentee_id == mid)
    counts: dict[str, int] = {}

    def blank(name: str, stmt: Any) -> None:
        counts[name] = counts.get(name, 0) + int(session.execute(stmt).rowcount or 0)

    # Nothing more goes to (or about) them: unsent messages and future timers are cancelled.
    blank("messages unsent (cancelled)", update(Message).where(
        Message.mentee_id == mid, Message.status.in_(("pending", "sending"))).values(status="cancelled"))
    blank("timers cancelled", update(DueEvent).where(
        DueEvent.mentee_id == mid, DueEvent.status.in_(("pending", "claimed"))).values(status="cancelled"))
    blank("messages", update(Message).where(Message.mentee_id == mid).values(
        body="", address="", buttons=None, error_detail=None))
    blank("answers", update(Answer).where(Answer.mentee_id == mid).values(raw_text=""))
    blank("check-ins", update(Conversation).where(Conversation.mentee_id == mid).values(answers={}))
    blank("risk flags", update(RiskFlag).where(RiskFlag.mentee_id == mid).values(evidence=""))
    blank("alerts", update(Alert).where(Alert.mentee_id == mid).values(
        evidence="", outcome=None, housing_council=None))
    blank("alert notes", update(AlertNote).where(AlertNote.alert_id.in_(alert_ids)).values(text=""))
    blank("alert history details", update(AlertEvent).where(AlertEvent.alert_id.in_(alert_ids))
          .values(detail=""))
    blank("scheduled notes", update(DueEvent).where(DueEvent.mentee_id == mid).values(note=None))
    mentee.first_name = erased_name(mid)
    mentee.last_name = ""
    mentee.phone = None
    mentee.telegram_chat_id = None
    mentee.telegram_link_code = None
    mentee.telegram_link_expires = None
    mentee.release_date = None
    mentee.plan = None
    mentee.plan_start = mentee.plan_end = None
    mentee.quiet_start = mentee.quiet_end = None
    mentee.status = "erased"
    mentee.sms_reachable = mentee.telegram_reachable = False
    session.flush()
    counts["profile"] = 1
    return counts


def checkpoint(engine: Engine) -> None:
    """On SQLite, copy the write-ahead log into the database file and empty it, so words just
    blanked do not linger in the -wal file; PostgreSQL needs nothing here."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()  # outside any transaction: the engine's BEGIN IMMEDIATE would block it
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    finally:
        raw.close()


def secure_delete(session: Session) -> None:
    """On SQLite, overwrite freed space with zeros for the rest of this connection's life, so
    blanked values are not left readable in free pages."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA secure_delete=ON")


def open_alerts(session: Session, mentee_id: int) -> Sequence[Alert]:
    return session.scalars(select(Alert).where(Alert.mentee_id == mentee_id, Alert.status != "closed")
                           .order_by(Alert.id)).all()
