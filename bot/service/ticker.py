"""The ticker: claims due-event rows and hands each to the check-in or alert code.

APScheduler only calls `tick` every few seconds; the rows are the schedule. Due check-ins are
handed over as a batch (one statement per table for the whole batch); everything else, and any
check-in needing more care (an open check-in to expire first, a failed batch), is handled one
row per savepoint so one bad row never holds up the others. A crash before commit leaves every
claimed row pending for the next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.schedule.due_checkin import IN_PROGRESS, Verdict, cancel_reason, dispatch_verdict
from bot.schedule.quiet_hours import QuietHours
from bot.service import alerting, checkins
from bot.service.checkins import CHECKIN_KINDS, DueStart
from bot.service.quiet import quiet_hours_for, tz_for, window_key
from bot.service.runtime import Services
from bot.storage.alerts import AlertRepo
from bot.storage.conversations import ConversationRepo
from bot.storage.db import is_lock_error
from bot.storage.models import DueEvent, Mentee
from bot.storage.people import MenteeRepo
from bot.storage.schedule import ClaimedDue, DueEventRepo, Settled

log = logging.getLogger("checkins.ticker")


def tick(svc: Services, limit: int | None = None) -> int:
    """Handle one batch of due events; returns how many rows were claimed. A locked database
    (SQLite under load) runs the whole batch again, a bounded number of times."""
    claimed = svc.retrying(lambda: _tick(svc, limit or svc.config.checkins.claim_batch), "tick")
    if claimed:
        svc.poke_outbox()
    return claimed


def _tick(svc: Services, limit: int) -> int:
    with svc.sessions() as session, session.begin():
        now = svc.clock.now()
        repo = DueEventRepo(session)
        claimed = repo.claim_batch(now, limit)
        due_checkins = [c for c in claimed if c.kind in CHECKIN_KINDS]
        one_by_one = [c.id for c in claimed if c.kind not in CHECKIN_KINDS]
        if due_checkins:
            one_by_one += _hand_over(session, svc, due_checkins, now)
        for row in repo.load(one_by_one, svc.worker_id, now):
            try:
                with session.begin_nested():
                    _handle(session, svc, row, now)
            except Exception:
                log.exception("due event %s (%s) failed; it will be retried", row.id, row.kind)
                row.status = "pending"
                row.due_at = now + timedelta(minutes=1)
    return len(claimed)


def tick_until_idle(svc: Services, max_batches: int = 1000) -> int:
    """Tick until nothing is due (tests, the demo and catch-up after downtime)."""
    total = 0
    for _ in range(max_batches):
        claimed = tick(svc)
        total += claimed
        if not claimed:
            break
    return total


# ---- due check-ins, as a batch --------------------------------------------------------------------
def _hand_over(session: Session, svc: Services, rows: Sequence[ClaimedDue], now: datetime) -> list[int]:
    """Hand over claimed check-in rows as one batch; returns the ids left to handle one by one.

    If the batch fails as a whole, its savepoint is rolled back and every row goes one by one, so
    a bad row costs speed, never a check-in.
    """
    try:
        with session.begin_nested():
            return _hand_over_batch(session, svc, rows, now)
    except Exception as exc:
        if is_lock_error(exc):
            raise  # the whole tick runs again
        log.exception("handing over %d due check-ins at once failed; handling them one by one", len(rows))
        return [r.id for r in rows]


def _hand_over_batch(session: Session, svc: Services, rows: Sequence[ClaimedDue],
                     now: datetime) -> list[int]:
    mentees = MenteeRepo(session).lock_many({r.mentee_id for r in rows if r.mentee_id is not None})
    open_now = ConversationRepo(session).open_for_many(list(mentees), now)
    # An open check-in whose expiry has fallen due is expired first (the one-by-one path does
    # that): every due row of that mentee goes that way, in order.
    careful = {mentee_id for mentee_id, conv in open_now.items() if conv.expiry_due}
    in_progress = set(open_now)
    window = timedelta(hours=svc.config.checkins.late_window_hours)
    quiet_of: dict[tuple[Any, ...], QuietHours | None] = {}
    verdicts: dict[tuple[datetime, str, QuietHours | None, bool], Verdict] = {}
    settled: list[Settled] = []
    starts: list[tuple[ClaimedDue, DueStart]] = []
    left: list[int] = []
    for row in rows:  # oldest first: a mentee's earlier row starts, a later one finds it open
        if row.mentee_id in careful:
            left.append(row.id)
            continue
        mentee = mentees.get(row.mentee_id) if row.mentee_id is not None else None
        reason = cancel_reason(row.kind, row.plan_version, mentee.status if mentee else None,
                               mentee.plan_version if mentee else 0)
        if reason is not None or mentee is None:
            settled.append(Settled(row.id, "cancelled", note=reason))
            continue
        key = window_key(mentee)
        if key not in quiet_of:
            quiet_of[key] = quiet_hours_for(svc.config, mentee)
        # Pure, so one answer serves every row due at the same instant in the same window.
        case = (row.due_at, tz_for(mentee), quiet_of[key], mentee.id in in_progress)
        if case not in verdicts:
            verdicts[case] = dispatch_verdict(row.due_at, now, window, case[1], case[2], in_progress=case[3])
        verdict = verdicts[case]
        if verdict.status == "start":
            in_progress.add(mentee.id)
            starts.append((row, DueStart(mentee, row.kind, row.due_at, row.flow)))
        else:
            settled.append(Settled(row.id, verdict.status, due_at=verdict.due_at, note=verdict.note))
    not_begun = {id(s) for s in checkins.start_many(session, svc, [s for _, s in starts], now)}
    for row, start in starts:
        if id(start) in not_begun:
            left.append(row.id)
        else:
            settled.append(Settled(row.id, "done"))
    DueEventRepo(session).settle_many(settled, svc.worker_id, now)
    return left


# ---- one row at a time ----------------------------------------------------------------------------
def _handle(session: Session, svc: Services, row: DueEvent, now: datetime) -> None:
    row.status = "done"
    if row.kind in CHECKIN_KINDS:
        _checkin_due(session, svc, row, now)
    elif row.kind == "reminder" and row.conversation_id is not None:
        _reminder_due(session, svc, row, now)
    elif row.kind == "expiry" and row.conversation_id is not None:
        checkins.expire(session, svc, row.conversation_id, now)
    elif row.kind == "ladder" and row.alert_id is not None:
        alert = AlertRepo(session).get(row.alert_id, lock=True)
        if alert is not None and alert.status == "open":
            alerting.run_ladder(session, svc, alert, now)
    else:
        row.status = "cancelled"
        row.note = f"unknown kind {row.kind}"


def _checkin_due(session: Session, svc: Services, row: DueEvent, now: datetime) -> None:
    mentee: Mentee | None = MenteeRepo(session).get(row.mentee_id, lock=True) if row.mentee_id else None
    reason = cancel_reason(row.kind, row.plan_version, mentee.status if mentee else None,
                           mentee.plan_version if mentee else 0)
    if reason is not None or mentee is None:
        row.status = "cancelled"
        row.note = reason
        return
    open_now = ConversationRepo(session).open_for(mentee.id)
    if open_now is not None:
        # The open check-in's expiry may fall due at this very instant (daily plans): let it
        # expire first, so today's check-in is not skipped as "one in progress".
        timer, busy = DueEventRepo(session).take_due_timer(open_now.id, "expiry", now, svc.worker_id)
        if busy:  # another worker is expiring it right now: try again on a later tick
            row.status = "pending"
            row.due_at = now + timedelta(seconds=max(svc.config.service.tick_seconds, 1))
            return
        if timer is not None:
            checkins.expire(session, svc, open_now.id, now)
            open_now = None
    window = timedelta(hours=svc.config.checkins.late_window_hours)
    verdict = dispatch_verdict(row.due_at, now, window, tz_for(mentee), quiet_hours_for(svc.config, mentee),
                               in_progress=open_now is not None)
    if verdict.status == "start":
        if checkins.start(session, svc, mentee, now, trigger=row.kind, due_at=row.due_at,
                          flow_name=row.flow) is None:
            row.status = "skipped"
            row.note = IN_PROGRESS
        return
    row.status = verdict.status
    if verdict.due_at is not None:
        row.due_at = verdict.due_at
    if verdict.note is not None:
        row.note = verdict.note


def _reminder_due(session: Session, svc: Services, row: DueEvent, now: datetime) -> None:
    """Send the reminder, unless quiet hours hold it: then the row waits, not the message, so an
    answer given meanwhile cancels it instead of finding a stale reminder queued."""
    mentee = MenteeRepo(session).get(row.mentee_id) if row.mentee_id else None
    quiet = quiet_hours_for(svc.config, mentee) if mentee is not None else None
    if mentee is not None and quiet is not None and quiet.is_quiet(now, tz_for(mentee)):
        row.status = "pending"
        row.due_at = quiet.next_open(now, tz_for(mentee))
        return
    checkins.remind(session, svc, row.conversation_id, now)  # type: ignore[arg-type]


PLAN_BATCH = 500


def plan_all(svc: Services, batch: int = PLAN_BATCH) -> int:
    """Top up the due check-ins of every mentee who needs it (daily job and start-up), a batch
    of mentees per short transaction; returns how many due rows were created."""
    created, after = 0, 0
    while True:
        n, last = plan_batch(svc, after, batch)
        created += n
        if last is None:
            return created
        after = last


def plan_batch(svc: Services, after_id: int, limit: int = PLAN_BATCH) -> tuple[int, int | None]:
    """Plan the next `limit` mentees (by id, after `after_id`) whose plan changed or whose
    planned horizon runs out within half a horizon, in one transaction.

    Returns (due rows created, the last mentee id looked at, or None when none was left). Only
    those mentees are read, so a restart with every plan in place costs one indexed query.
    """
    with svc.sessions() as session, session.begin():
        now = svc.clock.now()
        mentees = MenteeRepo(session).needing_plans(after_id, now + checkins.PLAN_HORIZON / 2, limit)
        if not mentees:
            return 0, None
        rows = [row for m in mentees for row in checkins.planned_rows(svc, m, now)]
        created = DueEventRepo(session).schedule_many(rows, now, count=True)
        for mentee in mentees:
            mentee.planned_until = now + checkins.PLAN_HORIZON
        return created, mentees[-1].id
