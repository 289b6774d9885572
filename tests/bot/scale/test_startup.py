"""Start-up never blocks intake: the port opens and takes webhooks while planning runs.

Planning is held after its first batch by an event (not a timing), and a signed crisis text
is accepted and stored meanwhile; released, planning finishes in batches, and a second pass
finds nothing to do (only mentees whose plan changed or whose horizon ran out are read).
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from bot.clock import ManualClock
from bot.config import Config
from bot.service import admin, ticker
from bot.service.runtime import build_services
from bot.service.server import build_app
from bot.storage.models import DueEvent, Mentee, Message
from tests.conftest import TEST_START
from tests.fakes.server import ThreadedServer
from tests.fakes.twilio_server import inbound_sms_form, post_twilio_webhook

PUBLIC = "https://checkins.example.org"
TOKEN = "startup-test-token"
MENTEES = 1_200
CRISIS = "Got a rope and im doing it tonight, ive had enough"


def _config(tmp_path: Path) -> Config:
    cfg = Config().with_database(f"sqlite:///{tmp_path / 'startup.db'}")
    return dataclasses.replace(
        cfg, service=dataclasses.replace(cfg.service, public_base_url=PUBLIC, quiet_hours=""),
        twilio=dataclasses.replace(cfg.twilio, enabled=True, account_sid="AC" + "0" * 32,
                                   auth_token=TOKEN, from_number="+447700900999"))


def _seed(svc, count: int) -> None:  # type: ignore[no-untyped-def]
    with svc.sessions() as s, s.begin():
        mentor = admin.add_staff(s, TEST_START, name="Dan Carter", role="mentor",
                                 phone="+447700900001", channels="sms")
        s.execute(insert(Mentee), [
            {"first_name": f"M{i}", "last_name": "", "phone": f"+4477{i:08d}",
             "preferred_channel": "sms", "mentor_id": mentor.id, "timezone": "Europe/London",
             "status": "active", "sms_reachable": True, "telegram_reachable": True,
             "plan": "mon,thu 10:00", "plan_version": 0, "missed_streak": 0,
             "created_at": TEST_START} for i in range(count)])


def test_the_port_takes_a_webhook_while_planning_is_still_running(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ManualClock(TEST_START)
    svc = build_services(_config(tmp_path), clock)
    _seed(svc, MENTEES)
    first_batch_done, release = threading.Event(), threading.Event()
    real_batch = ticker.plan_batch

    def held_batch(svc_, after_id, limit=ticker.PLAN_BATCH):  # type: ignore[no-untyped-def]
        result = real_batch(svc_, after_id, limit)
        if after_id == 0:
            first_batch_done.set()
            assert release.wait(30), "the test never released planning"
        return result

    monkeypatch.setattr(ticker, "plan_batch", held_batch)
    app, runner = build_app(svc)
    try:
        with ThreadedServer(app) as server:  # returns once uvicorn has opened the port
            assert first_batch_done.wait(30)
            form = inbound_sms_form("+447700000007", CRISIS)
            response = post_twilio_webhook(server.url + "/twilio/sms", form, TOKEN,
                                           public_url=PUBLIC + "/twilio/sms")
            assert response.status_code == 200
            assert not runner.planned.is_set()  # planning is still held
            with svc.sessions() as s:
                stored = s.scalars(select(Message).where(Message.direction == "in")).all()
                assert [m.body for m in stored] == [CRISIS]
                planned = s.scalar(select(func.count(func.distinct(DueEvent.mentee_id)))
                                   .where(DueEvent.kind == "checkin"))
                assert planned == ticker.PLAN_BATCH  # one short transaction has committed
            release.set()
            done = threading.Event()
            # planned is an asyncio.Event on the server's loop: ask that loop to tell us.
            server_loop = svc.wakeups.loop  # type: ignore[union-attr]
            server_loop.call_soon_threadsafe(  # type: ignore[union-attr]
                lambda: server_loop.create_task(_set_when(runner.planned, done)))  # type: ignore[union-attr]
            assert done.wait(60)
    finally:
        release.set()
    with svc.sessions() as s:
        assert s.scalar(select(func.count(func.distinct(DueEvent.mentee_id)))
                        .where(DueEvent.kind == "checkin")) == MENTEES
        assert s.scalar(select(func.count()).select_from(Mentee)
                        .where(Mentee.planned_until.is_(None))) == 0
    svc.engine.dispose()


async def _set_when(event, done: threading.Event) -> None:  # type: ignore[no-untyped-def]
    await event.wait()
    done.set()


def test_planning_reads_only_mentees_whose_plan_changed_or_horizon_ran_out(tmp_path: Path) -> None:
    clock = ManualClock(TEST_START)
    svc = build_services(_config(tmp_path), clock)
    _seed(svc, 30)
    assert ticker.plan_all(svc, batch=7) > 0
    assert ticker.plan_batch(svc, 0) == (0, None)  # everything planned: nothing read
    with svc.sessions() as s, s.begin():  # a changed plan is planned again at once
        mentee = s.get(Mentee, 5)
        assert mentee is not None
        admin.set_plan(s, svc, mentee, "tue 11:00", clock.now())
    assert ticker.plan_batch(svc, 0) == (0, None)
    with svc.sessions() as s, s.begin():  # a mentee added without planning (a bulk import)
        s.execute(update(Mentee).where(Mentee.id == 9).values(planned_until=None))
    created, last = ticker.plan_batch(svc, 0)
    assert last == 9 and created == 0  # its rows already exist: none twice
    clock.advance(days=7, minutes=1)  # the horizon runs out
    created, last = ticker.plan_batch(svc, 0, limit=100)
    assert last == 30 and created > 0
    assert ticker.plan_batch(svc, 0) == (0, None)
    svc.engine.dispose()
