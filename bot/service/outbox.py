"""The outbox: outbound rows are written in the turn's transaction; this loop sends them.

A send never happens inside a transaction that could roll back, so nothing is sent that was not
stored, and nothing stored is lost. Each send's receipt is written as soon as the send returns
(those finishing together share a transaction), so a crash re-sends only what was in flight at
that moment. A worker holds what it claimed by a short lease that it renews while it works: a
crashed worker's messages are taken back once the lease runs out (`[service]
send_lease_seconds`). Urgent rows (helpline replies, staff alerts) are claimed and sent first,
and have a lane of their own that never waits behind a batch of ordinary messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.channels.base import (
    Button,
    OutboundText,
    PermanentSendError,
    RateLimitedError,
    SendReceipt,
    TransientSendError,
)
from bot.gsm7 import segment_count, sms_parts, to_gsm7
from bot.service.quiet import quiet_hours_for, tz_for
from bot.service.runtime import Services
from bot.storage.alerts import AlertRepo
from bot.storage.db import is_lock_error
from bot.storage.later import LaterId
from bot.storage.messages import ORDINARY_PURPOSES, MessageRepo
from bot.storage.models import Mentee, Message, Staff
from bot.storage.people import MenteeRepo, StaffRepo
from escalation.alert_text import staff_text

log = logging.getLogger("checkins.outbox")

MAX_ATTEMPTS = 8
PART_GAP_SECONDS = 3
BACKOFF_SECONDS = (5, 15, 60, 300, 600, 1200, 1800)
SIGNIN_PURPOSE = "signin"  # a staff sign-in code: its body is blanked once it is sent
SIGNIN_BODY_KEPT = "(a sign-in code, not kept)"


@dataclass(frozen=True)
class SendJob:
    message_id: int
    channel: str
    address: str
    text: str
    buttons: tuple[Button, ...]
    urgent: bool = False
    purpose: str = ""
    alert_id: int | None = None

    @property
    def plain(self) -> bool:
        """Its receipt is only written on its row (no alert history, no body to blank)."""
        return self.alert_id is None and self.purpose != SIGNIN_PURPOSE


@dataclass(frozen=True)
class SendOutcome:
    job: SendJob
    receipt: SendReceipt | None = None
    error: Exception | None = None


# ---- choosing a channel -------------------------------------------------------------------------
def mentee_address(mentee: Mentee, channel: str) -> str | None:
    if channel == "sms" and mentee.phone and mentee.sms_reachable:
        return mentee.phone
    if channel == "telegram" and mentee.telegram_chat_id and mentee.telegram_reachable:
        return mentee.telegram_chat_id
    return None


def mentee_route(mentee: Mentee, available: set[str], exclude: set[str] = frozenset()) -> tuple[str, str] | None:
    """The mentee's preferred reachable channel, else their other one."""
    order = [mentee.preferred_channel] + [c for c in ("sms", "telegram", "console") if c != mentee.preferred_channel]
    for channel in order:
        if channel in exclude or channel not in available:
            continue
        if channel == "console":
            return ("console", mentee.phone or f"mentee:{mentee.id}")
        address = mentee_address(mentee, channel)
        if address:
            return (channel, address)
    return None


def route_to_staff(svc: Services, staff: Staff, exclude: set[str] = frozenset()) -> tuple[str, str] | None:
    """Where to send to a staff member: their first working configured channel. In a process
    with no channel configured at all (the CLI before set-up), their own first channel, so the
    message waits for `serve` instead of being lost."""
    available = svc.routes()
    if not available and not exclude:
        available = set(staff.channel_list)
    return staff_route(staff, available, exclude)


def staff_route(staff: Staff, available: set[str], exclude: set[str] = frozenset()) -> tuple[str, str] | None:
    """The first of the staff member's ordered channels that is configured and not failed."""
    for channel in [*staff.channel_list, "console"]:
        if channel in exclude or channel not in available:
            continue
        address = {"sms": staff.phone, "telegram": staff.telegram_chat_id, "email": staff.email,
                   "console": staff.phone or staff.email or f"staff:{staff.id}"}.get(channel)
        if address:
            return (channel, address)
    return None


