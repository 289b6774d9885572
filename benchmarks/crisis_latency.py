"""Crisis latency: from an urgent SMS arriving to both staff alerts handed to the provider.

Runs the real service in a child process (as `checkins serve` runs): `build_app` served by
uvicorn on 127.0.0.1 with its real loops (turn worker, outbox sender, ticker), the real
TwilioSmsChannel talking to the fake Twilio API on loopback, and SQLite (default, a temporary
file) or PostgreSQL (--database). For each of N mentees, one urgent crisis SMS is posted to
/twilio/sms, signed as Twilio signs it. The clock starts just before the request is sent and
stops when the fake Twilio API (in this process, so both times are on one clock) has received
the alert for the mentee's mentor AND for their supervisor (both by SMS). Messages go one at a
time, --gap apart (latency, not throughput); --burst sends groups at once, --gap 0 back to back.

    python benchmarks/crisis_latency.py --messages 300
    python benchmarks/crisis_latency.py --database postgresql://postgres@127.0.0.1:5432/test

Goal (escalation issue): p99 under 250 ms.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import re
import shlex
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bot.config import Config, ServiceConfig, TwilioConfig  # noqa: E402
from bot.service.runtime import build_services  # noqa: E402
from bot.service.server import build_app, build_channels  # noqa: E402
from bot.storage.models import Mentee, Staff  # noqa: E402
from tests.fakes.twilio_server import FakeTwilio, inbound_sms_form, twilio_signature  # noqa: E402

CRISIS = "I've saved up all my tablets and I'm taking them tonight"
MENTOR_PHONE = "+447700900101"
SUPERVISOR_PHONE = "+447700900102"
_LABEL = re.compile(r"^URGENT Bench(\d+) T\.:")


class TimedTwilio(FakeTwilio):
    """The fake Twilio API, noting when each alert SMS for a mentee reaches it."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[tuple[int, str], float] = {}
        self.arrived_wall: dict[tuple[int, str], float] = {}
        self.changed = threading.Condition()

    async def _answer_create(self, request: Any, form: dict[str, str]) -> Any:
        at = time.perf_counter()  # received: the request body has been read
        response = await super()._answer_create(request, form)
        match = _LABEL.match(form.get("Body", ""))
        if response.status_code == 201 and match:
            with self.changed:
                key = (int(match.group(1)), form.get("To", ""))
                self.arrived.setdefault(key, at)
                self.arrived_wall.setdefault(key, time.time() - (time.perf_counter() - at))
                self.changed.notify_all()
        return response

    def wait_both(self, index: int, timeout: float) -> float | None:
        """perf_counter time when both staff alerts for mentee `index` had arrived."""
        keys = ((index, MENTOR_PHONE), (index, SUPERVISOR_PHONE))
        deadline = time.perf_counter() + timeout
        with self.changed:
            while not all(k in self.arrived for k in keys):
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self.changed.wait(left)
            return max(self.arrived[k] for k in keys)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def _setup_people(svc: Any, count: int) -> None:
    now = datetime.now(UTC)
    with svc.sessions() as s, s.begin():
        sup = Staff(name="Sam Okafor", role="supervisor", phone=SUPERVISOR_PHONE, channels="sms",
                    created_at=now)
        s.add(sup)
        s.flush()
        mentor = Staff(name="Maya Patel", role="mentor", phone=MENTOR_PHONE, channels="sms",
                       supervisor_id=sup.id, created_at=now)
        s.add(mentor)
        s.flush()
        for i in range(count):
            s.add(Mentee(first_name=f"Bench{i}", last_name="Test", phone=f"+4477009{10000 + i:05d}",
                         preferred_channel="sms", mentor_id=mentor.id, created_at=now))


def _service_process(config: Config, port: int) -> None:
    """The service under test, in its own process (as `checkins serve` runs): uvicorn, the
    webhook app and the service's loops; the measuring process holds the fake provider."""
    logging.basicConfig(level=logging.WARNING)
    svc = build_services(config)
    svc.channels = build_channels(config, svc.clock)
    app, _runner = build_app(svc)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                lifespan="on", timeout_graceful_shutdown=2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, child: Any) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not child.is_alive():
            raise SystemExit("the service process exited during start-up")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit("the service did not start within 60 s")


def _reset_postgres(url: str) -> str:
    """A fresh schema for this run, so repeated runs never fold into old alerts."""
    from sqlalchemy import create_engine

    from bot.storage.db import normalise_url

    url = normalise_url(url)
    schema = f"bench_{int(time.time())}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


