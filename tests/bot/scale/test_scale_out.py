"""Scale-out for real: several `checkins serve` processes on one PostgreSQL database.

Each mentee's texts alternate between the processes, each sent once the one before it is
stored, so two processes hold one mentee's messages at the same time. A deferred trigger logs
each turn as it commits (while the turn still holds the mentee's lock), so the log's order is
the order turns really ran. Proved: every message handled once, each mentee's in the order
sent, every outbox row at the fake Twilio exactly once, and SIGTERM ends both cleanly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import func, select, text

from bot.config import Config
from bot.service import admin
from bot.service.runtime import build_services
from bot.storage.models import Message
from tests.fakes.twilio_server import FakeTwilio, inbound_sms_form, post_twilio_webhook
from tests.waiting import PATIENCE, wait_until

PUBLIC = "https://checkins.example.org"
MENTOR, SUPERVISOR = "+447700900001", "+447700900002"
MENTEES = [f"+4477009002{i:02d}" for i in range(8)]
PER_MENTEE = 8
PROCESSES = 2
CHECKINS = str(Path(sys.executable).parent / "checkins")  # the installed command

TURN_LOG = """
CREATE TABLE turn_log (seq bigserial PRIMARY KEY, message_id bigint NOT NULL, address text NOT NULL);
CREATE FUNCTION log_turn() RETURNS trigger AS $$
BEGIN INSERT INTO turn_log (message_id, address) VALUES (NEW.id, NEW.address); RETURN NULL; END
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER turn_committed AFTER UPDATE ON messages DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (NEW.direction = 'in' AND OLD.processed_at IS NULL AND NEW.processed_at IS NOT NULL)
EXECUTE FUNCTION log_turn();
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config_file(tmp_path: Path, pg_url: str, twilio: FakeTwilio) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[service]
database_url = "{pg_url}"
public_base_url = "{PUBLIC}"
quiet_hours = ""
tick_seconds = 1
[twilio]
enabled = true
account_sid = "{twilio.account_sid}"
from_number = "{twilio.from_number}"
api_base_url = "{twilio.url}"
messages_per_second = 0
[digest]
enabled = false
""")
    return path


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    def ready() -> bool:
        assert proc.poll() is None, "a serve process exited during start-up"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", trust_env=False,
                             timeout=PATIENCE).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, "a serve process to be ready", interval=0.1)


def _settled(svc, total: int) -> bool:  # type: ignore[no-untyped-def]
    """Every message handled and nothing left to send."""
    with svc.sessions() as s:
        handled = s.scalar(select(func.count()).select_from(Message).where(
            Message.direction == "in", Message.processed_at.is_not(None)))
        waiting = s.scalar(select(func.count()).select_from(Message).where(
            Message.direction == "out", Message.status.in_(("pending", "sending"))))
    return handled == total and waiting == 0


def test_two_serve_processes_handle_each_message_once_and_each_mentee_in_order(
        tmp_path: Path, pg_url: str) -> None:
    with FakeTwilio() as twilio:
        cfg = Config().with_database(pg_url)
        setup = build_services(cfg)
        with setup.sessions() as s, s.begin():
            now = setup.clock.now()
            admin.add_staff(s, now, name="Priya Shah", role="supervisor", phone=SUPERVISOR, channels="sms")
            admin.add_staff(s, now, name="Dan Carter", role="mentor", phone=MENTOR, channels="sms",
                            supervisor="Priya Shah")
            for i, phone in enumerate(MENTEES):
                admin.add_mentee(s, setup, now, first_name=f"Sam{i}", phone=phone, mentor="Dan Carter")
        with setup.engine.begin() as conn:
            conn.exec_driver_sql(TURN_LOG)

        config = _config_file(tmp_path, pg_url, twilio)
        ports = [_free_port() for _ in range(PROCESSES)]
        procs = []
        for port in ports:
            env = {**os.environ, "CHECKINS_TWILIO_AUTH_TOKEN": twilio.auth_token,
                   "CHECKINS_SERVICE_PORT": str(port)}
            procs.append(subprocess.Popen(
                [CHECKINS, "--config", str(config), "serve"], env=env,
                stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"serve-{port}.log", "wb")))
        try:
            for port, proc in zip(ports, procs, strict=True):
                _wait_ready(port, proc)

            def texts_of(phone: str) -> None:
                for j in range(PER_MENTEE):
                    body = f"ok, just saying number {j}"
                    form = inbound_sms_form(phone, body, message_sid="SM" + uuid.uuid4().hex)
                    port = ports[j % PROCESSES]
                    response = post_twilio_webhook(f"http://127.0.0.1:{port}/twilio/sms", form,
                                                   twilio.auth_token, public_url=PUBLIC + "/twilio/sms")
                    assert response.status_code == 200

            with ThreadPoolExecutor(len(MENTEES)) as pool:
                list(pool.map(texts_of, MENTEES))

            total = len(MENTEES) * PER_MENTEE
            wait_until(lambda: _settled(setup, total), "the processes to handle every message",
                       interval=0.1)
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                # uvicorn stops gracefully, then re-raises the signal (as systemd expects)
                assert proc.wait(timeout=PATIENCE) in (0, -signal.SIGTERM)
            for port in ports:
                log = (tmp_path / f"serve-{port}.log").read_text()
                assert "Application shutdown complete" in log, log[-2000:]
                assert "did not finish within" not in log and "Traceback" not in log, log[-2000:]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()

        with setup.engine.connect() as conn:
            log = conn.execute(text("SELECT message_id, address FROM turn_log ORDER BY seq")).all()
        with setup.sessions() as s:
            inbound = s.execute(select(Message.id, Message.address).where(Message.direction == "in")
                                .order_by(Message.id)).all()
            unsent = s.scalar(select(func.count()).select_from(Message).where(
                Message.direction == "out", Message.status.in_(("pending", "sending"))))
            sent = s.scalars(select(Message.provider_id).where(
                Message.direction == "out", Message.channel == "sms")).all()
        assert len(inbound) == len(MENTEES) * PER_MENTEE
        assert Counter(m for m, _ in log) == Counter(m for m, _ in inbound)  # each handled once
        by_mentee: dict[str, list[int]] = defaultdict(list)
        sender = dict(inbound)  # the log holds the address as stored (encrypted): read it back here
        for message_id, _ in log:
            by_mentee[sender[message_id]].append(message_id)
        for phone in MENTEES:  # in the order each mentee sent them
            assert by_mentee[phone] == sorted(by_mentee[phone]) and len(by_mentee[phone]) == PER_MENTEE
        assert unsent == 0
        # Every reply and alert reached the provider exactly once: one create per outbox row.
        sids = [m["Sid"] for m in twilio.messages]
        assert len(sids) == len(set(sids)) == len(sent) > len(MENTEES)
        assert set(sids) == set(sent)
        setup.engine.dispose()