def route_to_mentee(mentee: Mentee, available: set[str],
                    exclude: set[str] = frozenset()) -> tuple[str, str] | None:
    """Where to send to a mentee: their preferred reachable configured channel, else the other.
    With no channel configured in this process (the CLI before set-up), their own channel, so
    the message waits for `serve` instead of being lost."""
    route = mentee_route(mentee, available, exclude)
    if route is None and not exclude:
        route = mentee_route(mentee, {mentee.preferred_channel})
    return route


TURN_TEXTS = "turn_texts"


@contextlib.contextmanager
def one_turn(session: Session) -> Iterator[None]:
    """Mark one turn's work in `session`: no text is queued to the same mentee twice in it."""
    session.info[TURN_TEXTS] = set()
    try:
        yield
    finally:
        session.info.pop(TURN_TEXTS, None)


def queue_to_mentee(session: Session, svc: Services, mentee: Mentee, text: str, now: datetime, *,
                    purpose: str = "flow", conversation_id: int | None = None,
                    buttons: tuple[tuple[str, str], ...] = (), respect_quiet_hours: bool = True,
                    not_after: datetime | None = None, exclude: set[str] = frozenset(),
                    sent_by_staff_id: int | None = None, flush: bool = True) -> Message | None:
    """Write an outbound message to a mentee in the current transaction (sent after commit).
    `sent_by_staff_id`: the staff member who wrote it (a reply from the staff side).
    `flush=False`: for a caller that needs no id: the row goes with the next flush (inside
    messages.outbox_rows_later, with the batch's other rows in one INSERT; returns None).

    Within one turn (see `one_turn`) the same text is queued to a mentee once: a safety reply
    and a check-in answer's risk may both call for the same helpline."""
    said: set[tuple[int, str]] | None = session.info.get(TURN_TEXTS)
    if said is not None:
        if (mentee.id, text) in said:
            return None
        said.add((mentee.id, text))
    route = route_to_mentee(mentee, svc.routes(), exclude)
    if route is None:
        log.warning("mentee %s has no reachable channel; message not queued", mentee.id)
        return None
    channel, address = route
    text = _as_sent_to(svc, mentee, text)
    return _queue(session, channel=channel, address=address, text=text, now=now, purpose=purpose,
                  mentee_id=mentee.id, conversation_id=conversation_id, buttons=buttons,
                  respect_quiet_hours=respect_quiet_hours, not_after=not_after,
                  sent_by_staff_id=sent_by_staff_id, flush=flush)


def _as_sent_to(svc: Services, mentee: Mentee, text: str) -> str:
    """Discreet mode's last guard: nothing that gives the service away reaches this number."""
    if not getattr(mentee, "discreet", False):
        return text
    from bot.wording.discreet import discreet_text

    return discreet_text(text, svc.config.service.org_name, mentee.language or "en",
                         svc.config.replies.numbers())


def single_outbound_to_mentee(mentee: Mentee, available: set[str], text: str, now: datetime, *,
                              purpose: str = "flow", buttons: tuple[tuple[str, str], ...] = (),
                              respect_quiet_hours: bool = True,
                              not_after: datetime | None = None) -> dict[str, Any] | None:
    """The outbox row queue_to_mentee would write, as column values for a bulk insert (the
    caller adds conversation_id). Same route and GSM-7 shaping; None if the mentee has no
    channel. A text that needs more than one SMS is the caller's to send through
    queue_to_mentee, which splits it: check the row's `segments`."""
    route = route_to_mentee(mentee, available)
    if route is None:
        return None
    channel, address = route
    return outbound_values(channel=channel, address=address,
                           text=to_gsm7(text) if channel == "sms" else text, now=now,
                           purpose=purpose, mentee_id=mentee.id, buttons=buttons,
                           respect_quiet_hours=respect_quiet_hours, not_after=not_after)


