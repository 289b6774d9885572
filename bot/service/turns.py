"""A turn: one stored inbound message handled end to end in one transaction.

Order matters: who sent it; service keywords (STOP before anything else); risk detection on every
mentee message; then the check-in flow or an acknowledgement. Everything the turn decides is
written in the same transaction, and only after commit does the outbox send.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from collections.abc import Sequence
import re
import time
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.engine import Reply, Skip
from bot.engine.core import button_press
from bot.engine.keywords import is_keyword_alone, keyword_of
from bot.flows import get_flow
from bot.service import alerting, checkins
from bot.service.outbox import one_turn, queue_to_mentee, queue_to_staff
from bot.service.runtime import Services
from bot.storage.conversations import ConversationRepo
from bot.storage.messages import MessageRepo
from bot.storage.models import Conversation, Mentee, Message
from bot.storage.people import MenteeRepo, StaffRepo
from escalation.detect import Assessment, assess, rules_only

log = logging.getLogger("checkins.turns")

BATCH_SECONDS = 0.05  # wall time, not the service clock: a bound on latency, not on logic
ACK_EVERY = timedelta(hours=1)  # a burst of texts gets one "thanks, your mentor will see this"
NUDGE_EVERY = timedelta(hours=3)  # and the mentor one nudge
_START_CODE = re.compile(r"^/start(?:@\w+)?\s+([A-Za-z0-9_-]{4,64})\s*$")


def process_inbound(svc: Services, limit: int = 50) -> int:
    """Handle stored, unprocessed inbound messages; returns how many were handled.

    A batch is handled in one transaction. If anything in it raises, the whole batch is rolled
    back and handled again one message per savepoint, so one bad message can neither block the
    others nor go unseen: it is flagged for a human (fail closed).
    """
    try:
        handled = _process_batch(svc, limit, isolate=False)
    except Exception:
        log.warning("an inbound batch failed; handling its messages one at a time")
        handled = _process_batch(svc, limit, isolate=True)
    if handled:
        svc.poke_outbox()
    return handled


def _process_batch(svc: Services, limit: int, *, isolate: bool) -> int:
    handled = 0
    # A batch commits within about BATCH_SECONDS even in a burst: a crisis text's alerts are
    # sent only after its batch commits, so a long batch would hold them back (the rows left
    # over are released by the commit and taken by the next pass at once).
    deadline = time.monotonic() + BATCH_SECONDS
    with svc.sessions() as session, session.begin():
        now = svc.clock.now()
        rows, urgent_ids = _urgent_first(MessageRepo(session).next_inbound(limit))
        for row in rows:
            if handled and time.monotonic() > deadline:
                break
            if handled and urgent_ids and row.id not in urgent_ids:
                break  # commit the urgent ones now; their alerts go out as soon as they commit
            row.processed_at = now  # set first: it joins the turn's own UPDATE of this row
            if not isolate:
                handle_message(session, svc, row, now)
            else:
                try:
                    with session.begin_nested():
                        handle_message(session, svc, row, now)
                except Exception:
                    log.exception("inbound message %s could not be handled; flagged for a human", row.id)
                    with session.begin_nested():
                        _fail_closed(session, svc, row, now)
                    row.processed_at = now
            handled += 1
    return handled


@lru_cache(maxsize=256)
def _assessment(text: str, keyword: bool = False) -> Assessment:
    """Detection is pure, so a text checked when ordering a batch is not checked again when its
    turn runs. A service keyword (STOP, HELP, "please stop texting me") is checked by the rules
    only: the learned model reads "STOP" as distress, and an opt-out must never page anyone."""
    if keyword:
        return rules_only().assess(text)
    return assess(text)


def _is_urgent(row: Message) -> bool:
    text = row.body or ""
    return any(f.severity == "urgent"
               for f in _assessment(text, keyword_of(text) is not None).findings)


def _urgent_first(rows: Sequence[Message]) -> tuple[list[Message], set[int]]:
    """People who wrote something urgent are handled first, and each person's own messages keep
    their order (a check-in answer must not jump ahead of the one before it). Returns the rows
    and the ids of those that belong to such people."""
    urgent_people = {(r.channel, r.address) for r in rows if _is_urgent(r)}
    if not urgent_people:
        return list(rows), set()
    ordered = sorted(rows, key=lambda r: (r.channel, r.address) not in urgent_people)  # stable
    return ordered, {r.id for r in rows if (r.channel, r.address) in urgent_people}


def _fail_closed(session: Session, svc: Services, row: Message, now: datetime) -> None:
    """A message we could not handle still reaches a human: a review alert for the mentee."""
    row.status = "error"
    mentee = MenteeRepo(session).by_address(row.channel, row.address)
    if mentee is not None:
        row.mentee_id = mentee.id
        alerting.raise_finding(session, svc, mentee, "review", "urgent",
                               "a message could not be processed; please read it", "system.error",
                               now, message_id=row.id)


def handle_message(session: Session, svc: Services, row: Message, now: datetime) -> None:
    """One inbound message's turn; no text goes to the same person twice in it."""
    with one_turn(session):
        _handle(session, svc, row, now)


