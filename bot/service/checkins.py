"""Check-ins in the world: start, advance, remind, expire, opt out and in, and plan due events.

The decisions are the engine's and the schedule core's (both pure); this module stores what
they decide, in the caller's transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.flows import Flow
from bot.engine import (
    Cancel,
    ConversationState,
    Expire,
    Finished,
    Input,
    NoteToMentor,
    Pause,
    RaiseRisk,
    RecordAnswer,
    Remind,
    Resume,
    Send,
    Start,
    StepResult,
    step,
)
from bot.engine.core import parse_answer
from bot.schedule import (
    CheckinPlan,
    FollowUpPolicy,
    QuietHours,
    expiry_at,
    next_checkins,
    parse_plan,
    reminder_at,
)
from bot.service import alerting
from bot.service.flows import flow_of, flow_to_start, keep_version
from bot.service.outbox import queue_to_mentee, queue_to_staff, single_outbound_to_mentee
from bot.service.quiet import quiet_hours_for, tz_for, window_key
from bot.service.runtime import Services
from bot.storage.conversations import ConversationRepo
from bot.storage.messages import MessageRepo
from bot.storage.models import Answer, Conversation, Mentee, Message
from bot.storage.people import StaffRepo
from bot.storage.schedule import DueEventRepo
from bot.wording.catalogue import catalogue
from escalation.alert_text import staff_text

log = logging.getLogger("checkins.checkins")

PLAN_HORIZON = timedelta(days=14)
CHECKIN_KINDS = ("checkin", "oneoff")
TIMER_KINDS = ("reminder", "expiry")


def _state_of(conversation: Conversation, mentee: Mentee) -> ConversationState:
    return ConversationState(
        flow=conversation.flow_name, version=conversation.flow_version, state=conversation.state,
        answers=dict(conversation.answers or {}), reasks=conversation.reasks,
        reminded=conversation.reminded, first_name=mentee.first_name,
        paused=conversation.paused_at is not None,
    )


def start(session: Session, svc: Services, mentee: Mentee, now: datetime, *, trigger: str,
          due_at: datetime | None = None, flow_name: str | None = None,
          wait_for_quiet_hours: bool = False) -> Conversation | None:
    """Start a check-in unless one is already open (a new one never interrupts it).

    The flow is the one the booking names, else the mentee's (see bot/flows/choose.py)."""
    conversations = ConversationRepo(session)
    if conversations.open_for(mentee.id) is not None:
        return None
    flow = flow_to_start(svc, mentee, now, flow_name)
    keep_version(session, flow, now)
    result = step(flow, None, Start(mentee.first_name), now)  # type: ignore[arg-type]
    conversation = conversations.add(Conversation(
        mentee_id=mentee.id, flow_name=flow.name, flow_version=flow.version,
        flow_hash=flow.digest or None, state=result.state.state, answers={}, reasks=0,
        reminded=False, trigger=trigger,
        outcome="open", started_at=now, last_activity_at=now,
    ))
    scheduled = trigger in CHECKIN_KINDS
    late = timedelta(hours=svc.config.checkins.late_window_hours)
    _apply(session, svc, mentee, conversation, result, now,
           respect_quiet_hours=scheduled or wait_for_quiet_hours,
           not_after=(due_at or now) + late if scheduled else None)
    # The reminder is booked outside quiet hours, so it never waits in the outbox while the
    # mentee answers. Expiry counts from when the check-in was due: a daily check-in's expiry then
    # falls due with the next one, which the ticker lets run first (see ticker._checkin_due).
    policy = follow_up_policy(svc, flow)
    tz, quiet = tz_for(mentee), quiet_hours_for(svc.config, mentee)
    anchor = due_at if scheduled and due_at is not None and due_at <= now else now
    goes = now
    if wait_for_quiet_hours and quiet is not None and quiet.is_quiet(now, tz):
        goes = anchor = quiet.next_open(now, tz)  # a hand-sent check-in held till morning
    timers = DueEventRepo(session)
    timers.schedule(kind="reminder", dedupe_key=f"reminder:{conversation.id}",
                    due_at=reminder_at(goes, policy, tz, quiet), now=now,
                    mentee_id=mentee.id, conversation_id=conversation.id)
    timers.schedule(kind="expiry", dedupe_key=f"expiry:{conversation.id}",
                    due_at=max(expiry_at(anchor, policy, tz, quiet), now), now=now,
                    mentee_id=mentee.id, conversation_id=conversation.id)
    return conversation