def outbound_values(*, channel: str, address: str, text: str, now: datetime, purpose: str,
                    mentee_id: int | None = None, staff_id: int | None = None,
                    conversation_id: int | None = None, alert_id: int | None = None,
                    buttons: tuple[tuple[str, str], ...] = (), respect_quiet_hours: bool = True,
                    not_after: datetime | None = None, next_attempt_at: datetime | None = None,
                    sent_by_staff_id: int | None = None) -> dict[str, Any]:
    """Column values of one pending outbox row (text already shaped for its channel)."""
    return {
        "direction": "out", "channel": channel, "address": address, "body": text,
        "buttons": [list(b) for b in buttons] or None, "purpose": purpose, "status": "pending",
        "segments": segment_count(text) if channel == "sms" else 1, "attempts": 0,
        "respect_quiet_hours": respect_quiet_hours, "not_after": not_after, "mentee_id": mentee_id,
        "staff_id": staff_id, "conversation_id": conversation_id, "alert_id": alert_id,
        "next_attempt_at": next_attempt_at, "created_at": now, "updated_at": now,
        "sent_by_staff_id": sent_by_staff_id,
    }


def queue_to_staff(session: Session, svc: Services, staff: Staff, text: str, now: datetime, *,
                   alert_id: int | None = None, mentee_id: int | None = None,
                   exclude: set[str] = frozenset(), purpose: str = "alert",
                   flush: bool = True) -> Message | None:
    """Write an outbound message to a staff member; staff messages ignore quiet hours. A paused
    staff member (on leave, unavailable) gets nothing. `flush` as for queue_to_mentee."""
    if not staff.active:
        return None
    route = route_to_staff(svc, staff, exclude)
    if route is None:
        return None
    channel, address = route
    return _queue(session, channel=channel, address=address, text=text, now=now, purpose=purpose,
                  staff_id=staff.id, alert_id=alert_id, mentee_id=mentee_id,
                  respect_quiet_hours=False, flush=flush)


def _queue(session: Session, *, channel: str, address: str, text: str, now: datetime, purpose: str,
           mentee_id: int | None = None, staff_id: int | None = None,
           conversation_id: int | None = None, alert_id: int | None = None,
           buttons: tuple[tuple[str, str], ...] = (), respect_quiet_hours: bool = True,
           not_after: datetime | None = None, sent_by_staff_id: int | None = None,
           flush: bool = True, kept: list[LaterId] | None = None) -> Message | None:
    # Basic phones: GSM-7 only (one curly quote would triple the cost), and a long text as
    # single-segment texts split between words; later parts wait a moment to arrive in order.
    parts = sms_parts(text) if channel == "sms" else [text]
    first: Message | None = None
    for index, part in enumerate(parts):
        row = _queue_one(session, channel=channel, address=address, text=part, now=now,
                         purpose=purpose, mentee_id=mentee_id, staff_id=staff_id,
                         conversation_id=conversation_id, alert_id=alert_id,
                         buttons=buttons if index == len(parts) - 1 else (),
                         respect_quiet_hours=respect_quiet_hours, not_after=not_after,
                         next_attempt_at=now + timedelta(seconds=PART_GAP_SECONDS * index) if index else None,
                         sent_by_staff_id=sent_by_staff_id, flush=flush, kept=kept)
        first = first or row
    return first


def _queue_one(session: Session, *, flush: bool = True, kept: list[LaterId] | None = None,
               **values: Any) -> Message | None:
    """`kept`: a row kept to be written later gets a LaterId, appended to it (for a row naming
    it: see bot.storage.later)."""
    row = outbound_values(**values)
    if not flush:
        later = MessageRepo(session).add_outbound_later(row, want_id=kept is not None)
        if later:
            if isinstance(later, LaterId) and kept is not None:
                kept.append(later)
            return None  # written with the batch's other rows (see messages.outbox_rows_later)
    return MessageRepo(session).add_outbound(Message(**row), flush=flush)


# ---- the sender loop ----------------------------------------------------------------------------
def send_lease(svc: Services) -> timedelta:
    return timedelta(seconds=svc.config.service.send_lease_seconds)


