"""Repository for alerts, their events and the risk flags behind them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from bot.storage.bulk import one_of
from bot.storage.later import LaterId, kept
from bot.storage.models import Alert, AlertEvent, AlertNote, RiskFlag

_EVENTS = AlertEvent.__table__
_FLAGS = RiskFlag.__table__
_FLAG_COLUMNS = [c for c in RiskFlag.__table__.c if c.key != "id"]

# Built once: every inbound message from a mentee asks (see alerting.note_later_message).
_OPEN_FOR_MENTEE = (select(Alert).where(Alert.mentee_id == bindparam("mentee_id"), Alert.status != "closed")
                    .order_by(Alert.id))


class AlertRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, alert: Alert) -> Alert:
        self.session.add(alert)
        self.session.flush()
        return alert

    def add_flag(self, flag: RiskFlag) -> None:
        """Store a risk flag (its alert_id set): inside messages.outbox_rows_later it is written
        with the batch's other rows (see bot.storage.later), and `flag` stays out of the session."""
        later = kept(self.session)
        if later is not None and flag.alert_id is not None:
            later.keep(_FLAGS, {c.key: getattr(flag, c.key) for c in _FLAG_COLUMNS})
            return
        self.session.add(flag)

    def record(self, alert: Alert, kind: str, now: datetime, *, staff_id: int | None = None,
               channel: str | None = None, message_id: int | LaterId | None = None,
               detail: str = "") -> None:
        """Append one step to an alert's history; inside messages.outbox_rows_later it is written
        with the batch's other rows, and `message_id` may be a message kept with it (a LaterId)."""
        later = kept(self.session)
        if later is not None and alert.id is not None:
            later.keep(_EVENTS, {"alert_id": alert.id, "kind": kind, "staff_id": staff_id,
                                 "channel": channel, "message_id": message_id,
                                 "detail": detail[:300], "at": now})
            return
        assert not isinstance(message_id, LaterId), "a kept message is named only by a kept row"
        self.session.add(AlertEvent(alert_id=alert.id, kind=kind, staff_id=staff_id, channel=channel,
                                    message_id=message_id, detail=detail[:300], at=now))

    def open_for(self, mentee_id: int, category: str, lock: bool = False) -> Alert | None:
        stmt = (
            select(Alert)
            .where(Alert.mentee_id == mentee_id, Alert.category == category, Alert.status != "closed")
            .order_by(Alert.id.desc())
        )
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def open_for_mentee(self, mentee_id: int) -> Sequence[Alert]:
        # No autoflush: an alert is flushed as it is raised (AlertRepo.add), so the other pending
        # changes (the turn's mentee and message updates) wait for the turn's one flush.
        with self.session.no_autoflush:
            return self.session.scalars(_OPEN_FOR_MENTEE, {"mentee_id": mentee_id}).all()

    def open_for_mentees(self, mentee_ids: Sequence[int]) -> dict[int, list[Alert]]:
        """As open_for_mentee, for many mentees in one query (one with none maps to [])."""
        found: dict[int, list[Alert]] = {i: [] for i in mentee_ids}
        if not found:
            return found
        stmt = (select(Alert).where(one_of(self.session, Alert.mentee_id, sorted(found)),
                                    Alert.status != "closed").order_by(Alert.id))
        with self.session.no_autoflush:  # as open_for_mentee
            for alert in self.session.scalars(stmt):
                found[alert.mentee_id].append(alert)
        return found

    def by_code(self, code: str, lock: bool = False) -> Alert | None:
        stmt = select(Alert).where(Alert.code == code.upper()).options(selectinload(Alert.events))
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def get(self, alert_id: int, lock: bool = False) -> Alert | None:
        if not lock:  # one already loaded in this unit (get_many) costs no query
            return self.session.get(Alert, alert_id)
        stmt = select(Alert).where(Alert.id == alert_id).with_for_update()
        return self.session.scalars(stmt).first()

    def get_many(self, ids: set[int]) -> dict[int, Alert]:
        """Load these alerts in one query (keep the dict: the session holds rows weakly)."""
        if not ids:
            return {}
        return {a.id: a for a in self.session.scalars(select(Alert).where(Alert.id.in_(sorted(ids))))}

    def list(self, include_closed: bool = False, mentee_ids: Sequence[int] | None = None) -> Sequence[Alert]:
        """Newest first; `mentee_ids` narrows the list to those mentees' alerts."""
        stmt = select(Alert).order_by(Alert.id.desc()).options(selectinload(Alert.mentee))
        if not include_closed:
            stmt = stmt.where(Alert.status != "closed")
        if mentee_ids is not None:
            stmt = stmt.where(Alert.mentee_id.in_(list(mentee_ids)))
        return self.session.scalars(stmt).all()

    def for_mentee(self, mentee_id: int) -> Sequence[Alert]:
        """Every alert about a mentee, closed ones too, oldest first."""
        stmt = select(Alert).where(Alert.mentee_id == mentee_id).order_by(Alert.id)
        return self.session.scalars(stmt).all()

    def live_mentee_ids(self) -> set[int]:
        """Mentees with an alert that is not closed."""
        return set(self.session.scalars(select(Alert.mentee_id).where(Alert.status != "closed")))

    def add_note(self, note: AlertNote) -> AlertNote:
        self.session.add(note)
        self.session.flush()
        return note

    def notes(self, alert_id: int) -> Sequence[AlertNote]:
        stmt = select(AlertNote).where(AlertNote.alert_id == alert_id).order_by(AlertNote.id)
        return self.session.scalars(stmt).all()

    def code_exists(self, code: str) -> bool:
        return self.session.scalar(select(Alert.id).where(Alert.code == code)) is not None

    def events(self, alert_id: int) -> Sequence[AlertEvent]:
        stmt = select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
        return self.session.scalars(stmt).all()

    def flags(self, alert_id: int) -> Sequence[RiskFlag]:
        stmt = select(RiskFlag).where(RiskFlag.alert_id == alert_id).order_by(RiskFlag.id)
        return self.session.scalars(stmt).all()