def follow_up_policy(svc: Services, flow: Flow | None = None) -> FollowUpPolicy:
    """Reminder and expiry delays: the flow's own, else config's; an expiry is never sooner
    than the reminder. (Both are checked against their floors when read: config.py, files.py.)"""
    cfg = svc.config.checkins
    expire_hours = flow.expire_after_hours if flow and flow.expire_after_hours else cfg.expire_after_hours
    remind_hours = flow.remind_after_hours if flow and flow.remind_after_hours else cfg.reminder_after_hours
    expire = max(timedelta(hours=expire_hours), timedelta(minutes=2))
    remind = min(max(timedelta(hours=remind_hours), timedelta(minutes=1)),
                 expire - timedelta(minutes=1))
    return FollowUpPolicy(remind_after=remind, expire_after=expire)


@dataclass(frozen=True)
class DueStart:
    """A scheduled check-in to start: the mentee (locked), the due row's kind and due time."""

    mentee: Mentee
    trigger: str
    due_at: datetime
    flow: str | None = None  # a flow the booking names (e.g. the welfare follow-up)


def start_many(session: Session, svc: Services, starts: Sequence[DueStart],
               now: datetime) -> list[DueStart]:
    """Start many scheduled check-ins with one statement per table: the conversations, their
    first questions in the outbox, and their reminder and expiry timers; the same rows start()
    writes one at a time.

    The caller has locked the mentees and made sure none has a check-in open. Returns the starts
    it left alone for start(): a first question too long for one SMS (queue_to_mentee splits it)
    or a flow whose opening does more than ask.
    """
    late = timedelta(hours=svc.config.checkins.late_window_hours)
    available = svc.routes()
    quiet_of: dict[tuple[Any, ...], QuietHours | None] = {}
    reminder_of: dict[tuple[FollowUpPolicy, str, QuietHours | None], datetime] = {}  # from now: shared
    expiry_of: dict[tuple[FollowUpPolicy, datetime, str, QuietHours | None], datetime] = {}
    opening: dict[tuple[str, str, str, str], StepResult] = {}
    kept: set[tuple[str, str]] = set()
    conversations: list[dict[str, Any]] = []
    firsts: list[list[dict[str, Any]]] = []
    timers: list[tuple[datetime, datetime]] = []
    begun: list[DueStart] = []
    left: list[DueStart] = []
    for start in starts:
        assert start.trigger in CHECKIN_KINDS, start.trigger
        mentee = start.mentee
        flow = flow_to_start(svc, mentee, now, start.flow)
        policy = follow_up_policy(svc, flow)
        # The first prompt tells a discreet variant (same digest) apart.
        opened = (flow.name, flow.digest, flow.questions[0].prompt, mentee.first_name)
        if opened not in opening:  # the engine is pure: one step per flow and distinct name
            opening[opened] = step(flow, None, Start(mentee.first_name), now)  # type: ignore[arg-type]
        result = opening[opened]
        if not all(isinstance(e, Send) for e in result.effects):
            left.append(start)
            continue
        outbox: list[dict[str, Any]] = []
        for send in result.effects:
            assert isinstance(send, Send)
            row = single_outbound_to_mentee(mentee, available, send.text, now, purpose="flow",
                                            buttons=send.buttons, respect_quiet_hours=True,
                                            not_after=start.due_at + late)
            if row is None:
                log.warning("mentee %s has no reachable channel; message not queued", mentee.id)
            else:
                outbox.append(row)
        if any(row["segments"] > 1 for row in outbox):
            left.append(start)
            continue
        key = window_key(mentee)
        if key not in quiet_of:
            quiet_of[key] = quiet_hours_for(svc.config, mentee)
        tz, quiet = tz_for(mentee), quiet_of[key]
        if (policy, tz, quiet) not in reminder_of:
            reminder_of[(policy, tz, quiet)] = reminder_at(now, policy, tz, quiet)
        anchor = start.due_at if start.due_at <= now else now
        if (policy, anchor, tz, quiet) not in expiry_of:
            expiry_of[(policy, anchor, tz, quiet)] = max(expiry_at(anchor, policy, tz, quiet), now)
        timers.append((reminder_of[(policy, tz, quiet)], expiry_of[(policy, anchor, tz, quiet)]))
        if (flow.name, flow.digest) not in kept:
            keep_version(session, flow, now)
            kept.add((flow.name, flow.digest))
        state = result.state
        conversations.append({
            "mentee_id": mentee.id, "flow_name": flow.name, "flow_version": flow.version,
            "flow_hash": flow.digest or None,
            "state": state.state, "answers": dict(state.answers), "reasks": state.reasks,
            "reminded": state.reminded, "trigger": start.trigger, "outcome": "open",
            "started_at": now, "first_reply_at": None, "last_activity_at": now,
            "finished_at": None, "version": 1,
        })
        firsts.append(outbox)
        begun.append(start)
    ids = ConversationRepo(session).insert_many(conversations)
    outbox_rows: list[dict[str, Any]] = []
    timer_rows: list[dict[str, Any]] = []
    for start, outbox, (remind_due, expire_due) in zip(begun, firsts, timers, strict=True):
        conversation_id = ids[start.mentee.id]
        outbox_rows += [{**row, "conversation_id": conversation_id} for row in outbox]
        timer_rows.append({"kind": "reminder", "dedupe_key": f"reminder:{conversation_id}",
                           "due_at": remind_due, "mentee_id": start.mentee.id,
                           "conversation_id": conversation_id})
        timer_rows.append({"kind": "expiry", "dedupe_key": f"expiry:{conversation_id}",
                           "due_at": expire_due, "mentee_id": start.mentee.id,
                           "conversation_id": conversation_id})
    MessageRepo(session).add_outbound_many(outbox_rows)
    # Keyed by conversation ids the database has just issued: nothing can hold them yet. (If
    # something did, the insert raises and the ticker redoes the batch one check-in at a time.)
    DueEventRepo(session).schedule_many(timer_rows, now, keys_are_new=True)
    return left


