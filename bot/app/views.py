"""What operations return: plain frozen values, built inside the unit of work from its rows, so a
web template or a CLI line can use them after the session has closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from bot.storage.models import Alert, AlertEvent, AlertNote, Mentee, Staff
from bot.storage.people import StaffRepo


@dataclass(frozen=True)
class MenteeSummary:
    id: int
    name: str  # first name and initial, as every staff message shows a mentee
    first_name: str
    last_name: str
    phone: str | None
    telegram_linked: bool
    channel: str  # preferred: sms | telegram
    status: str  # active | paused | opted_out
    mentor_id: int
    mentor_name: str
    plan: str | None
    timezone: str
    reachable: bool  # some channel still takes our messages
    missed_streak: int  # scheduled check-ins missed in a row
    unread: int = 0  # inbound messages the acting staff member has not read


@dataclass(frozen=True)
class StaffSummary:
    id: int
    name: str
    role: str
    phone: str | None
    email: str | None
    channels: str
    supervisor_id: int | None
    supervisor_name: str | None
    is_duty: bool
    active: bool
    telegram_linked: bool


@dataclass(frozen=True)
class AlertSummary:
    code: str
    mentee_id: int
    mentee_name: str
    category: str
    severity: str  # urgent | concern
    status: str  # open | acknowledged | closed
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    closed_at: datetime | None


@dataclass(frozen=True)
class HistoryItem:
    """One step of an alert's life, or a staff note on it, in the order they happened."""

    at: datetime
    kind: str  # raised, queued, notified, failed, acknowledged, closed, ..., note
    who: str
    channel: str
    detail: str
    delivery: str = ""  # the status of the message the step sent, if any


@dataclass(frozen=True)
class Flag:
    at: datetime
    category: str
    severity: str
    evidence: str
    rule_id: str


@dataclass(frozen=True)
class Said:
    """A message from the mentee that raised or joined an alert, in full."""

    at: datetime
    channel: str
    body: str


@dataclass(frozen=True)
class AlertDetail:
    alert: AlertSummary
    evidence: str
    outcome: str | None
    closed_by: str | None
    housing_consent: bool | None
    housing_council: str | None
    flags: tuple[Flag, ...]
    history: tuple[HistoryItem, ...]
    said: tuple[Said, ...] = ()  # the mentee's messages behind it and since, oldest first


@dataclass(frozen=True)
class MenteeStatus:
    """The mentee's standing, beside the timeline."""

    release_date: date | None
    plan_start: date | None
    plan_end: date | None
    quiet_hours: str | None  # their own; None = the service's
    sms_reachable: bool
    telegram_reachable: bool
    opted_out_at: datetime | None
    unreachable_since: datetime | None
    missed_streak: int


def staff_name(session: Session, staff_id: int | None) -> str | None:
    person = StaffRepo(session).get(staff_id) if staff_id is not None else None
    return person.name if person else None


def reachable(mentee: Mentee) -> bool:
    return bool((mentee.phone and mentee.sms_reachable)
                or (mentee.telegram_chat_id and mentee.telegram_reachable))


def mentee_summary(session: Session, mentee: Mentee, unread: int = 0) -> MenteeSummary:
    return MenteeSummary(
        id=mentee.id, name=mentee.display_name, first_name=mentee.first_name,
        last_name=mentee.last_name, phone=mentee.phone,
        telegram_linked=mentee.telegram_chat_id is not None, channel=mentee.preferred_channel,
        status=mentee.status, mentor_id=mentee.mentor_id,
        mentor_name=staff_name(session, mentee.mentor_id) or "-", plan=mentee.plan,
        timezone=mentee.timezone, reachable=reachable(mentee), missed_streak=mentee.missed_streak,
        unread=unread)


def mentee_status(mentee: Mentee) -> MenteeStatus:
    quiet = f"{mentee.quiet_start}-{mentee.quiet_end}" if mentee.quiet_start and mentee.quiet_end else None
    return MenteeStatus(
        release_date=mentee.release_date, plan_start=mentee.plan_start, plan_end=mentee.plan_end,
        quiet_hours=quiet, sms_reachable=mentee.sms_reachable,
        telegram_reachable=mentee.telegram_reachable, opted_out_at=mentee.opted_out_at,
        unreachable_since=mentee.unreachable_since, missed_streak=mentee.missed_streak)


def staff_summary(session: Session, staff: Staff) -> StaffSummary:
    return StaffSummary(
        id=staff.id, name=staff.name, role=staff.role, phone=staff.phone, email=staff.email,
        channels=staff.channels, supervisor_id=staff.supervisor_id,
        supervisor_name=staff_name(session, staff.supervisor_id), is_duty=staff.is_duty,
        active=staff.active, telegram_linked=staff.telegram_chat_id is not None)


def alert_summary(session: Session, alert: Alert) -> AlertSummary:
    return AlertSummary(
        code=alert.code, mentee_id=alert.mentee_id, mentee_name=alert.mentee.display_name,
        category=alert.category, severity=alert.severity, status=alert.status,
        raised_at=alert.created_at, acknowledged_at=alert.acknowledged_at,
        acknowledged_by=staff_name(session, alert.acknowledged_by), closed_at=alert.closed_at)


def event_item(session: Session, event: AlertEvent, delivery: str) -> HistoryItem:
    return HistoryItem(at=event.at, kind=event.kind, who=staff_name(session, event.staff_id) or "",
                       channel=event.channel or "", detail=event.detail, delivery=delivery)


def note_item(note: AlertNote) -> HistoryItem:
    return HistoryItem(at=note.created_at, kind="note", who=note.author, channel="", detail=note.text)