def claim_jobs(svc: Services, limit: int = 200, *, urgent_only: bool = False,
               held_here: list[int] | None = None) -> list[SendJob]:
    """Claim due outbox rows, urgent first, deferring any that would land in a mentee's quiet
    hours. `urgent_only`: helpline replies and staff alerts alone (the urgent lane).
    `held_here`: messages this process is still sending, never taken back (see Holding)."""
    return svc.retrying(lambda: _claim_jobs(svc, limit, urgent_only, held_here or []),
                        "claiming messages to send")


class Holding:
    """The messages this process has claimed and not yet recorded, across both lanes. A lease
    is how other processes tell a dead worker from a live one; within the process there is no
    need to guess, and a lease that lapsed while the machine was busy (a renewal held up behind
    the database or a full thread pool) must not let the other lane send a message again."""

    def __init__(self) -> None:
        self._ids: set[int] = set()
        self._lock = threading.Lock()  # claims run in worker threads, receipts on the loop

    def ids(self) -> list[int]:
        with self._lock:
            return sorted(self._ids)

    def add(self, ids: Iterable[int]) -> None:
        with self._lock:
            self._ids.update(ids)

    def drop(self, ids: Iterable[int]) -> None:
        with self._lock:
            self._ids.difference_update(ids)


def holding(svc: Services) -> Holding:
    found = svc.extras.get("holding")
    if found is None:
        found = svc.extras["holding"] = Holding()
    return found  # type: ignore[no-any-return]


def _claim_jobs(svc: Services, limit: int, urgent_only: bool, held_here: list[int]) -> list[SendJob]:
    jobs: list[SendJob] = []
    with svc.sessions() as session, session.begin():
        now = _locked_now(svc, session)
        rows = MessageRepo(session).claim_outbox(now, svc.worker_id, limit, lease=send_lease(svc),
                                                 urgent_only=urgent_only, held_here=held_here)
        mentees = MenteeRepo(session).get_many(
            {r.mentee_id for r in rows if r.respect_quiet_hours and r.mentee_id is not None})
        for row in rows:
            if row.respect_quiet_hours and row.mentee_id is not None:
                mentee = mentees.get(row.mentee_id)
                if mentee is not None and _hold_back(svc, row, mentee, now):
                    continue
            buttons = tuple(Button(label, value) for label, value in (row.buttons or []))
            jobs.append(SendJob(row.id, row.channel, row.address, row.body, buttons,
                                urgent=row.purpose not in ORDINARY_PURPOSES, purpose=row.purpose,
                                alert_id=row.alert_id))
    return jobs


def renew_leases(svc: Services, message_ids: list[int]) -> int:
    """Renew this worker's hold on messages it claimed and has not yet recorded."""
    def work() -> int:
        with svc.sessions() as session, session.begin():
            return MessageRepo(session).renew_leases(message_ids, _locked_now(svc, session))

    return svc.retrying(work, "renewing the sending lease")


def _locked_now(svc: Services, session: Session) -> datetime:
    """The time, read once the transaction has begun: on SQLite that is once it holds the write
    lock (BEGIN IMMEDIATE), which a busy database may take seconds to give. A lease stamped with
    the time from before that wait would start out already run out, and the next claim (the other
    lane's, a moment later) would take the message again and send it a second time."""
    session.connection()  # begins the transaction (and waits for the lock) now
    return svc.clock.now()


def _hold_back(svc: Services, row: Message, mentee: Mentee, now: datetime) -> bool:
    """Re-check the send window at the moment of sending; True if the row must not go now."""
    if row.not_after is not None and now > row.not_after:
        row.status = "expired"
        row.error_detail = "not sent: its time had passed"
        return True
    if mentee.status == "opted_out" and row.purpose in ("flow", "staff_reply"):
        row.status = "cancelled"
        row.error_detail = "mentee opted out"
        return True
    quiet = quiet_hours_for(svc.config, mentee)
    tz = tz_for(mentee)
    if quiet is not None and quiet.is_quiet(now, tz):
        row.status = "pending"  # held back, not tried: no attempt is counted
        row.next_attempt_at = quiet.next_open(now, tz)
        return True
    return False


