"""A scaled deployment: `serve --web-only` processes store and answer, `worker` processes act.

The web process runs no loops, so a stored message waits for a worker; once a worker runs, the
crisis text is handled and both staff alerts reach Twilio. Real HTTP, the real twilio client,
one SQLite file shared by both roles (as PostgreSQL would be by several processes).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from pathlib import Path

from sqlalchemy import select

from bot.config import Config
from bot.service import admin
from bot.service.runtime import build_services
from bot.service.server import build_app, build_channels, run_worker
from bot.storage.models import Message
from tests.fakes.server import ThreadedServer
from tests.fakes.twilio_server import FakeTwilio, inbound_sms_form, post_twilio_webhook
from tests.waiting import PATIENCE, wait_until

PUBLIC = "https://checkins.example.org"
MENTEE, MENTOR, SUPERVISOR = "+447700900123", "+447700900001", "+447700900002"


def test_web_only_stores_and_a_separate_worker_handles_and_alerts(tmp_path: Path) -> None:
    with FakeTwilio() as twilio:
        cfg = Config().with_database(f"sqlite:///{tmp_path / 'split.db'}")
        cfg = dataclasses.replace(
            cfg,
            service=dataclasses.replace(cfg.service, public_base_url=PUBLIC, quiet_hours=""),
            twilio=dataclasses.replace(cfg.twilio, enabled=True, account_sid=twilio.account_sid,
                                       auth_token=twilio.auth_token, from_number=twilio.from_number,
                                       api_base_url=twilio.url))
        web = build_services(cfg)
        with web.sessions() as s, s.begin():
            now = web.clock.now()
            admin.add_staff(s, now, name="Priya Shah", role="supervisor", phone=SUPERVISOR, channels="sms")
            admin.add_staff(s, now, name="Dan Carter", role="mentor", phone=MENTOR, channels="sms",
                            supervisor="Priya Shah")
            admin.add_mentee(s, web, now, first_name="Sam", last_name="Taylor", phone=MENTEE,
                             mentor="Dan Carter")
        web.channels = build_channels(cfg, web.clock)
        app, runner = build_app(web, run_loops=False)
        with ThreadedServer(app) as server:
            form = inbound_sms_form(MENTEE, "I'm going to kill myself tonight")
            response = post_twilio_webhook(server.url + "/twilio/sms", form, twilio.auth_token,
                                           public_url=PUBLIC + "/twilio/sms")
            assert response.status_code == 200
            with web.sessions() as s:
                [stored] = s.scalars(select(Message).where(Message.direction == "in")).all()
            assert stored.processed_at is None  # the web role only stores
            # And sends nothing: its lifespan has run (the server is up) and started no loop and
            # no scheduler, so nothing in this process can send (no fixed sleep to 'see' it not).
            assert runner.tasks == [] and runner.scheduler is None
            with web.sessions() as s:
                assert s.scalars(select(Message).where(Message.direction == "out")).all() == []
            assert twilio.messages == []

            worker = build_services(cfg, create_schema=False)
            worker.channels = build_channels(cfg, worker.clock)
            loop = asyncio.new_event_loop()
            stop = asyncio.Event()
            thread = threading.Thread(target=loop.run_until_complete, args=(run_worker(worker, stop),))
            thread.start()
            try:
                wait_until(lambda: {m["To"] for m in twilio.messages} >= {MENTEE, MENTOR, SUPERVISOR},
                           "the worker's replies and alerts")
            finally:
                loop.call_soon_threadsafe(stop.set)
                thread.join(timeout=PATIENCE)
            assert not thread.is_alive()
        alerts_to = [m for m in twilio.messages if m["To"] in (MENTOR, SUPERVISOR)]
        assert all("URGENT" in m["Body"] for m in alerts_to)