def _handle(session: Session, svc: Services, row: Message, now: datetime) -> None:
    text = row.body or ""
    code = _START_CODE.match(text.strip())
    if row.channel == "telegram" and code:
        _link_telegram(session, svc, row, code.group(1), now)
        return
    mentee = MenteeRepo(session).by_address(row.channel, row.address, lock=True)
    if mentee is not None:
        _from_mentee(session, svc, mentee, row, now)
        return
    staff = StaffRepo(session).by_address(row.channel, row.address)
    if staff is not None:
        row.staff_id = staff.id
        alerting.handle_staff_message(session, svc, staff, row, now)
        return
    _from_stranger(session, svc, row, now)


def _from_stranger(session: Session, svc: Services, row: Message, now: datetime) -> None:
    """Someone not registered: a polite reply; if they sound in danger, the helplines (never
    "your mentor has been told": they have none) and a page to the duty contact with their
    number and words. Their message itself keeps no words."""
    text = row.body or ""
    assessment = _assessment(text, keyword_of(text) is not None)
    if assessment.emergency or any(f.severity == "urgent" for f in assessment.findings):
        texts = alerting.stranger_reply_texts(svc, assessment)
        alerting.page_duty_about_stranger(session, svc, row.channel, row.address, text,
                                          assessment, now)
    else:
        texts = [f"Sorry, this number isn't linked to anyone at {svc.config.service.org_name}. "
                 "If you are a mentee, please ask your mentor to add you."]
    for text in texts:
        MessageRepo(session).add_outbound(Message(
            direction="out", channel=row.channel, address=row.address, body=text, purpose="system",
            status="pending", respect_quiet_hours=False, created_at=now, updated_at=now))
    row.body = ""  # we keep no words from people who are not registered with us
    row.status = "unknown_sender"


def _link_telegram(session: Session, svc: Services, row: Message, code: str, now: datetime) -> None:
    mentee = MenteeRepo(session).by_link_code(code, now)
    reply: str
    if mentee is not None:
        mentee.telegram_chat_id = row.address
        mentee.telegram_reachable = True
        mentee.telegram_link_code = None
        mentee.telegram_link_expires = None
        row.mentee_id = mentee.id
        reply = (f"Hi {mentee.first_name}, you're connected. Your check-ins from "
                 f"{svc.config.service.org_name} will come here. Send HELP any time.")
    else:
        staff = StaffRepo(session).by_link_code(code)
        if staff is not None:
            staff.telegram_chat_id = row.address
            staff.telegram_link_code = None
            row.staff_id = staff.id
            reply = f"Hi {staff.name}, alerts for your mentees will come here. Reply ACK <code> to take one."
        else:
            row.body = ""
            row.status = "unknown_sender"
            reply = ("Sorry, that link has expired or is not right. Please ask your mentor for a "
                     "new one.")
    MessageRepo(session).add_outbound(Message(
        direction="out", channel="telegram", address=row.address, body=reply, purpose="system",
        status="pending", respect_quiet_hours=False, mentee_id=row.mentee_id,
        staff_id=row.staff_id, created_at=now, updated_at=now))


