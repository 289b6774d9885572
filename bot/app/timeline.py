"""A mentee's record as staff read it: one timeline of messages, answers and alerts, an 8-week
mood strip, and a per-staff read marker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.app.actor import Actor
from bot.app.alerts import alert_detail
from bot.app.unit import MenteeRef, Unit, run
from bot.app.views import AlertDetail, MenteeStatus, MenteeSummary, mentee_status, mentee_summary, staff_name
from bot.service.runtime import Services
from bot.storage.alerts import AlertRepo
from bot.storage.conversations import ConversationRepo
from bot.storage.messages import MessageRepo
from bot.storage.models import Answer
from escalation.digest.week import Week

MOOD_QUESTION = "mood"  # the weekly flow's 1-5 "how are you doing this week?" (bot/flows/weekly.py)
MOOD_WEEKS = 8


@dataclass(frozen=True)
class TimelineMessage:
    id: int
    at: datetime
    direction: str  # in (from the mentee) | out (to them)
    channel: str
    status: str  # received | pending | sent | delivered | failed | ...
    purpose: str  # inbound | flow | safety | system | staff_reply
    body: str
    sent_by: str | None  # the staff member who wrote a reply


@dataclass(frozen=True)
class CheckinAnswer:
    conversation_id: int
    question: str
    value: str | None
    number: int | None
    text: str
    at: datetime


@dataclass(frozen=True)
class MoodWeek:
    week: str  # ISO week, e.g. 2026-W11
    mood: float | None  # the mean of that week's 1-5 answers; None if none


@dataclass(frozen=True)
class MenteeRecord:
    mentee: MenteeSummary
    status: MenteeStatus
    messages: tuple[TimelineMessage, ...]  # oldest first
    answers: tuple[CheckinAnswer, ...]  # by conversation, in the order given
    alerts: tuple[AlertDetail, ...]  # oldest first, each with its history and notes
    mood: tuple[MoodWeek, ...]  # MOOD_WEEKS weeks, oldest first, ending this week


def record(svc: Services, actor: Actor, ref: MenteeRef) -> MenteeRecord:
    """Everything staff may read about a mentee (recorded in the audit log as a view). Reading
    is not the same as marking read: the caller does that with `mark_read` once it is shown."""
    def work(unit: Unit) -> MenteeRecord:
        m = unit.mentee(ref)
        messages = [row for row in MessageRepo(unit.session).for_mentee(m.id)
                    if row.staff_id is None]  # staff alerts about them live in alert histories
        timeline = tuple(TimelineMessage(
            row.id, row.created_at, row.direction, row.channel, row.status, row.purpose, row.body,
            staff_name(unit.session, row.sent_by_staff_id)) for row in messages)
        answers = ConversationRepo(unit.session).answers_for_mentee(m.id)
        unread = MessageRepo(unit.session).unread_counts(unit.actor.staff_id, [m.id]) \
            if unit.actor.staff_id is not None else {}
        unit.audit("mentee.view", mentee_id=m.id)
        return MenteeRecord(
            mentee=mentee_summary(unit.session, m, unread.get(m.id, 0)), status=mentee_status(m),
            messages=timeline,
            answers=tuple(CheckinAnswer(a.conversation_id, a.question, a.value, a.number, a.raw_text,
                                        a.answered_at)
                          for a in sorted(answers, key=lambda a: (a.conversation_id, a.id))),
            alerts=tuple(alert_detail(unit, a) for a in AlertRepo(unit.session).for_mentee(m.id)),
            mood=mood_strip(answers, unit.now, ZoneInfo(unit.svc.config.service.timezone)))

    return run(svc, actor, work)


def mood_strip(answers: Sequence[Answer], now: datetime, tz: ZoneInfo,
               weeks: int = MOOD_WEEKS) -> tuple[MoodWeek, ...]:
    """One value per ISO week (mean of the week's mood answers), oldest first, ending with the
    week `now` is in."""
    this_week = Week.containing(now, tz)
    strip = []
    for back in reversed(range(weeks)):
        week = this_week.shifted(-back)
        moods = [a.number for a in answers if a.question == MOOD_QUESTION and a.number is not None
                 and week.contains(a.answered_at)]
        strip.append(MoodWeek(week.label, sum(moods) / len(moods) if moods else None))
    return tuple(strip)


def mark_read(svc: Services, actor: Actor, ref: MenteeRef) -> int:
    """Mark the mentee's messages read for this staff member; returns how many were unread.

    The operator and the service have no read marker: for them it changes nothing."""
    def work(unit: Unit) -> int:
        m = unit.mentee(ref)
        staff_id = unit.actor.staff_id
        repo = MessageRepo(unit.session)
        latest = repo.latest_inbound_id(m.id)
        if staff_id is None or latest is None:
            return 0
        unread = repo.unread_counts(staff_id, [m.id]).get(m.id, 0)
        if unread:
            repo.mark_read(staff_id, m.id, latest, unit.now)
            unit.audit("mentee.read", mentee_id=m.id, detail=f"{unread} message(s)")
        return unread

    return run(svc, actor, work)
