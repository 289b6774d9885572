"""Once-only jobs (planner, retention, digest): one run per slot across processes, and a dead
holder's job is taken over by the next process that looks."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import text

from bot.clock import ManualClock
from bot.config import Config
from bot.service import once
from bot.service.once import OnceJob, last_slot
from bot.service.runtime import Services, build_services
from tests.waiting import wait_until

MON_0900 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # GMT: London time is UTC in March before the 29th


def test_last_slot_is_the_latest_scheduled_time_at_or_before_now() -> None:
    london = "Europe/London"
    assert last_slot(MON_0900, london, time(4, 7)) == datetime(2026, 3, 9, 4, 7, tzinfo=UTC)
    assert last_slot(MON_0900, london, time(10, 0)) == datetime(2026, 3, 8, 10, 0, tzinfo=UTC)
    assert last_slot(MON_0900, london, time(8, 0), "mon") == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    assert last_slot(MON_0900, london, time(9, 30), "mon") == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    summer = datetime(2026, 6, 1, 3, 30, tzinfo=UTC)  # 04:30 BST
    assert last_slot(summer, london, time(4, 7)) == datetime(2026, 6, 1, 3, 7, tzinfo=UTC)


def _counting_job(runs: list[str]) -> OnceJob:
    return OnceJob("count", time(4, 7), None, timedelta(hours=6), lambda svc: runs.append(svc.worker_id))


def _services(url: str, clock: ManualClock, worker: str) -> Services:
    svc = build_services(Config().with_database(url), clock)
    svc.worker_id = worker
    return svc


def _one_run_per_slot(url: str) -> None:
    clock = ManualClock(datetime(2026, 3, 9, 3, 0, tzinfo=UTC))
    a, b = _services(url, clock, "a"), _services(url, clock, "b")
    runs: list[str] = []
    job = _counting_job(runs)
    assert once.run_due(a, [job]) == []  # first sight: its current slot counts as done
    clock.advance(hours=1, minutes=10)  # 04:10: the 04:07 slot is due
    assert once.run_due(a, [job]) == ["count"]
    assert once.run_due(b, [job]) == [] and once.run_due(a, [job]) == []
    clock.advance(days=1)
    assert once.run_due(b, [job]) == ["count"]
    clock.advance(days=1, hours=7)  # down past the grace: that slot is skipped
    assert once.run_due(a, [job]) == []
    assert runs == ["a", "b"]
    for svc in (a, b):
        svc.engine.dispose()


def test_one_run_per_slot_on_sqlite(db_url: str) -> None:
    _one_run_per_slot(db_url)


def test_one_run_per_slot_on_postgresql(pg_url: str) -> None:
    _one_run_per_slot(pg_url)


HOLDER = """
import sys, time
import psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute("SELECT pg_advisory_lock(hashtext(current_schema() || 'job:count'))")
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_dead_holders_job_is_taken_over_on_postgresql(pg_url: str) -> None:
    clock = ManualClock(datetime(2026, 3, 9, 3, 0, tzinfo=UTC))
    svc = _services(pg_url, clock, "survivor")
    runs: list[str] = []
    job = _counting_job(runs)
    once.run_due(svc, [job])
    clock.advance(hours=1, minutes=10)
    # Another process takes the job's lock and dies in the middle of the job.
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://", 1)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, plain], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert once.run_due(svc, [job]) == []  # held elsewhere: not run twice
        holder.kill()
        holder.wait()
        # Its connection closes with it and the server lets the lock go; the next look takes it.
        wait_until(lambda: once.run_due(svc, [job]) == ["count"], "the dead holder's lock to be let go",
                   interval=0.05)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert runs == ["survivor"]
    with svc.engine.connect() as conn:  # and the lock was let go after the run
        assert conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                 "AND pid = pg_backend_pid()")).scalar() == 0
    svc.engine.dispose()