async def _send(svc: Services, job: SendJob) -> SendOutcome:
    channel = svc.channels.get(job.channel)
    if channel is None:
        return SendOutcome(job, error=PermanentSendError(f"channel {job.channel} is not configured"))
    try:
        receipt = await channel.send(OutboundText(job.address, job.text, job.buttons))
        return SendOutcome(job, receipt=receipt)
    except (TransientSendError, PermanentSendError) as exc:  # RateLimitedError is transient
        return SendOutcome(job, error=exc)
    except Exception as exc:  # an adapter bug must not lose the message: retry it
        log.exception("unexpected error sending message %s", job.message_id)
        return SendOutcome(job, error=TransientSendError(f"unexpected: {exc!r}"))


def record_outcomes(svc: Services, outcomes: list[SendOutcome]) -> None:
    """Store what each send did: provider id, retry time, or a permanent failure and fallback."""
    svc.retrying(lambda: _record_outcomes(svc, outcomes), "recording sends")


def _record_outcomes(svc: Services, outcomes: list[SendOutcome]) -> None:
    now = svc.clock.now()
    try:
        _record_all(svc, outcomes, now, isolate=False)
    except Exception as exc:
        if is_lock_error(exc):
            raise  # not a bad result: the whole unit runs again
        # One bad result must not undo the others: record them again one savepoint each.
        log.exception("recording a send batch failed; recording one at a time")
        _record_all(svc, outcomes, now, isolate=True)


def _record_all(svc: Services, outcomes: list[SendOutcome], now: datetime, *, isolate: bool) -> None:
    with svc.sessions() as session, session.begin():
        messages = MessageRepo(session)
        if not isolate:  # the common case, a plain send that went: one statement for them all
            plain = [o for o in outcomes if o.receipt is not None and o.job.plain]
            messages.record_sent_many([(o.job.message_id, _sent_status(o.receipt), o.receipt.provider_id,
                                        o.receipt.segments or None)
                                       for o in plain if o.receipt is not None], now)
            outcomes = [o for o in outcomes if not (o.receipt is not None and o.job.plain)]
        # One query warms the identity map; the dict keeps the rows alive (the map holds them
        # weakly), else each get below is a query of its own again.
        warm = messages.get_many([o.job.message_id for o in outcomes])  # noqa: F841
        alerts = AlertRepo(session).get_many({o.job.alert_id for o in outcomes  # noqa: F841
                                              if o.job.alert_id is not None})
        for outcome in outcomes:
            if not isolate:
                _record_one(session, svc, messages, outcome, now)
                continue
            try:
                with session.begin_nested():
                    _record_one(session, svc, messages, outcome, now)
            except Exception:
                log.exception("could not record the send of message %s", outcome.job.message_id)


def _record_one(session: Session, svc: Services, messages: MessageRepo, outcome: SendOutcome,
                now: datetime) -> None:
    row = messages.get(outcome.job.message_id)
    if row is None:
        return
    if not isinstance(outcome.error, RateLimitedError):
        # A try: the provider was asked (a rate limit's "not yet" is not one). Counted here, with
        # its outcome, never at the claim: a worker that died holding the row tried nothing.
        row.attempts += 1
        row.first_tried_at = row.first_tried_at or now
    if outcome.receipt is not None:
        _record_sent(session, row, outcome.receipt, now)
    elif isinstance(outcome.error, RateLimitedError):
        # Held back by a rate limit (ours or the provider's): not a failed attempt.
        row.status = "pending"
        row.next_attempt_at = now + timedelta(seconds=outcome.error.retry_after or 1)
        row.updated_at = now
    elif isinstance(outcome.error, TransientSendError) and outcome.error.uncertain \
            and _resend_window_over(svc, row, now + _backoff(svc, row, outcome.error)):
        _give_up_uncertain(session, svc, row, now)
    elif isinstance(outcome.error, TransientSendError) and row.attempts < MAX_ATTEMPTS:
        delay = _backoff(svc, row, outcome.error).total_seconds()
        row.status = "pending"
        row.next_attempt_at = now + timedelta(seconds=delay)
        detail = str(outcome.error)
        row.error_detail = (f"may have been delivered; trying again: {detail}"
                            if outcome.error.uncertain else detail)[:300]
        row.updated_at = now
    else:
        error = outcome.error or PermanentSendError("unknown")
        row.status = "failed"
        row.error_code = getattr(error, "code", None)
        row.error_detail = str(error)[:300]
        row.updated_at = now
        handle_permanent_failure(
            session, svc, row, now,
            unreachable=isinstance(error, PermanentSendError) and error.unreachable)