def _drop_schema(database: str, db_url: str) -> None:
    """Leave the shared database as it was found."""
    from sqlalchemy import create_engine

    from bot.storage.db import normalise_url

    schema = db_url.rsplit("search_path%3D", 1)[-1]
    engine = create_engine(normalise_url(database))
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def run(messages: int, database: str | None, gap: float, burst: int, timeout: float) -> int:
    logging.basicConfig(level=logging.WARNING)
    tmp = tempfile.TemporaryDirectory()
    if database and not os.environ.get("CHECKINS_SECURITY_KEY_FILE"):
        # PostgreSQL refuses to start without encryption keys: one set for this run, read from
        # the environment by this process and the service's child alike.
        from bot.keyring import Keyring, write_key_file

        key_file = Path(tmp.name) / "bench.keys"
        write_key_file(key_file, Keyring.generate(source=str(key_file)))
        os.environ["CHECKINS_SECURITY_KEY_FILE"] = str(key_file)
    db_url = f"sqlite:///{Path(tmp.name) / 'bench.db'}" if not database else _reset_postgres(database)
    port = _free_port()
    public = f"http://127.0.0.1:{port}"  # Twilio signs the URL it calls: the app must know it
    with TimedTwilio() as fake:
        config = Config(
            service=ServiceConfig(database_url=db_url, public_base_url=public),
            twilio=TwilioConfig(enabled=True, account_sid=fake.account_sid, auth_token=fake.auth_token,
                                from_number=fake.from_number, api_base_url=fake.url,
                                messages_per_second=0.0),
        )
        svc = build_services(config)  # creates the schema; the people are added before start
        _setup_people(svc, messages)
        svc.engine.dispose()
        child = multiprocessing.get_context("spawn").Process(
            target=_service_process, args=(config, port), daemon=True)
        child.start()
        _wait_healthy(public, child)
        latencies: list[float] = []
        answered: list[float] = []
        lost: list[int] = []
        sent_wall: dict[int, float] = {}
        try:
            with httpx.Client(trust_env=False, timeout=10.0) as client:
                url = f"{public}/twilio/sms"
                i = 0
                while i < messages:
                    group = list(range(i, min(messages, i + burst)))
                    starts: dict[int, float] = {}
                    for index in group:
                        form = inbound_sms_form(f"+4477009{10000 + index:05d}", CRISIS)
                        headers = {"X-Twilio-Signature": twilio_signature(fake.auth_token, url, form)}
                        sent_wall[index] = time.time()
                        starts[index] = time.perf_counter()
                        response = client.post(url, data=form, headers=headers)
                        answered.append(time.perf_counter() - starts[index])
                        if response.status_code != 200:
                            raise SystemExit(f"webhook answered {response.status_code}: {response.text}")
                    for index in group:
                        done = fake.wait_both(index, timeout)
                        if done is None:
                            lost.append(index)
                        else:
                            latencies.append(done - starts[index])
                    i += burst
                    if gap:
                        time.sleep(gap)
        finally:
            child.terminate()
            child.join(timeout=15)
        stages = _stages(db_url, sent_wall, fake.arrived_wall)
    tmp.cleanup()
    if database:
        _drop_schema(database, db_url)
    _report(messages, database, burst, gap, latencies, answered, lost)
    for name, values in stages.items():
        if values:
            print(f"  {name}: p50 {_percentile(values, 50):.1f} ms  p99 {_percentile(values, 99):.1f} ms")
    return 0 if not lost and latencies and _percentile(latencies, 99) < 0.250 else 1


def _stages(db_url: str, sent: dict[int, float], arrived: dict[tuple[int, str], float]) -> dict[str, list[float]]:
    """Where the time went, from the service's own timestamps (wall clock, same machine)."""
    from sqlalchemy import select

    from bot.storage.models import Message

    # The service's engine: addresses are encrypted, and only its keyring opens them.
    engine = build_services(Config().with_database(db_url), create_schema=False).engine
    stages: dict[str, list[float]] = {"webhook sent -> row stored": [],
                                      "row stored -> turn started": [],
                                      "turn started -> both alerts at the provider": []}
    with engine.connect() as conn:
        rows = conn.execute(select(Message.address, Message.created_at, Message.processed_at)
                            .where(Message.direction == "in")).all()
    engine.dispose()
    for address, created, processed in rows:
        index = int(address[-5:]) - 10000
        keys = [(index, MENTOR_PHONE), (index, SUPERVISOR_PHONE)]
        if index not in sent or processed is None or not all(k in arrived for k in keys):
            continue
        stored_at = created.replace(tzinfo=UTC).timestamp()
        started_at = processed.replace(tzinfo=UTC).timestamp()
        stages["webhook sent -> row stored"].append((stored_at - sent[index]) * 1000)
        stages["row stored -> turn started"].append((started_at - stored_at) * 1000)
        stages["turn started -> both alerts at the provider"].append(
            (max(arrived[k] for k in keys) - started_at) * 1000)
    return stages


def _report(messages: int, database: str | None, burst: int, gap: float, latencies: list[float],
            answered: list[float], lost: list[int]) -> None:
    ms = [x * 1000 for x in latencies]
    print(f"command: {' '.join(shlex.quote(a) for a in [sys.executable, *sys.argv])}")
    print(f"database: {'PostgreSQL' if database else 'SQLite (temporary file)'}; "
          f"{messages} urgent crisis SMS, {burst} at a time, {gap * 1000:.0f} ms apart")
    if ms:
        print("urgent SMS -> mentor AND supervisor alerts at the provider: "
              f"p50 {_percentile(ms, 50):.1f} ms  p95 {_percentile(ms, 95):.1f} ms  "
              f"p99 {_percentile(ms, 99):.1f} ms  max {max(ms):.1f} ms  (n={len(ms)})")
    hook = [x * 1000 for x in answered]
    print(f"webhook answered (stored and committed): p50 {_percentile(hook, 50):.1f} ms  "
          f"p99 {_percentile(hook, 99):.1f} ms")
    if lost:
        print(f"NOT DELIVERED within the timeout: {len(lost)} messages (first: {lost[:5]})")
    verdict = "met" if ms and not lost and _percentile(ms, 99) < 250 else "NOT met"
    print(f"goal p99 < 250 ms: {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200, help="urgent SMS to send (one mentee each)")
    parser.add_argument("--database", default=None,
                        help="PostgreSQL URL (a fresh schema is made); default: a temporary SQLite file")
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between messages (or bursts)")
    parser.add_argument("--burst", type=int, default=1, help="messages sent together before waiting")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for both alerts")
    args = parser.parse_args()
    if not 1 <= args.messages <= 89999:
        parser.error("--messages must be 1..89999")
    return run(args.messages, args.database, args.gap, max(1, args.burst), args.timeout)


if __name__ == "__main__":
    sys.exit(main())