def start_on_demand(session: Session, svc: Services, mentee: Mentee, now: datetime) -> None:
    """CHECKIN from a mentee: start one now, or repeat the open one's current question."""
    conversation = ConversationRepo(session).open_for(mentee.id)
    if conversation is None:
        start(session, svc, mentee, now, trigger="on_demand")
        return
    flow = flow_of(session, svc, conversation)
    state = _state_of(conversation, mentee)
    if state.paused:  # paused by a crisis disclosure: carry on from the same question
        _apply(session, svc, mentee, conversation, step(flow, state, Resume(), now), now,
               respect_quiet_hours=False)
        return
    result = step(flow, replace(state, reminded=False), Remind(), now)
    _apply(session, svc, mentee, conversation, StepResult(state, result.effects), now,
           respect_quiet_hours=False)


def pause(session: Session, svc: Services, mentee: Mentee, conversation: Conversation,
          now: datetime, *, inbound: Message | None = None) -> None:
    """A crisis disclosed mid check-in: the questionnaire stops (the safety reply has told the
    mentee a person will be in touch). It closes at expiry with the answers so far, or carries
    on if the mentee texts CHECKIN. The message joins the check-in's record, not as an answer."""
    flow = flow_of(session, svc, conversation)
    if inbound is not None:
        inbound.conversation_id = conversation.id
        if conversation.first_reply_at is None:
            conversation.first_reply_at = now
        # "no, I want to end it" to "somewhere safe tonight?": the answer's own risk still counts.
        question = flow.question(conversation.state)
        parsed = parse_answer(question, inbound.body or "") if question.answer != "free_text" else None
        for risk in question.risks:
            if parsed is not None and parsed.value in risk.when:
                alerting.raise_finding(session, svc, mentee, risk.category, risk.severity,
                                       risk.evidence, f"flow.{flow.name}.{question.key}", now,
                                       conversation_id=conversation.id)
    _apply(session, svc, mentee, conversation, step(flow, _state_of(conversation, mentee), Pause(), now),
           now, respect_quiet_hours=False)