def _backoff(svc: Services, row: Message, error: TransientSendError) -> timedelta:
    """The wait before the next try: what the provider said, else the table by tries so far,
    at most `[service] send_retry_max_seconds`."""
    if error.retry_after:
        return timedelta(seconds=error.retry_after)
    step = BACKOFF_SECONDS[min(max(row.attempts, 1), len(BACKOFF_SECONDS)) - 1]
    return timedelta(seconds=min(step, svc.config.service.send_retry_max_seconds))


def _resend_window_over(svc: Services, row: Message, next_try: datetime) -> bool:
    """Whether a send with an unknown outcome would next be tried too long after its first try:
    a copy may already have arrived, and a second one long after would confuse more than help."""
    window = timedelta(minutes=svc.config.service.resend_window_minutes)
    return next_try - (row.first_tried_at or row.created_at) > window


def _give_up_uncertain(session: Session, svc: Services, row: Message, now: datetime) -> None:
    """Stop re-sending a message that may have arrived. A staff alert still moves on to the
    person's next channel (a second copy is better than an alert nobody saw); a mentee's
    message is left as is (their check-in goes on: reminder, expiry)."""
    row.status = "unknown"
    row.error_code = "timeout"
    row.error_detail = (f"may have been delivered: no answer from {row.channel} in time, and not "
                        f"tried again after {svc.config.service.resend_window_minutes:g} minutes")
    row.updated_at = now
    if row.staff_id is not None:
        handle_permanent_failure(session, svc, row, now)


def _sent_status(receipt: SendReceipt) -> str:
    return "sent" if receipt.status in ("", "sending") else receipt.status


def _record_sent(session: Session, row: Message, receipt: SendReceipt, now: datetime) -> None:
    row.status = _sent_status(receipt)
    row.provider_id = receipt.provider_id
    row.segments = receipt.segments or row.segments
    row.sent_at = now
    row.updated_at = now
    row.error_detail = None
    if row.purpose == SIGNIN_PURPOSE:
        row.body = SIGNIN_BODY_KEPT  # the code is of no use to anyone once it has gone
    if row.alert_id is not None:
        alert = AlertRepo(session).get(row.alert_id)
        if alert is not None:
            AlertRepo(session).record(alert, "notified", now, staff_id=row.staff_id,
                                      channel=row.channel, message_id=row.id,
                                      detail=f"handed to {row.channel}")


def handle_permanent_failure(session: Session, svc: Services, row: Message, now: datetime, *,
                             unreachable: bool = False) -> None:
    """A row that will never arrive (provider refusal, retries used up, an 'undelivered' callback):
    record it on the alert, mark a mentee unreachable if the provider says so, try the next channel."""
    from bot.service.reachability import on_unreachable  # late: it queues alerts through us

    if row.alert_id is not None:
        alert = AlertRepo(session).get(row.alert_id)
        if alert is not None:
            AlertRepo(session).record(alert, "failed", now, staff_id=row.staff_id,
                                      channel=row.channel, message_id=row.id,
                                      detail=row.error_detail or row.error_code or "")
    if unreachable:
        on_unreachable(session, svc, row, now)
    _fall_back(session, svc, row, now)


def _tried_up_to(order: list[str], channel: str) -> set[str]:
    """Channels at or before `channel` in a person's order: a fallback only ever moves forward,
    so two failing channels can never hand a message back and forth."""
    if channel not in order:
        return {channel}
    return set(order[: order.index(channel) + 1])


