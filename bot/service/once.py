"""Jobs that must run once however many processes run: the daily planner, retention and the
weekly digest.

Every process looks every few seconds (`run_due`). A job's slot (its latest scheduled time) is
run by whichever process takes the job's PostgreSQL advisory lock first; it records the slot as
done before letting go, so the others, taking the lock after it, see there is nothing to do. A
lock dies with its holder's connection: if the holder dies mid-job, the next process to look
(within seconds) takes the lock, finds the slot not done and runs it. On SQLite (one box) the
slot is recorded as started in the same write transaction that checks it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.service.runtime import Services
from bot.storage.models import ServiceState

log = logging.getLogger("checkins.once")

POLL_SECONDS = 5.0  # how often each process looks; a dead holder's job is taken over this fast
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class OnceJob:
    name: str
    at: time  # local time of day
    weekday: str | None  # None: every day
    grace: timedelta  # a slot missed by longer than this (the service was down) is skipped
    run: Callable[[Services], Any]


def last_slot(now: datetime, tz: str, at: time, weekday: str | None = None) -> datetime:
    """The latest scheduled time at or before `now` of a daily (or weekly) job (pure)."""
    local = now.astimezone(ZoneInfo(tz))
    slot = datetime.combine(local.date(), at, tzinfo=ZoneInfo(tz))
    if slot > local:
        slot -= timedelta(days=1)
    if weekday is not None:
        slot -= timedelta(days=(slot.weekday() - WEEKDAYS.index(weekday)) % 7)
    return slot.astimezone(now.tzinfo)


def service_jobs(svc: Services) -> list[OnceJob]:
    """The once-only jobs the config asks for."""
    from bot.app import loops  # late: bot.app.loops imports the service modules

    cfg = svc.config
    jobs = [OnceJob("plan", time(3, 17), None, timedelta(hours=24), loops.plan),
            OnceJob("retention", time(4, 7), None, timedelta(hours=6), loops.retention)]
    if cfg.digest.enabled:
        hh, mm = (int(x) for x in cfg.digest.time.split(":"))
        jobs.append(OnceJob("digest", time(hh, mm), cfg.digest.day, timedelta(hours=6),
                            loops.weekly_digest))
    return jobs


def run_due(svc: Services, jobs: list[OnceJob]) -> list[str]:
    """Run each job whose latest slot is not done yet, if this process gets it; returns the
    names of those run here."""
    ran = []
    for job in jobs:
        now = svc.clock.now()
        slot = last_slot(now, svc.config.service.timezone, job.at, job.weekday)
        if _done(svc, job, slot) or now - slot > job.grace:
            continue
        if svc.engine.dialect.name == "postgresql":
            if _run_locked(svc, job, slot):
                ran.append(job.name)
        elif _claim_sqlite(svc, job, slot):
            _run(svc, job)
            ran.append(job.name)
    return ran


def _key(job: OnceJob) -> str:
    return f"job:{job.name}"


def _done(svc: Services, job: OnceJob, slot: datetime, session: Session | None = None) -> bool:
    """Whether this slot (or a later one) has run. A job never seen before counts its current
    slot as done, as a scheduler starting now would: it first runs at its next time."""
    def look(s: Session) -> bool:
        row = s.get(ServiceState, _key(job), populate_existing=True)
        if row is None:
            s.add(ServiceState(key=_key(job), value=slot.isoformat()))
            return True
        return bool(row.value) and datetime.fromisoformat(row.value) >= slot

    if session is not None:
        return look(session)
    try:
        with svc.sessions() as s, s.begin():
            return look(s)
    except IntegrityError:  # another process recorded it first
        return True


def _mark(session: Session, job: OnceJob, slot: datetime) -> None:
    row = session.get(ServiceState, _key(job))
    if row is None:
        session.add(ServiceState(key=_key(job), value=slot.isoformat()))
    else:
        row.value = slot.isoformat()


def _run(svc: Services, job: OnceJob) -> None:
    log.info("running the %s job", job.name)
    try:
        job.run(svc)
    except Exception:
        log.exception("the %s job failed", job.name)


def _run_locked(svc: Services, job: OnceJob, slot: datetime) -> bool:
    """Under the job's advisory lock (one per job and schema): check, run, record, let go."""
    with svc.engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(hashtext(current_schema() || :k))"),
                           {"k": _key(job)}).scalar()
        conn.commit()
        if not got:
            return False  # another process is running it; if it dies, we look again soon
        try:
            if _done(svc, job, slot):
                return False  # it finished just before we took the lock
            _run(svc, job)
            with svc.sessions() as s, s.begin():
                _mark(s, job, slot)
            return True
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(hashtext(current_schema() || :k))"),
                         {"k": _key(job)})
            conn.commit()


def _claim_sqlite(svc: Services, job: OnceJob, slot: datetime) -> bool:
    """SQLite: check and record the slot in one write transaction (BEGIN IMMEDIATE)."""
    with svc.sessions() as s, s.begin():
        if _done(svc, job, slot, session=s):
            return False
        _mark(s, job, slot)
        return True