def advance(session: Session, svc: Services, mentee: Mentee, conversation: Conversation,
            event: Input, now: datetime, *, inbound: Message | None = None,
            quiet_reask: bool = False) -> None:
    """Feed one input to the engine and store everything it decides."""
    flow = flow_of(session, svc, conversation)
    before = _state_of(conversation, mentee)
    result = step(flow, before, event, now)
    if quiet_reask and result.state.state == before.state and not any(
        isinstance(e, RecordAnswer) for e in result.effects
    ):
        # The mentee has just been sent a safety reply: "please reply YES or NO" must not follow.
        return
    if inbound is not None:
        inbound.conversation_id = conversation.id
        if conversation.first_reply_at is None:
            conversation.first_reply_at = now
    _apply(session, svc, mentee, conversation, result, now,
           respect_quiet_hours=isinstance(event, Remind),
           not_after=now + follow_up_policy(svc, flow).expire_after
           if isinstance(event, Remind) else None)


def _apply(session: Session, svc: Services, mentee: Mentee, conversation: Conversation,
           result: StepResult, now: datetime, *, respect_quiet_hours: bool,
           not_after: datetime | None = None) -> None:
    state = result.state
    conversation.state = state.state
    conversation.answers = dict(state.answers)
    conversation.reasks = state.reasks
    conversation.reminded = state.reminded
    conversation.last_activity_at = now
    if state.paused != (conversation.paused_at is not None):
        conversation.paused_at = now if state.paused else None
    repo = ConversationRepo(session)
    for effect in result.effects:
        if isinstance(effect, Send):
            queue_to_mentee(session, svc, mentee, effect.text, now, purpose="flow",
                            conversation_id=conversation.id, buttons=effect.buttons,
                            respect_quiet_hours=respect_quiet_hours, not_after=not_after)
        elif isinstance(effect, RecordAnswer):
            repo.add_answer(Answer(conversation_id=conversation.id, mentee_id=mentee.id,
                                   question=effect.question, raw_text=effect.raw_text,
                                   value=effect.value, number=effect.number, answered_at=now))
            alerting.record_housing_answer(session, mentee, effect.question, effect.value,
                                           effect.raw_text, now)
        elif isinstance(effect, RaiseRisk):
            alerting.raise_finding(session, svc, mentee, effect.category, effect.severity,
                                   effect.evidence, f"flow.{conversation.flow_name}.{effect.question}",
                                   now, conversation_id=conversation.id)
            if effect.severity == "urgent":
                # e.g. "no" to somewhere safe tonight: the right helpline at once, before the
                # flow's next question (the flow itself already says the mentor will be told).
                for text in alerting.answer_helpline_texts(svc, effect.category, mentee.language or "en"):
                    queue_to_mentee(session, svc, mentee, text, now, purpose="safety",
                                    respect_quiet_hours=False)
        elif isinstance(effect, NoteToMentor):
            mentor = alerting.mentor_or_cover(session, mentee)
            if mentor is not None:
                queue_to_staff(session, svc, mentor, f"{mentee.display_name} {effect.text}.", now,
                               mentee_id=mentee.id)
        elif isinstance(effect, Finished):
            _finish(session, svc, mentee, conversation, effect.outcome, now)