def _fall_back(session: Session, svc: Services, row: Message, now: datetime) -> None:
    """A permanent failure on one channel: try the person's next channel."""
    if row.staff_id is not None:
        staff = StaffRepo(session).get(row.staff_id)
        if staff is None:
            return
        exclude = _tried_up_to([*staff.channel_list, "console"], row.channel)
        alert = AlertRepo(session).get(row.alert_id) if row.alert_id is not None else None
        if alert is not None:
            from bot.service import alerting  # late: alerting queues through this module

            exclude |= alerting.failed_channels(session, alert.id, staff.id)
            if _already_fallen_back(session, row, exclude):
                return  # a sibling of this notification (e.g. the housing SMS) already did it
            # Rendered afresh for the new channel: an email gets its subject, Telegram its button.
            alerting.notify_staff(session, svc, alert, staff, now, exclude=exclude,
                                  reminder=row.body.startswith("STILL NOT ACKED"),
                                  event="fallback", detail=f"{row.channel} failed")
            return
        queue_to_staff(session, svc, staff, row.body, now, mentee_id=row.mentee_id, exclude=exclude,
                       purpose=row.purpose if row.purpose == SIGNIN_PURPOSE else "alert")
    elif row.mentee_id is not None and row.purpose != "system":
        mentee = MenteeRepo(session).get(row.mentee_id)
        if mentee is not None:
            order = [mentee.preferred_channel] + [c for c in ("sms", "telegram", "console")
                                                  if c != mentee.preferred_channel]
            again = queue_to_mentee(session, svc, mentee, row.body, now, purpose=row.purpose,
                                    conversation_id=row.conversation_id,
                                    buttons=tuple(tuple(b) for b in (row.buttons or [])),  # type: ignore[misc]
                                    respect_quiet_hours=row.respect_quiet_hours, not_after=row.not_after,
                                    exclude=_tried_up_to(order, row.channel),
                                    sent_by_staff_id=row.sent_by_staff_id)
            if again is None:
                _tell_staff_not_delivered(session, svc, mentee, row, now)


def _tell_staff_not_delivered(session: Session, svc: Services, mentee: Mentee, row: Message,
                              now: datetime) -> None:
    """A staff reply or a safety reply that no channel could deliver is not left to a log line:
    the writer (a reply) or the mentor (helplines) is told, to get in touch another way. A
    check-in question is not: the missed check-in says it, through the usual no-contact rules."""
    from bot.service import alerting  # late: alerting queues through this module

    if row.purpose == "staff_reply" and row.sent_by_staff_id is not None:
        writer = StaffRepo(session).get(row.sent_by_staff_id)
        text = staff_text("reply_not_delivered", mentee=mentee.display_name)
    elif row.purpose == "safety":
        writer = alerting.mentor_or_cover(session, mentee)
        text = staff_text("safety_not_delivered", mentee=mentee.display_name)
    else:
        return
    if writer is not None:
        queue_to_staff(session, svc, writer, text, now, mentee_id=mentee.id)


def _already_fallen_back(session: Session, row: Message, exclude: set[str]) -> bool:
    """True if this person already has a copy of the alert queued on a channel still in play."""
    return any(
        m.id != row.id and m.staff_id == row.staff_id and m.created_at >= row.created_at
        and m.channel not in exclude and m.status != "failed"
        for m in MessageRepo(session).for_alert(row.alert_id)  # type: ignore[arg-type]
    )


class SendGate:
    """At most `size` messages out at once in one process, each counted until its receipt is
    written, so a crash can re-send no more than `size` of them. Urgent waiters go first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.busy = 0
        self._waiting: list[tuple[bool, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def acquire(self, urgent: bool) -> None:
        if self.busy < self.size and not self._waiting:
            self.busy += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (not urgent, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # handed a slot just as we were cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)  # the slot goes straight to the next waiter
                return
        self.busy -= 1


def send_gate(svc: Services) -> SendGate:
    """This process's gate (one per event loop): the ordinary and urgent lanes share it."""
    loop = asyncio.get_running_loop()
    found = svc.extras.get("send_gate")
    if found is None or found[0] is not loop:
        found = (loop, SendGate(svc.config.service.send_concurrency))
        svc.extras["send_gate"] = found
    return found[1]  # type: ignore[no-any-return]


