"""On SQLite, writers wait their turn: a busy timeout, then the whole unit of work runs again
(bounded, the pause injected), and a database that stays locked never kills a loop.

The other writer is a second real connection to the same file holding the write lock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import loops
from bot.channels.base import InboundMessage
from bot.clock import ManualClock
from bot.config import Config
from bot.service.runtime import LOCK_RETRY_PAUSES, Services, build_services
from bot.service.server import Runner
from bot.storage.models import Message
from tests.conftest import RecordingPhone


@pytest.fixture
def svc(db_url: str, clock: ManualClock) -> Iterator[Services]:
    """Services on the test's SQLite file whose writers wait 50 ms for the lock."""
    cfg = Config().with_database(db_url)
    cfg = dataclasses.replace(cfg, service=dataclasses.replace(cfg.service, sqlite_busy_timeout_seconds=0.05))
    svc = build_services(cfg, clock, channels={"console": RecordingPhone()})
    yield svc
    svc.engine.dispose()


@pytest.fixture
def other_writer(db_url: str) -> Iterator[sqlite3.Connection]:
    """A second connection to the same file, holding the write lock until it commits."""
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None, timeout=0.05)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO service_state (key, value) VALUES ('held-by', 'another writer')")
    yield conn
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.close()


def inbound(svc: Services, text: str = "hello") -> None:
    loops.receive(svc, InboundMessage(channel="console", provider_id=f"p-{text}", address="+447700900555",
                                      text=text))


def handled(svc: Services) -> int:
    with svc.sessions() as s:
        return len(s.scalars(select(Message).where(Message.direction == "in",
                                                   Message.processed_at.is_not(None))).all())


def test_a_unit_of_work_that_finds_the_database_locked_runs_again_once_the_other_writer_is_done(
        svc: Services, db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    inbound(svc)
    blocker = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    pauses: list[float] = []

    def pause(seconds: float) -> None:  # the injected wait: the other writer finishes meanwhile
        pauses.append(seconds)
        if len(pauses) == 2:
            blocker.execute("COMMIT")

    svc.sleep = pause
    with caplog.at_level(logging.WARNING, logger="checkins"):
        assert loops.handle_inbound(svc) == 1
    blocker.close()
    assert pauses == list(LOCK_RETRY_PAUSES[:2])
    busy = [r for r in caplog.records if "busy" in r.getMessage()]
    assert [r.getMessage() for r in busy] == [
        "handling inbound messages: the database is busy; trying again in 0.05s",
        "handling inbound messages: the database is busy; trying again in 0.25s"]
    assert handled(svc) == 1


def test_a_tick_on_a_locked_database_gives_up_after_a_bounded_number_of_tries(
        svc: Services, other_writer: sqlite3.Connection) -> None:
    from sqlalchemy.exc import OperationalError

    pauses: list[float] = []
    svc.sleep = pauses.append
    with pytest.raises(OperationalError, match="database is locked"):
        loops.tick(svc)
    assert pauses == list(LOCK_RETRY_PAUSES)


def test_a_database_that_stays_locked_costs_a_loop_one_line_per_pass_and_never_stops_it(
        svc: Services, other_writer: sqlite3.Connection, caplog: pytest.LogCaptureFixture) -> None:
    svc.sleep = lambda seconds: None
    runner = Runner(svc, poll_interval=0.01)

    async def scenario() -> None:
        event = asyncio.Event()
        task = asyncio.create_task(runner._loop("inbound", event, runner._inbound_pass))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while not any("stayed busy" in r.getMessage() for r in caplog.records):
            assert loop.time() < deadline and not task.done()
            await asyncio.sleep(0.01)
        other_writer.execute("COMMIT")  # the other writer is done
        await asyncio.to_thread(inbound, svc)
        while await asyncio.to_thread(handled, svc) == 0:
            assert loop.time() < deadline and not task.done()
            await asyncio.sleep(0.01)
        runner.stopping.set()
        event.set()
        await task

    with caplog.at_level(logging.WARNING, logger="checkins"):
        asyncio.run(scenario())
    failures = [(r.getMessage(), r.exc_info) for r in caplog.records
                if r.name == "checkins.server" and r.getMessage().startswith("inbound pass")]
    assert failures and set(failures) == {
        ("inbound pass: the database stayed busy; trying again on the next pass", None)}, failures
    assert handled(svc) == 1


def test_the_busy_timeout_comes_from_the_config(svc: Services, tmp_path: Path) -> None:
    with svc.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 50