def _from_mentee(session: Session, svc: Services, mentee: Mentee, row: Message, now: datetime) -> None:
    row.mentee_id = mentee.id
    mentee.last_inbound_at = now
    _mark_reachable(mentee, row.channel)
    text = row.body or ""
    keyword = keyword_of(text, opted_out=mentee.status == "opted_out")
    assessment = _assessment(text, keyword is not None)
    alerting.note_later_message(session, mentee, row, assessment, now)
    urgent = alerting.raise_findings(session, svc, mentee, assessment, now, message_id=row.id)
    if keyword == "stop":
        # The carrier confirms its own STOP keyword on SMS; a phrasing we act on ourselves.
        confirm = row.channel == "telegram" or not is_keyword_alone(text)
        checkins.opt_out(session, svc, mentee, row.channel, now, address=row.address,
                         confirm=confirm)
        return
    if keyword == "start":
        checkins.opt_in(session, svc, mentee, now)
        return
    if mentee.status == "opted_out":
        return  # they asked for no messages; risk was still checked above
    if keyword == "help":
        queue_to_mentee(session, svc, mentee, help_text(session, svc, mentee), now,
                        purpose="system", respect_quiet_hours=False)
        return
    if keyword == "checkin":
        checkins.start_on_demand(session, svc, mentee, now)
        return
    if not text.strip():  # a voice note or picture: the check-in waits for a typed answer
        _media_only(session, svc, mentee, now)
        return
    conversation = ConversationRepo(session).open_for(mentee.id)
    if conversation is not None and conversation.paused_at is None:
        if pauses_checkin(assessment):
            checkins.pause(session, svc, mentee, conversation, now, inbound=row)
            return
        if assessment.findings and _asks_free_text(conversation):
            # A risky message is not an answer ("chosen council: <a crisis text>"): it is kept as
            # a message, has raised its alert, and the question is skipped.
            checkins.advance(session, svc, mentee, conversation, Skip(), now, inbound=row)
            return
        checkins.advance(session, svc, mentee, conversation, Reply(text), now,
                         inbound=row, quiet_reask=urgent)
        return
    if button_press(text) is not None:
        reply = ("That check-in is paused. Text CHECKIN to carry on, or just send a message."
                 if conversation is not None else
                 "That check-in has finished. Text CHECKIN to start a new one, or just send a message.")
        queue_to_mentee(session, svc, mentee, reply, now, purpose="system", respect_quiet_hours=False)
        return
    if not urgent and not assessment.findings:
        # Unsolicited: stored, checked for risk, acknowledged, and passed to the mentor; but a
        # run of messages gets one acknowledgement and one nudge, not one per text.
        messages = MessageRepo(session)
        ack = alerting.ack_reply_text(svc)
        if not messages.said_recently(mentee.id, ack, now - ACK_EVERY):
            queue_to_mentee(session, svc, mentee, ack, now, purpose="system", respect_quiet_hours=False)
        _forward_to_mentor(session, svc, mentee, now)


def pauses_checkin(assessment: Assessment) -> bool:
    """A suicide or self-harm disclosure (any severity), an overdose taken, or a message that
    could not be checked: the check-in stops asking; a person takes over."""
    return assessment.emergency or any(f.category in ("crisis", "review") for f in assessment.findings)


def _asks_free_text(conversation: Conversation) -> bool:
    flow = get_flow(conversation.flow_name)
    return flow.question(conversation.state).answer == "free_text"


def _media_only(session: Session, svc: Services, mentee: Mentee, now: datetime) -> None:
    """A voice note, photo or picture message: we cannot read it, so say so and tell the mentor."""
    messages = MessageRepo(session)
    reply = "Sorry, we can only read typed messages. Please type your reply. Your mentor will see you sent something."
    if not messages.said_recently(mentee.id, reply, now - ACK_EVERY):
        queue_to_mentee(session, svc, mentee, reply, now, purpose="system", respect_quiet_hours=False)
    mentor = alerting.mentor_or_cover(session, mentee)
    nudge = (f"{mentee.display_name} sent a voice note, photo or picture message the service "
             "cannot read. Please get in touch.")
    if mentor is not None and not messages.said_recently(mentee.id, nudge, now - NUDGE_EVERY):
        queue_to_staff(session, svc, mentor, nudge, now, mentee_id=mentee.id)


def _forward_to_mentor(session: Session, svc: Services, mentee: Mentee, now: datetime) -> None:
    """Tell the mentor a message arrived (no body over SMS: they read it in the service)."""
    mentor = alerting.mentor_or_cover(session, mentee)
    if mentor is None:
        return
    nudge = (f"{mentee.display_name} sent you a message between check-ins. "
             "Please get in touch when you can.")
    if not MessageRepo(session).said_recently(mentee.id, nudge, now - NUDGE_EVERY):
        queue_to_staff(session, svc, mentor, nudge, now, mentee_id=mentee.id)


def _mark_reachable(mentee: Mentee, channel: str) -> None:
    if channel == "sms":
        mentee.sms_reachable = True
    elif channel == "telegram":
        mentee.telegram_reachable = True
    if mentee.sms_reachable and mentee.telegram_reachable:
        mentee.unreachable_since = None


def help_text(session: Session, svc: Services, mentee: Mentee) -> str:
    """Who runs the service and how to reach the mentor, in one SMS."""
    mentor = StaffRepo(session).get(mentee.mentor_id)
    contact = ""
    if mentor is not None and mentor.phone:
        contact = f" on {mentor.phone}"
    elif svc.config.service.help_phone:
        contact = f" or call {svc.config.service.help_phone}"
    first = mentor.name.split()[0] if mentor is not None else "your mentor"
    return (f"This is {svc.config.service.org_name}. Your mentor is {first}{contact}. "
            "Text CHECKIN to talk, STOP to stop. In danger? Call 999.")