class _Receipts:
    """Writes each send's outcome as soon as it returns: sends that finish while one write is
    under way share the next transaction (group commit), so no receipt waits for a whole pass."""

    def __init__(self, svc: Services, held: set[int]) -> None:
        self.svc = svc
        self.held = held
        self.queue: asyncio.Queue[tuple[SendOutcome, asyncio.Future[None]] | None] = asyncio.Queue()

    async def record(self, outcome: SendOutcome) -> None:
        """Hand over an outcome and wait until it is written (or could not be)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((outcome, future))
        await future

    def close(self) -> None:
        self.queue.put_nowait(None)

    async def run(self) -> None:
        closing = False
        while not closing:
            batch = [await self.queue.get()]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            closing = None in batch
            items = [item for item in batch if item is not None]
            if not items:
                continue
            outcomes = [outcome for outcome, _ in items]
            try:
                await asyncio.to_thread(record_outcomes, self.svc, outcomes)
            except Exception as exc:  # the rows go again once their lease runs out
                log.warning("could not record %d sends (they will be sent again): %s",
                            len(outcomes), type(exc).__name__)
            self.held.difference_update(o.job.message_id for o in outcomes)
            holding(self.svc).drop(o.job.message_id for o in outcomes)
            for _, future in items:
                if not future.done():
                    future.set_result(None)


async def _keep_leases(svc: Services, held: set[int]) -> None:
    """Renew the lease on what this pass holds, three times a lease, until cancelled."""
    interval = svc.config.service.send_lease_seconds / 3
    while True:
        await asyncio.sleep(interval)
        if not held:
            continue
        try:
            await asyncio.to_thread(renew_leases, svc, sorted(held))
        except Exception as exc:  # try again next time; a lapse risks a second copy, not a loss
            log.warning("could not renew the sending lease: %s", type(exc).__name__)


async def send_pass(svc: Services, limit: int = 200, concurrency: int | None = None, *,
                    urgent_only: bool = False) -> int:
    """Claim, send and record one batch; returns how many sends were attempted.

    A send holds its place at the gate until its receipt is written, so at most
    `[service] send_concurrency` messages (or `concurrency`) are ever out and unrecorded.
    """
    here = holding(svc)
    jobs = await asyncio.to_thread(claim_jobs, svc, limit, urgent_only=urgent_only, held_here=here.ids())
    if not jobs:
        return 0
    # Held from the moment the claim committed (its leases are fresh until the first renewal).
    here.add(job.message_id for job in jobs)
    gate = SendGate(concurrency) if concurrency else send_gate(svc)
    # One person's messages go one after another, in the order they were written (a safety
    # reply before the next question); different people's go in parallel, urgent ones first.
    by_person: dict[tuple[str, str], list[SendJob]] = {}
    for job in sorted(jobs, key=lambda j: j.message_id):
        by_person.setdefault((job.channel, job.address), []).append(job)
    queues = sorted(by_person.values(), key=lambda q: (not any(j.urgent for j in q), q[0].message_id))
    held = {job.message_id for job in jobs}
    receipts = _Receipts(svc, held)

    async def in_order(queue: list[SendJob]) -> None:
        urgent = any(j.urgent for j in queue)  # a safety reply's person keeps their place
        for job in queue:
            await gate.acquire(urgent)
            try:
                await receipts.record(await _send(svc, job))
            finally:
                gate.release()

    recorder = asyncio.create_task(receipts.run())
    keeper = asyncio.create_task(_keep_leases(svc, held))
    try:
        await asyncio.gather(*(in_order(queue) for queue in queues))
    finally:
        receipts.close()
        try:
            await recorder  # even when cancelled (shutdown): what was sent is recorded
        finally:
            keeper.cancel()
            holding(svc).drop(held)  # unrecorded (cancelled): left to their lease, as if we died
    return len(jobs)
