"""Loads the weekly digest's plain records from the database: the only SQL the digest needs.

Only what the digest shows leaves the database: first name and initial, times, outcomes, the mood
number and alert metadata. No message bodies, no phone numbers, no free-text answers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.storage.models import Alert, Answer, Conversation, DigestSent, Mentee, Message, Staff
from escalation.digest.records import (
    AlertRecord,
    CheckinOutcome,
    CheckinRecord,
    DigestRecords,
    LastContact,
)
from escalation.digest.records import Mentee as MenteeRecord
from escalation.digest.records import Mentor as MentorRecord
from escalation.digest.records import Supervisor as SupervisorRecord
from escalation.digest.week import Week

def sent_already(session: Session, week: str, staff_ids: list[int]) -> dict[int, datetime]:
    """When each of these staff was last sent the digest for `week` (ISO label), if ever."""
    if not staff_ids:
        return {}
    rows = session.execute(select(DigestSent.staff_id, func.max(DigestSent.sent_at))
                           .where(DigestSent.week == week, DigestSent.staff_id.in_(staff_ids))
                           .group_by(DigestSent.staff_id)).all()
    return {staff_id: at for staff_id, at in rows}


def claim_sent(session: Session, staff_id: int, week: str, kind: str, at: datetime) -> bool:
    """Record a digest as sent (its own transaction); False if it already was this week."""
    from sqlalchemy.exc import IntegrityError

    try:
        with session.begin():
            session.add(DigestSent(staff_id=staff_id, week=week, kind=kind, sent_at=at))
        return True
    except IntegrityError:
        return False


def unclaim_sent(session: Session, staff_id: int, week: str, kind: str) -> None:
    """Forget a claim whose email failed, so the next run tries again (its own transaction)."""
    with session.begin():
        row = session.scalars(select(DigestSent).where(
            DigestSent.staff_id == staff_id, DigestSent.week == week, DigestSent.kind == kind)).first()
        if row is not None:
            session.delete(row)


# Eight mood weeks and four trend weeks need nine; the rest lets a missed streak reach further back.
HISTORY_WEEKS = 12


def load_digest_records(
    session: Session,
    week: Week,
    *,
    supervisor_id: int | None = None,
    mentor_id: int | None = None,
    as_of: datetime | None = None,
    history_weeks: int = HISTORY_WEEKS,
    mood_question: str = "mood",
) -> DigestRecords:
    """Records for one supervisor, one mentor, or (neither given) every supervisor at once.

    Nothing recorded after `as_of` (default: the end of the week) is loaded, so a late re-run
    reads the week as the first run did.
    """
    cutoff = max(as_of or week.end, week.end)
    since = week.shifted(-history_weeks).start
    supervisors, mentors = _staff(session, supervisor_id, mentor_id)
    mentees = session.scalars(
        select(Mentee).where(Mentee.mentor_id.in_([m.id for m in mentors])).order_by(Mentee.id)
    ).all()
    ids = [m.id for m in mentees]
    return DigestRecords(
        supervisors=tuple(SupervisorRecord(s.id, s.name, s.email) for s in supervisors),
        mentors=tuple(MentorRecord(m.id, m.name, m.supervisor_id, m.email) for m in mentors),
        mentees=tuple(_mentee(m) for m in mentees),
        checkins=_checkins(session, ids, since, cutoff, mood_question),
        alerts=_alerts(session, ids, since, cutoff),
        contacts=_contacts(session, ids, cutoff),
    )


def _staff(
    session: Session, supervisor_id: int | None, mentor_id: int | None
) -> tuple[list[Staff], list[Staff]]:
    if mentor_id is not None:
        mentors = list(session.scalars(select(Staff).where(Staff.id == mentor_id)).all())
        boss_ids = [m.supervisor_id for m in mentors if m.supervisor_id is not None]
        supervisors = list(session.scalars(select(Staff).where(Staff.id.in_(boss_ids))).all())
        return supervisors, mentors
    if supervisor_id is not None:
        supervisors = list(session.scalars(select(Staff).where(Staff.id == supervisor_id)).all())
        mentors = list(session.scalars(
            select(Staff).where(Staff.supervisor_id == supervisor_id).order_by(Staff.id)
        ).all())
        return supervisors, mentors
    supervisors = list(session.scalars(
        select(Staff).where(Staff.role == "supervisor").order_by(Staff.id)
    ).all())
    # Anyone with mentees is a mentor for the digest, whatever their role says.
    with_mentees = select(Mentee.mentor_id)
    mentors = list(session.scalars(
        select(Staff).where(or_(Staff.role == "mentor", Staff.id.in_(with_mentees))).order_by(Staff.id)
    ).all())
    return supervisors, mentors


def _mentee(m: Mentee) -> MenteeRecord:
    return MenteeRecord(
        id=m.id,
        first_name=m.first_name,
        last_initial=m.last_name[:1].upper(),
        mentor_id=m.mentor_id,
        joined_at=m.created_at,
        status=m.status,
        opted_out_at=m.opted_out_at,
        unreachable_since=m.unreachable_since,
    )


def _checkins(
    session: Session, mentee_ids: list[int], since: datetime, cutoff: datetime, mood_question: str
) -> tuple[CheckinRecord, ...]:
    conversations = session.scalars(
        select(Conversation)
        .where(
            Conversation.mentee_id.in_(mentee_ids),
            Conversation.started_at >= since,
            Conversation.started_at <= cutoff,
        )
        .order_by(Conversation.started_at, Conversation.id)
    ).all()
    moods = _moods(session, [c.id for c in conversations], mood_question)
    records = []
    for c in conversations:
        outcome = _outcome(c)
        if outcome is None:
            continue
        records.append(CheckinRecord(
            mentee_id=c.mentee_id,
            started_at=c.started_at,
            outcome=outcome,
            answered_at=c.finished_at if c.outcome == "completed" else None,
            mood=moods.get(c.id),
            first_reply_at=c.first_reply_at,
        ))
    return tuple(records)


def _outcome(c: Conversation) -> CheckinOutcome | None:
    # Cancelled before any reply (opted out, or replaced by another check-in): nobody's to miss.
    if c.outcome == "cancelled":
        return "expired" if c.first_reply_at is not None else None
    if c.outcome == "interrupted":  # paused by a crisis disclosure, then closed at expiry
        return "expired"
    if c.outcome in ("completed", "missed", "open", "expired"):
        return c.outcome  # type: ignore[return-value]
    raise ValueError(f"conversation {c.id} has unknown outcome {c.outcome!r}")


def _moods(session: Session, conversation_ids: list[int], question: str) -> dict[int, int]:
    """The mood number per conversation; a re-asked question keeps its latest answer."""
    rows = session.execute(
        select(Answer.conversation_id, Answer.number)
        .where(
            Answer.conversation_id.in_(conversation_ids),
            Answer.question == question,
            Answer.number.is_not(None),
        )
        .order_by(Answer.answered_at, Answer.id)
    ).all()
    return {
        conversation_id: number
        for conversation_id, number in rows
        if number is not None and 1 <= number <= 5
    }


def _alerts(
    session: Session, mentee_ids: list[int], since: datetime, cutoff: datetime
) -> tuple[AlertRecord, ...]:
    alerts = session.scalars(
        select(Alert)
        .where(
            Alert.mentee_id.in_(mentee_ids),
            Alert.created_at <= cutoff,
            # Old alerts matter only while still open; closed ones before the history are done.
            or_(Alert.closed_at.is_(None), Alert.closed_at >= since),
        )
        .order_by(Alert.created_at, Alert.id)
    ).all()
    return tuple(
        AlertRecord(
            mentee_id=a.mentee_id,
            code=a.code,
            category=a.category,
            severity=a.severity,
            created_at=a.created_at,
            acknowledged_at=a.acknowledged_at,
            closed_at=a.closed_at,
            ladder_fired=a.ladder_fired,
        )
        for a in alerts
    )


def _contacts(session: Session, mentee_ids: list[int], cutoff: datetime) -> tuple[LastContact, ...]:
    # The latest inbound message up to the cut-off (Mentee.last_inbound_at may be newer than that).
    rows = session.execute(
        select(Message.mentee_id, func.max(Message.created_at))
        .where(
            Message.mentee_id.in_(mentee_ids),
            Message.direction == "in",
            Message.created_at <= cutoff,
        )
        .group_by(Message.mentee_id)
        .order_by(Message.mentee_id)
    ).all()
    return tuple(LastContact(mentee_id, at) for mentee_id, at in rows if mentee_id is not None and at)