def _finish(session: Session, svc: Services, mentee: Mentee, conversation: Conversation,
            outcome: str, now: datetime) -> None:
    conversation.outcome = outcome
    conversation.finished_at = now
    DueEventRepo(session).cancel(conversation_id=conversation.id, kinds=TIMER_KINDS)
    if conversation.flow_name == svc.config.safe_contact.safe_check_flow:
        from bot.service.safe_contact import after_safe_check

        after_safe_check(session, svc, mentee, conversation, outcome, now)
        return  # a question about the number, not a check-in: no streaks
    if outcome in ("completed", "interrupted"):  # interrupted: they were in touch, not missing
        mentee.missed_streak = 0
    elif outcome == "missed":
        mentee.missed_streak += 1
        alerting.missed_streak(session, svc, mentee, now)


def remind(session: Session, svc: Services, conversation_id: int, now: datetime) -> None:
    conversation = ConversationRepo(session).get(conversation_id)
    if conversation is None or conversation.finished_at is not None:
        return
    mentee = session.get(Mentee, conversation.mentee_id)
    if mentee is None or mentee.status != "active":
        return
    last_heard = mentee.last_inbound_at
    if last_heard is not None and now - last_heard < follow_up_policy(svc, flow_of(session, svc, conversation)).remind_after:
        return  # they wrote to us recently (e.g. while the reminder waited out the night): no nag
    advance(session, svc, mentee, conversation, Remind(), now)


def expire(session: Session, svc: Services, conversation_id: int, now: datetime) -> None:
    conversation = ConversationRepo(session).get(conversation_id)
    if conversation is None or conversation.finished_at is not None:
        return
    mentee = session.get(Mentee, conversation.mentee_id)
    if mentee is not None:
        advance(session, svc, mentee, conversation, Expire(), now)


def cancel_open(session: Session, svc: Services, mentee: Mentee, now: datetime) -> None:
    conversation = ConversationRepo(session).open_for(mentee.id)
    if conversation is not None:
        result = step(flow_of(session, svc, conversation), _state_of(conversation, mentee), Cancel(), now)
        _apply(session, svc, mentee, conversation, result, now, respect_quiet_hours=True)


def opt_out(session: Session, svc: Services, mentee: Mentee, channel: str, now: datetime, *,
            address: str | None = None, confirm: bool | None = None) -> None:
    """STOP: no more check-ins; the mentor is told. Risk in the message was already checked.

    `confirm` (default: on Telegram only) sends "OK, you won't get any more messages" on the
    channel the request came by: on SMS the carrier confirms its own STOP keyword and blocks
    our sends, but not a phrasing such as "please stop texting me", which only we act on."""
    if mentee.status != "opted_out":
        mentee.status = "opted_out"
        mentee.opted_out_at = now
    cancel_open(session, svc, mentee, now)
    DueEventRepo(session).cancel(mentee_id=mentee.id, kinds=(*CHECKIN_KINDS, *TIMER_KINDS))
    if confirm is None:
        confirm = channel == "telegram"
    if confirm:
        if address is None:
            address = (mentee.telegram_chat_id if channel == "telegram" else mentee.phone) or ""
        session.add(Message(direction="out", channel=channel, address=address,
                            body=catalogue(mentee.language or "en").text("opted_out"), purpose="system", status="pending",
                            respect_quiet_hours=False, mentee_id=mentee.id, created_at=now,
                            updated_at=now))
    mentor = alerting.mentor_or_cover(session, mentee)
    if mentor is not None:
        queue_to_staff(session, svc, mentor,
                       staff_text("stop_note", mentee=mentee.display_name), now,
                       mentee_id=mentee.id)


