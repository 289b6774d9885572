"""A turn: one stored inbound message handled end to end in one transaction.

Order matters: who sent it; service keywords (STOP before anything else); risk detection on every
mentee message; then the check-in flow or an acknowledgement. Everything the turn decides is
written in the same transaction, and only after commit does the outbox send.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.engine import Reply, Skip
from bot.engine.core import button_press
from bot.engine.keywords import is_keyword_alone, keyword_of
from bot.service import alerting, checkins, safe_contact
from bot.service.flows import flow_of
from bot.service.outbox import one_turn, queue_to_mentee, queue_to_staff
from bot.service.runtime import Services
from bot.wording.catalogue import catalogue
from bot.storage.alerts import AlertRepo
from bot.storage.conversations import ConversationRepo
from bot.storage.db import is_lock_error, scrub_wal
from bot.storage.messages import MessageRepo, outbox_rows_later
from bot.storage.models import Alert, Conversation, Mentee, Message
from bot.storage.people import MenteeRepo, StaffRepo
from escalation.alert_text import staff_text
from escalation.detect import Assessment, assess, rules_only

log = logging.getLogger("checkins.turns")

# A bound on latency, not on logic, measured on the service's clock (injected: a test's clock
# stands still, so how fast the machine is never changes what a batch holds).
BATCH_TIME = timedelta(milliseconds=50)
LOAD_AHEAD = 8  # inbound rows built as ORM objects at a time, as a pass reaches them
LAST_PASS = "inbound_last_pass"  # Services.extras: how many messages the last pass handled
ACK_EVERY = timedelta(hours=1)  # a burst of texts gets one "thanks, your mentor will see this"
NUDGE_EVERY = timedelta(hours=3)  # and the mentor one nudge
_START_CODE = re.compile(r"^/start(?:@\w+)?\s+([A-Za-z0-9_-]{4,64})\s*$")


def process_inbound(svc: Services, limit: int = 50, *, worker: int | None = None) -> int:
    """Handle stored, unprocessed inbound messages; returns how many were handled.

    A batch is handled in one transaction. If anything in it raises, the whole batch is rolled
    back and handled again one message per savepoint, so one bad message can neither block the
    others nor go unseen: it is flagged for a human (fail closed).

    `worker`: this pass's turn worker when a process runs several side by side (see
    claim_size); None when it is the only one.
    """
    handled, blanked, left = svc.retrying(lambda: _process_or_isolate(svc, limit, worker),
                                          "handling inbound messages")
    if blanked:
        scrub_wal(svc.engine)  # a stranger's words were blanked: leave no copy in the WAL
    if handled:
        svc.poke_outbox()
    if left:
        svc.ask_inbound_help()  # it claimed more than it had time for: wake an idle worker
    return handled


# With several turn workers a worker claims only about what it is likely to handle before its
# batch commits, so the rest stay free for the others (a claim locks every row it returns).
CLAIM_LEAST = 8


def claim_size(svc: Services, limit: int, worker: int | None) -> int:
    """How many rows a pass claims: `limit` when it is the only worker; with several, twice
    what this worker's last pass handled (at least CLAIM_LEAST, at most `limit`), so a burst is
    shared out, and a backlog on a quiet machine still goes in big batches."""
    if worker is None:
        return limit
    return max(CLAIM_LEAST, min(limit, 2 * svc.extras.get((LAST_PASS, worker), 0)))


def _process_or_isolate(svc: Services, limit: int, worker: int | None) -> tuple[int, bool, int]:
    try:
        return _process_batch(svc, limit, isolate=False, worker=worker)
    except Exception as exc:
        if is_lock_error(exc):
            raise  # not the batch's fault: the whole unit runs again
        log.warning("an inbound batch failed; handling its messages one at a time")
        return _process_batch(svc, limit, isolate=True, worker=worker)


def _process_batch(svc: Services, limit: int, *, isolate: bool,
                   worker: int | None = None) -> tuple[int, bool, int]:
    """Handle one batch; returns how many, whether any stranger's words were blanked, and how
    many it claimed but left for the next pass."""
    # A batch commits within about BATCH_TIME even in a burst: a crisis text's alerts are
    # sent only after its batch commits, so a long batch would hold them back (the rows left
    # over are released by the commit and taken by the next pass at once).
    pace = LAST_PASS if worker is None else (LAST_PASS, worker)
    with svc.sessions() as session, session.begin():
        now = svc.clock.now()
        # Of the first `limit` waiting, a crisis is claimed first however few a worker takes.
        claimed, urgent_ids = _urgent_first(MessageRepo(session).claim_inbound(
            limit, take=claim_size(svc, limit, worker), prefer=_is_urgent))
        if isolate:
            handled, blanked = _run_turns(session, svc, claimed, urgent_ids, now, pace, isolate=True)
            return handled, blanked, len(claimed) - handled
        # The turns' routine replies and nudges are written together, in one INSERT.
        with outbox_rows_later(session):
            handled, blanked = _run_turns(session, svc, claimed, urgent_ids, now, pace, isolate=False)
    svc.extras[pace] = handled
    return handled, blanked, len(claimed) - handled


def _run_turns(session: Session, svc: Services, claimed: Sequence[Any], urgent_ids: set[int],
               now: datetime, pace: Any = LAST_PASS, *, isolate: bool) -> tuple[int, bool]:
    handled = 0
    blanked = False
    deadline = now + BATCH_TIME
    messages = MessageRepo(session)
    loaded: dict[int, Message] = {}  # ORM rows, built a few at a time as they are reached
    known: dict[int, Known] = {}  # what a chunk read at once for its turns, by message id
    considered: set[int] = set()  # messages a read-ahead has looked at
    for index, ref in enumerate(claimed):
        if handled and svc.clock.now() > deadline:
            break
        if handled and urgent_ids and ref.id not in urgent_ids:
            break  # commit the urgent ones now; their alerts go out as soon as they commit
        # A pass reads ahead as many as the last one handled: on a busy machine that may be
        # one or two inside BATCH_TIME, in a backlog on a quiet one, dozens.
        ahead = max(2, svc.extras.get(pace, 2)) if handled == 0 else LOAD_AHEAD
        if ref.id not in loaded:  # a pass on a busy machine often handles only one or two
            loaded.update(messages.get_many([r.id for r in claimed[index:index + ahead]]))
        row = loaded[ref.id]
        if not isolate:
            if ref.id not in considered:
                chunk = [loaded[r.id] for r in claimed[index:index + ahead] if r.id in loaded]
                found, looked_at = read_ahead(session, chunk, now)
                known.update(found)
                considered.update(looked_at)
            handle_message(session, svc, row, now, known.pop(row.id, None))
            # Set after the turn, not before: the turn's first query would flush it alone;
            # now it joins the turn's own UPDATE of this row (mentee id, status).
            row.processed_at = now
        else:
            row.processed_at = now
            try:
                with session.begin_nested():
                    handle_message(session, svc, row, now)
            except Exception:
                log.exception("inbound message %s could not be handled; flagged for a human", row.id)
                with session.begin_nested():
                    _fail_closed(session, svc, row, now)
                row.processed_at = now
        handled += 1
        blanked = blanked or row.status == "unknown_sender"
    return handled, blanked


@lru_cache(maxsize=256)
def _assessment(text: str, keyword: bool = False, question: str | None = None) -> Assessment:
    """Detection is pure, so a text checked when ordering a batch is not checked again when its
    turn runs. A service keyword (STOP, HELP, "please stop texting me") is checked by the rules
    only: the learned model reads "STOP" as distress, and an opt-out must never page anyone.
    `question`: the check-in question the text answers, if one is open (the learned layer
    weighs its words)."""
    if keyword:
        return rules_only().assess(text)
    return assess(text, question)


def _is_urgent(row: Any) -> bool:
    return _urgent_text(row.body or "")


@lru_cache(maxsize=1024)
def _urgent_text(text: str) -> bool:
    """Pure, and asked of every claimed row on every pass (a pass handles a few of them)."""
    return any(f.severity == "urgent"
               for f in _assessment(text, keyword_of(text) is not None).findings)


def _urgent_first(rows: Sequence[Any]) -> tuple[list[Any], set[int]]:
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


@dataclass(frozen=True)
class Known:
    """What a mentee's turn would read first, read for a chunk of turns at once (see read_ahead).

    Each is as the turn itself would read it at its start: the mentee (locked), their open
    conversation, their open alerts, and what was said to or about them in the last
    max(ACK_EVERY, NUDGE_EVERY)."""

    mentee: Mentee
    conversation: Conversation | None
    open_alerts: list[Alert]
    said: dict[str, datetime]


def read_ahead(session: Session, rows: Sequence[Message], now: datetime) -> tuple[dict[int, Known], set[int]]:
    """Read what the turns of `rows` (consecutive, in the order they will run) need, in one
    query per table instead of several per turn; returns it by message id, and the ids of the
    rows looked at (a row after those gets a read-ahead of its own when it is reached).

    Pending writes are flushed first, so what is read includes every earlier turn's work. A
    read is good for a turn only if no turn run between the read and it can change what was
    read. A turn changes only its own mentee's rows, so a mentee's first message among the
    rows gets its reads, and a second message from the same mentee (by either channel) reads
    for itself (after the first one's writes). Anything that is not a mentee's message (staff,
    a stranger, a Telegram link code: their turns can touch other mentees' alerts and
    messages) ends the read-ahead: it and the rows after it are looked at again when reached.
    """
    session.flush()
    senders = [(r.channel, r.address) for r in rows if not _is_link_code(r)]
    mentees = MenteeRepo(session).by_addresses(senders)
    chosen: dict[int, Mentee] = {}  # message id -> mentee, for each mentee's first message
    seen: set[int] = set()
    looked_at: set[int] = set()
    for row in rows:
        mentee = None if _is_link_code(row) else mentees.get((row.channel, row.address))
        if mentee is None:
            if not looked_at:  # the first row: its own turn reads what it needs
                looked_at.add(row.id)
            break  # a later one is looked at when reached, after the turns before it have run
        looked_at.add(row.id)
        if mentee.id not in seen:
            seen.add(mentee.id)
            chosen[row.id] = mentee
    if not chosen:
        return {}, looked_at
    ids = sorted(seen)
    conversations = ConversationRepo(session).open_for_mentees(ids)
    alerts = AlertRepo(session).open_for_mentees(ids)
    said = MessageRepo(session).said_since_many(ids, now - max(ACK_EVERY, NUDGE_EVERY))
    return {message_id: Known(m, conversations.get(m.id), alerts[m.id], said[m.id])
            for message_id, m in chosen.items()}, looked_at


def _is_link_code(row: Message) -> bool:
    return row.channel == "telegram" and _START_CODE.match((row.body or "").strip()) is not None


def handle_message(session: Session, svc: Services, row: Message, now: datetime,
                   known: Known | None = None) -> None:
    """One inbound message's turn; no text goes to the same person twice in it. `known`: what
    read_ahead read for it, if it did (else the turn reads for itself)."""
    with one_turn(session):
        _handle(session, svc, row, now, known)


def _handle(session: Session, svc: Services, row: Message, now: datetime,
            known: Known | None = None) -> None:
    if known is not None:
        _from_mentee(session, svc, known.mentee, row, now, known)
        return
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
        texts = [catalogue("en").text("stranger", org=svc.config.service.org_name)]
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
        texts = catalogue(mentee.language or "en")
        reply = texts.text("telegram_linked_discreet" if mentee.discreet else "telegram_linked",
                           first_name=mentee.first_name, org=svc.config.service.org_name)
    else:
        staff = StaffRepo(session).by_link_code(code)
        if staff is not None:
            staff.telegram_chat_id = row.address
            staff.telegram_link_code = None
            row.staff_id = staff.id
            reply = staff_text("telegram_linked", name=staff.name)
        else:
            row.body = ""
            row.status = "unknown_sender"
            reply = catalogue("en").text("telegram_link_bad")
    MessageRepo(session).add_outbound(Message(
        direction="out", channel="telegram", address=row.address, body=reply, purpose="system",
        status="pending", respect_quiet_hours=False, mentee_id=row.mentee_id,
        staff_id=row.staff_id, created_at=now, updated_at=now))


def _from_mentee(session: Session, svc: Services, mentee: Mentee, row: Message, now: datetime,
                 known: Known | None = None) -> None:
    row.mentee_id = mentee.id
    row.processed_at = now  # with the mentee id: one UPDATE of this row (the batch sets it too)
    mentee.last_inbound_at = now
    _mark_reachable(mentee, row.channel)
    text = row.body or ""
    if safe_contact.is_code_word(mentee, text):  # before anything that could answer them
        safe_contact.code_word_said(session, svc, mentee, row, now)
        return
    keyword = keyword_of(text, opted_out=mentee.status == "opted_out",
                         language=mentee.language or "en")
    conversation = (known.conversation if known is not None
                    else ConversationRepo(session).open_for(mentee.id))
    # A typed reply is read with the question it answers; a button press ("safe_place=yes") is
    # the flow's to score, and its key's words must not read as an answer to the question.
    typed = keyword is None and button_press(text) is None
    question = _question_asked(session, svc, conversation) if typed else None
    assessment = _assessment(text, keyword is not None, question)
    alerting.note_later_message(session, mentee, row, assessment, now,
                                open_alerts=known.open_alerts if known is not None else None)
    urgent = alerting.raise_findings(session, svc, mentee, assessment, now, message_id=row.id,
                                     open_alerts=known.open_alerts if known is not None else None)
    # Raising them writes alerts, pages and replies, never the mentee's conversation (read above).
    if assessment.findings:
        known = None  # raising them wrote alerts and replies: what was said is read afresh
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
        _media_only(session, svc, mentee, now, known.said if known is not None else None)
        return
    if conversation is not None and conversation.paused_at is None:
        if pauses_checkin(assessment):
            checkins.pause(session, svc, mentee, conversation, now, inbound=row)
            return
        if assessment.findings and _asks_free_text(session, svc, conversation):
            # A risky message is not an answer ("chosen council: <a crisis text>"): it is kept as
            # a message, has raised its alert, and the question is skipped.
            checkins.advance(session, svc, mentee, conversation, Skip(), now, inbound=row)
            return
        checkins.advance(session, svc, mentee, conversation, Reply(text), now,
                         inbound=row, quiet_reask=urgent)
        return
    if button_press(text) is not None:
        key = "paused_button" if conversation is not None else "finished_button"
        queue_to_mentee(session, svc, mentee, catalogue(mentee.language or "en").text(key),
                        now, purpose="system", respect_quiet_hours=False)
        return
    if not urgent and not assessment.findings:
        # Unsolicited: stored, checked for risk, acknowledged, and passed to the mentor; but a
        # run of messages gets one acknowledgement and one nudge, not one per text.
        said = (known.said if known is not None
                else MessageRepo(session).said_since(mentee.id, now - max(ACK_EVERY, NUDGE_EVERY)))
        ack = alerting.ack_reply_text(svc, mentee.language or "en")
        if not _said_within(said, ack, now, ACK_EVERY):
            queue_to_mentee(session, svc, mentee, ack, now, purpose="system", respect_quiet_hours=False,
                            flush=False)
        _forward_to_mentor(session, svc, mentee, now, said)


def pauses_checkin(assessment: Assessment) -> bool:
    """A suicide or self-harm disclosure (any severity), an overdose taken, or a message that
    could not be checked: the check-in stops asking; a person takes over."""
    return assessment.emergency or any(f.category in ("crisis", "review") for f in assessment.findings)


def _question_asked(session: Session, svc: Services, conversation: Conversation | None) -> str | None:
    """The prompt of the check-in question waiting for an answer, if one is."""
    if conversation is None or conversation.paused_at is not None:
        return None
    try:
        return flow_of(session, svc, conversation).question(conversation.state).prompt
    except KeyError:  # the check-in is not waiting at a question
        return None


def _asks_free_text(session: Session, svc: Services, conversation: Conversation) -> bool:
    flow = flow_of(session, svc, conversation)
    return flow.question(conversation.state).answer == "free_text"


def _said_within(said: dict[str, datetime], text: str, now: datetime, every: timedelta) -> bool:
    """Whether `text` went out (see MessageRepo.said_since) within `every` of `now`."""
    at = said.get(text)
    return at is not None and at >= now - every


def _media_only(session: Session, svc: Services, mentee: Mentee, now: datetime,
                said: dict[str, datetime] | None = None) -> None:
    """A voice note, photo or picture message: we cannot read it, so say so and tell the mentor."""
    if said is None:
        said = MessageRepo(session).said_since(mentee.id, now - max(ACK_EVERY, NUDGE_EVERY))
    reply = catalogue(getattr(mentee, "language", None) or "en").text("media_only")
    if not _said_within(said, reply, now, ACK_EVERY):
        queue_to_mentee(session, svc, mentee, reply, now, purpose="system", respect_quiet_hours=False,
                        flush=False)
    mentor = alerting.mentor_or_cover(session, mentee)
    nudge = staff_text("media_nudge", mentee=mentee.display_name)
    if mentor is not None and not _said_within(said, nudge, now, NUDGE_EVERY):
        queue_to_staff(session, svc, mentor, nudge, now, mentee_id=mentee.id, flush=False)


def _forward_to_mentor(session: Session, svc: Services, mentee: Mentee, now: datetime,
                       said: dict[str, datetime]) -> None:
    """Tell the mentor a message arrived (no body over SMS: they read it in the service)."""
    mentor = alerting.mentor_or_cover(session, mentee)
    if mentor is None:
        return
    nudge = staff_text("message_nudge", mentee=mentee.display_name)
    if not _said_within(said, nudge, now, NUDGE_EVERY):
        queue_to_staff(session, svc, mentor, nudge, now, mentee_id=mentee.id, flush=False)


def _mark_reachable(mentee: Mentee, channel: str) -> None:
    if channel == "sms":
        mentee.sms_reachable = True
    elif channel == "telegram":
        mentee.telegram_reachable = True
    if mentee.sms_reachable and mentee.telegram_reachable:
        mentee.unreachable_since = None


def help_text(session: Session, svc: Services, mentee: Mentee) -> str:
    """Who runs the service and how to reach the mentor, in one SMS, in the mentee's language."""
    texts = catalogue(getattr(mentee, "language", None) or "en")
    if getattr(mentee, "discreet", False):
        return texts.text("help_discreet")
    mentor = StaffRepo(session).get(mentee.mentor_id)
    contact = ""
    if mentor is not None and mentor.phone:
        contact = f" on {mentor.phone}"
    elif svc.config.service.help_phone:
        contact = f" or call {svc.config.service.help_phone}"
    first = mentor.name.split()[0] if mentor is not None else texts.text("mentor_fallback")
    return texts.text("help", org=svc.config.service.org_name, mentor=first, contact=contact)
