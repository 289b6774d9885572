"""The ticker: claims due-event rows and hands each to the check-in or alert code.

APScheduler only calls `tick` every few seconds; the rows are the schedule. Each event is handled
in its own savepoint so one bad row never holds up the batch, and a crash before commit leaves
every claimed row pending for the next tick.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.schedule.misfire import dispatch_time
from bot.service import alerting, checkins
from bot.service.quiet import quiet_hours_for, tz_for
from bot.service.runtime import Services
from bot.storage.alerts import AlertRepo
from bot.storage.conversations import ConversationRepo
from bot.storage.models import DueEvent
from bot.storage.people import MenteeRepo
from bot.storage.schedule import DueEventRepo

log = logging.getLogger("checkins.ticker")


def tick(svc: Services, limit: int | None = None) -> int:
    """Handle one batch of due events; returns how many rows were claimed."""
    limit = limit or svc.config.checkins.claim_batch
    with svc.sessions() as session, session.begin():
        now = svc.clock.now()
        rows = DueEventRepo(session).claim_due(now, svc.worker_id, limit)
        for row in rows:
            try:
                with session.begin_nested():
                    _handle(session, svc, row, now)
            except Exception:
                log.exception("due event %s (%s) failed; it will be retried", row.id, row.kind)
                row.status = "pending"
                row.due_at = now + timedelta(minutes=1)
    if rows:
        svc.poke_outbox()
    return len(rows)


def tick_until_idle(svc: Services, max_batches: int = 1000) -> int:
    """Tick until nothing is due (tests, the demo and catch-up after downtime)."""
    total = 0
    for _ in range(max_batches):
        claimed = tick(svc)
        total += claimed
        if not claimed:
            break
    return total


def _handle(session: Session, svc: Services, row: DueEvent, now: datetime) -> None:
    row.status = "done"
    if row.kind in ("checkin", "oneoff"):
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
    mentee = MenteeRepo(session).get(row.mentee_id, lock=True) if row.mentee_id else None
    if mentee is None or mentee.status != "active":
        row.status = "cancelled"
        row.note = "mentee not active"
        return
    if row.kind == "checkin" and row.plan_version != mentee.plan_version:
        row.status = "cancelled"
        row.note = "plan changed"
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
    window = timedelta(hours=svc.config.checkins.late_window_hours)
    when = dispatch_time(row.due_at, now, window, tz_for(mentee), quiet_hours_for(svc.config, mentee))
    if when is None:
        row.status = "missed"  # the service was down too long: never a burst of stale check-ins
        row.note = "not sent: service was unavailable when it was due"
    elif when > now:
        row.status = "pending"  # quiet hours: wait for the window to open
        row.due_at = when
    else:
        started = checkins.start(session, svc, mentee, now, trigger=row.kind, due_at=row.due_at)
        if started is None:
            row.status = "skipped"
            row.note = "a check-in was already in progress"


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


def plan_all(svc: Services) -> int:
    """Top up every active mentee's due check-ins (daily job and start-up)."""
    created = 0
    with svc.sessions() as session, session.begin():
        now = svc.clock.now()
        for mentee in MenteeRepo(session).with_plans():
            created += checkins.plan_mentee(session, svc, mentee, now)
    return created