def opt_in(session: Session, svc: Services, mentee: Mentee, now: datetime) -> None:
    """START: check-ins resume from the next planned time."""
    was_out = mentee.status == "opted_out"
    mentee.status = "active"
    mentee.opted_out_at = None
    mentee.sms_reachable = True
    # A new plan version: STOP cancelled the planned rows, and their dedupe keys would
    # otherwise stop plan_mentee from creating them again (no check-ins for two weeks).
    replan(session, svc, mentee, now)
    queue_to_mentee(session, svc, mentee, catalogue(mentee.language or "en").text("opted_in"), now,
                    purpose="system", respect_quiet_hours=False)
    mentor = alerting.mentor_or_cover(session, mentee)
    if mentor is not None and was_out:
        queue_to_staff(session, svc, mentor,
                       staff_text("start_note", mentee=mentee.display_name), now,
                       mentee_id=mentee.id)


# ---- plans -> due events ------------------------------------------------------------------------
def checkin_plan_of(svc: Services, mentee: Mentee) -> CheckinPlan | None:
    if not mentee.plan:
        return None
    hh, mm = (int(p) for p in svc.config.checkins.release_daily_time.split(":"))
    return CheckinPlan(
        weekly=parse_plan(mentee.plan), tz=mentee.timezone or "Europe/London",
        start_date=mentee.plan_start, end_date=mentee.plan_end,
        paused=mentee.status != "active", release_date=mentee.release_date,
        release_daily_at=time(hh, mm), release_days=svc.config.checkins.release_daily_days,
    )


def plan_mentee(session: Session, svc: Services, mentee: Mentee, now: datetime,
                horizon: timedelta = PLAN_HORIZON) -> int:
    """Create the due check-ins of the next `horizon`; idempotent (one row per planned time)."""
    mentee.planned_until = now + horizon
    created = 0
    timers = DueEventRepo(session)
    for row in planned_rows(svc, mentee, now, horizon):
        created += timers.schedule(**row, now=now)
    return created


def planned_rows(svc: Services, mentee: Mentee, now: datetime,
                 horizon: timedelta = PLAN_HORIZON) -> list[dict[str, Any]]:
    """The due check-in rows of the mentee's next `horizon` (pure: the caller stores them)."""
    plan = checkin_plan_of(svc, mentee)
    if plan is None or plan.paused:
        return []
    rows = []
    for due in next_checkins(plan, now, 64):
        if due > now + horizon:
            break
        rows.append({"kind": "checkin", "due_at": due, "mentee_id": mentee.id,
                     "plan_version": mentee.plan_version,
                     "dedupe_key": f"checkin:{mentee.id}:v{mentee.plan_version}:{due.isoformat()}"})
    return rows


def replan(session: Session, svc: Services, mentee: Mentee, now: datetime) -> int:
    """A changed plan (or pause/resume): future check-ins are replaced, stale ones never sent."""
    mentee.plan_version += 1
    DueEventRepo(session).cancel(mentee_id=mentee.id, kinds=("checkin",))
    return plan_mentee(session, svc, mentee, now)


def schedule_oneoff(session: Session, svc: Services, mentee: Mentee, due: datetime, now: datetime,
                    note: str = "") -> bool:
    return DueEventRepo(session).schedule(
        kind="oneoff", dedupe_key=f"oneoff:{mentee.id}:{due.isoformat()}", due_at=due, now=now,
        mentee_id=mentee.id, plan_version=mentee.plan_version, note=note or None)


def book_welfare_follow_up(session: Session, svc: Services, alert: Any, now: datetime) -> bool:
    """A closed alert books one welfare check-in ([flows] welfare) a while later; True if booked.

    Once per alert. It goes like any booked check-in: waits for quiet hours and safe-to-text
    windows, and is skipped if another check-in is in progress then.
    """
    name, hours = svc.config.flows.welfare, svc.config.flows.welfare_after_hours
    mentee = session.get(Mentee, alert.mentee_id)
    if not name or hours <= 0 or mentee is None or mentee.status != "active":
        return False
    return DueEventRepo(session).schedule(
        kind="oneoff", dedupe_key=f"welfare:{alert.id}", due_at=now + timedelta(hours=hours), now=now,
        mentee_id=mentee.id, plan_version=mentee.plan_version, note=f"welfare follow-up after {alert.code}",
        flow=name)
