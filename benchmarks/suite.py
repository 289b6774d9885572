"""`python -m benchmarks`: every speed and scale figure of issue 14 in one run, one table.

The real service (`build_app` under uvicorn, its real loops, the real Twilio client) runs in
child processes, as `checkins serve` does, against a fake Twilio API on 127.0.0.1 in this process
(so send and arrival times are on one clock). Every throughput is shown with its ratio to the
database's own raw single-row commit rate, measured in the same run with SQLAlchemy Core on the
same database: on a shared machine the ratio is the figure that means something.

For a throughput, "median" is the median over repeated runs and "p99" the rate 99% of runs beat
(with few runs, about the slowest); for a latency, both are percentiles over every message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import re
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, text
from twilio.request_validator import RequestValidator

from bot.config import Config, ServiceConfig, TwilioConfig
from bot.storage.db import make_engine, normalise_url
from tests.fakes.twilio_server import FakeTwilio

log = logging.getLogger("benchmarks")
PUBLIC = "http://bench.invalid"  # the address Twilio "called": signatures are made for it
MENTOR, SUPERVISOR = "+447700900101", "+447700900102"
ORDINARY = "feeling ok this week, nothing much to report"
CRISIS = "Got a rope and im doing it tonight, ive had enough"
ORDINARY_RATE = 5.0  # ordinary texts a second alongside the crisis figures (a busy evening)
_ALERT = re.compile(r"^URGENT C(\d+) T\.:")


@dataclass
class Figure:
    name: str
    database: str
    median: float
    p99: float
    unit: str
    ratio: float | None = None  # a throughput's median over the raw commit rate (16 connections)
    note: str = ""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def rate_figure(name: str, database: str, rates: list[float], unit: str, raw: float | None,
                note: str = "") -> Figure:
    median = statistics.median(rates)
    return Figure(name, database, median, percentile(rates, 1), unit,
                  median / raw if raw else None, note)


def latency_figure(name: str, database: str, seconds: list[float], note: str = "") -> Figure:
    ms = [s * 1000 for s in seconds] or [float("nan")]
    return Figure(name, database, percentile(ms, 50), percentile(ms, 99), "ms", None,
                  note or f"n={len(seconds)}")


# ---- databases --------------------------------------------------------------------------------
@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, empty database URL: a temporary SQLite file or a new PostgreSQL schema."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="checkins-bench-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    import psycopg

    base = normalise_url(os.environ.get("CHECKINS_TEST_POSTGRES_URL")
                         or "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    plain = base.replace("postgresql+psycopg://", "postgresql://", 1)
    schema = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    joiner = "&" if "?" in base else "?"
    try:
        yield f"{base}{joiner}options={quote(f'-csearch_path={schema}', safe='')}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def raw_commit_rate(url: str, connections: int, seconds: float) -> float:
    """Single-row INSERT + COMMIT per transaction, `connections` threads, commits per second."""
    engine = make_engine(url, pool_size=connections, max_overflow=0) if url.startswith("postgres") \
        else make_engine(url)
    table = Table("bench_raw", MetaData(), Column("id", Integer, primary_key=True), Column("v", String(20)))
    table.metadata.create_all(engine)
    counts = [0] * connections
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        while time.perf_counter() < stop:
            with engine.begin() as conn:
                conn.execute(insert(table).values(v="x"))
            counts[i] += 1

    began = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    table.metadata.drop_all(engine)
    engine.dispose()
    return sum(counts) / elapsed


# ---- the fake provider and the service -------------------------------------------------------
class TimedTwilio(FakeTwilio):
    """The fake Twilio API, noting when each message reaches it (perf_counter, this process)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[tuple[float, str, str]] = []  # (at, to, body)
        self.first_to: dict[str, float] = {}
        self.changed = threading.Condition()

    async def _answer_create(self, request: Any, form: dict[str, str]) -> Any:
        at = time.perf_counter()
        response = await super()._answer_create(request, form)
        if response.status_code == 201:
            with self.changed:
                to = form.get("To", "")
                self.arrivals.append((at, to, form.get("Body", "")))
                self.first_to.setdefault(to, at)
                self.changed.notify_all()
        return response

    def wait(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        with self.changed:
            while not done():
                left = deadline - time.perf_counter()
                if left <= 0:
                    return False
                self.changed.wait(min(left, 0.5))
        return True


def service_config(url: str, fake: TimedTwilio) -> Config:
    return Config(
        service=ServiceConfig(database_url=url, public_base_url=PUBLIC, quiet_hours="", tick_seconds=1.0),
        twilio=TwilioConfig(enabled=True, account_sid=fake.account_sid, auth_token=fake.auth_token,
                            from_number=fake.from_number, api_base_url=fake.url, messages_per_second=0.0),
    )


def _service_process(config: Config, port: int, web_only: bool) -> None:
    """The service under test, as `checkins serve` (or `serve --web-only`) runs it."""
    import uvicorn

    from bot.service.runtime import build_services
    from bot.service.server import build_app, build_channels

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "tick skipped": a busy machine
    svc = build_services(config, create_schema=False)
    svc.channels = build_channels(config, svc.clock)
    app, _ = build_app(svc, run_loops=not web_only)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    process: Any
    port: int
    started: float  # perf_counter when the process was started

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/twilio/sms"


def start_service(config: Config, *, web_only: bool = False) -> Service:
    port = free_port()
    proc = multiprocessing.get_context("spawn").Process(
        target=_service_process, args=(config, port, web_only), daemon=True)
    began = time.perf_counter()
    proc.start()
    return Service(proc, port, began)


def wait_ready(service: Service, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.process.is_alive():
            raise SystemExit("a service process exited during start-up")
        try:
            r = httpx.get(f"http://127.0.0.1:{service.port}/readyz", timeout=2, trust_env=False)
            if r.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit("a service process did not become ready")


def stop_service(service: Service) -> None:
    service.process.terminate()
    service.process.join(timeout=20)
    if service.process.is_alive():
        service.process.kill()


# ---- people -----------------------------------------------------------------------------------
def phone(i: int) -> str:
    return f"+4477{i:08d}"


def seed(url: str, count: int, *, first: int = 0, plan: str | None = None,
         planned: bool = True) -> None:
    """Staff (once) and `count` SMS mentees numbered from `first`: C<i> Test, phone(i)."""
    from bot.service import admin
    from bot.service.runtime import build_services
    from bot.storage.models import Mentee, Staff

    from bot.storage.sealed import keyring_of

    svc = build_services(Config().with_database(url))
    keyring = keyring_of(svc.engine.dialect)  # phones are encrypted: found by their keyed hash
    now = datetime.now(UTC)
    with svc.sessions() as s, s.begin():
        mentor = s.scalars(select(Staff).where(Staff.phone_hash == keyring.lookup(MENTOR))).first()
        if mentor is None:
            admin.add_staff(s, now, name="Sam Okafor", role="supervisor", phone=SUPERVISOR, channels="sms")
            mentor = admin.add_staff(s, now, name="Maya Patel", role="mentor", phone=MENTOR,
                                     channels="sms", supervisor="Sam Okafor")
        mentor_id = mentor.id
    for lo in range(first, first + count, 10_000):
        with svc.sessions() as s, s.begin():
            s.execute(insert(Mentee), [
                {"first_name": f"C{i}", "last_name": "Test", "phone": phone(i),
                 "phone_hash": keyring.lookup(phone(i)), "preferred_channel": "sms", "mentor_id": mentor_id, "timezone": "Europe/London",
                 "status": "active", "sms_reachable": True, "telegram_reachable": True,
                 "plan": plan, "plan_version": 0, "missed_streak": 0, "created_at": now,
                 "planned_until": now + timedelta(days=14) if planned else None}
                for i in range(lo, min(first + count, lo + 10_000))])
    svc.engine.dispose()


# ---- traffic ------------------------------------------------------------------------------------
def signed(token: str, mentee: int, body: str) -> tuple[dict[str, str], str]:
    form = {"MessageSid": "SM" + secrets.token_hex(16), "From": phone(mentee), "To": "+447700900999",
            "Body": body, "NumSegments": "1", "AccountSid": "AC" + "0" * 32}
    return form, RequestValidator(token).compute_signature(PUBLIC + "/twilio/sms", form)


async def post_all(urls: list[str], posts: list[tuple[dict[str, str], str]], concurrency: int,
                   sent: dict[str, float] | None = None) -> tuple[int, list[float]]:
    """POST the signed webhooks (round-robin over `urls`); returns (200s, answer latencies)."""
    import aiohttp

    ok = 0
    answered: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency * 2)) as http:

        async def post(i: int, form: dict[str, str], sig: str) -> None:
            nonlocal ok
            async with gate:
                began = time.perf_counter()
                if sent is not None:
                    sent[form["From"]] = began
                async with http.post(urls[i % len(urls)], data=form,
                                     headers={"X-Twilio-Signature": sig}) as r:
                    await r.read()
                    ok += r.status == 200
                answered.append(time.perf_counter() - began)

        await asyncio.gather(*(post(i, f, s) for i, (f, s) in enumerate(posts)))
    return ok, answered


# ---- the figures --------------------------------------------------------------------------------
@dataclass
class Sizes:
    quick: bool
    runs: int
    inbound: dict[int, int]  # concurrency -> messages per run
    intake: int
    fanout: list[int]
    crisis_single: int
    crisis_bursts: dict[int, int]  # burst size -> bursts
    startup_mentees: int
    open_checkins: int
    history: int
    scale_messages: int
    raw_seconds: float

    @staticmethod
    def of(quick: bool) -> Sizes:
        if quick:
            return Sizes(True, 2, {1: 30, 16: 160, 64: 320}, 1500, [10_000], 10, {10: 1, 50: 1},
                         20_000, 2_000, 50_000, 200, 1.0)
        return Sizes(False, 3, {1: 200, 16: 2000, 64: 4000}, 10_000, [10_000, 100_000], 100,
                     {10: 10, 50: 4}, 100_000, 10_000, 1_000_000, 3000, 3.0)


class Suite:
    def __init__(self, sizes: Sizes, databases: list[str],
                 want: Callable[[str], bool] = lambda part: True) -> None:
        self.want = want
        self.sizes = sizes
        self.databases = databases
        self.figures: list[Figure] = []
        self.raw: dict[str, float] = {}
        self.next_mentee = 0
        self.seeded_until = 0
        self.failed: list[str] = []

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        ratio = f"  ({figure.ratio:.1%} of raw)" if figure.ratio is not None else ""
        print(f"  {figure.database:10} {figure.name}: median {figure.median:,.1f} {figure.unit}, "
              f"p99 {figure.p99:,.1f}{ratio}", flush=True)

    def mentees(self, count: int) -> list[int]:
        first = self.next_mentee
        self.next_mentee += count
        return list(range(first, first + count))

    # figure 0: the database's own limit
    def raw_rates(self, kind: str, url: str) -> None:
        for conns in (1, 16):
            rates = [raw_commit_rate(url, conns, self.sizes.raw_seconds) for _ in range(self.sizes.runs)]
            self.add(rate_figure(f"raw single-row commits, {conns} connection(s)", kind, rates, "commits/s", None))
            if conns == 16:
                self.raw[kind] = statistics.median(rates)

    # figures 1, 3, 4: one running service per database
    def service_figures(self, kind: str, url: str, fake: TimedTwilio) -> None:
        s = self.sizes
        if kind == "sqlite" and s.quick and not self.want("inbound"):
            return  # quick: only the inbound figures run on SQLite
        need = sum(n * s.runs for n in s.inbound.values()) + s.crisis_single \
            + sum(b * n for b, n in s.crisis_bursts.items()) + 200
        base = self.next_mentee
        seed(url, need, first=base)
        self.seeded_until = base + need
        service = start_service(service_config(url, fake))
        try:
            wait_ready(service)
            for concurrency, count in (s.inbound if self.want("inbound") else {}).items():
                rates, latencies, cpu = [], [], []
                for _ in range(s.runs):
                    before = _cpu_seconds(service.process.pid)
                    rate, lat = self.inbound_run(service, fake, self.mentees(count), concurrency)
                    cpu.append((_cpu_seconds(service.process.pid) - before) / count * 1000)
                    rates.append(rate)
                    latencies += lat
                tag = " (quick: fewer messages)" if s.quick else ""
                self.add(rate_figure(f"inbound full path, concurrency {concurrency}{tag}", kind, rates,
                                     "msg/s", self.raw[kind], f"{count} messages x {s.runs} runs"))
                self.add(latency_figure(f"inbound webhook -> reply at provider, concurrency {concurrency}",
                                        kind, latencies))
                # CPU the service process spent per message (intake, turn, sends): a figure a
                # busy machine disturbs far less than a rate; 1000 / it bounds msg/s on one core.
                self.add(Figure(f"inbound service CPU per message, concurrency {concurrency}", kind,
                                statistics.median(cpu), max(cpu), "ms CPU", None,
                                f"whole service process; {s.runs} runs (p99 column: worst run)"))
            if kind == "postgresql" or not s.quick:
                if self.want("crisis"):
                    self.crisis(kind, service, fake)
                for n in s.fanout if self.want("fanout") else []:
                    self.fanout(kind, url, service, fake, n)
        finally:
            stop_service(service)

    def inbound_run(self, service: Service, fake: TimedTwilio, who: list[int],
                    concurrency: int) -> tuple[float, list[float]]:
        posts = [signed(fake.auth_token, i, ORDINARY) for i in who]
        sent: dict[str, float] = {}
        began = time.perf_counter()
        ok, _ = asyncio.run(post_all([service.url], posts, concurrency, sent))
        phones = [phone(i) for i in who]
        if not fake.wait(lambda: all(p in fake.first_to for p in phones), 120) or ok != len(who):
            raise SystemExit(f"inbound: {ok} of {len(who)} accepted, not every reply arrived")
        last = max(fake.first_to[p] for p in phones)
        return len(who) / (last - began), [fake.first_to[p] - sent[p] for p in phones]

    def crisis(self, kind: str, service: Service, fake: TimedTwilio) -> None:
        """Figure 4: urgent SMS in, both staff alerts at the provider; ordinary traffic alongside."""
        s = self.sizes
        background = self.mentees(200)
        stop = threading.Event()

        def ordinary() -> None:  # ordinary texts from other mentees alongside, ORDINARY_RATE a second
            i = 0
            while not stop.wait(1 / ORDINARY_RATE):
                post = signed(fake.auth_token, background[i % len(background)], ORDINARY)
                asyncio.run(post_all([service.url], [post], 1))
                i += 1

        trickle = threading.Thread(target=ordinary, daemon=True)
        trickle.start()
        try:
            plans = [(1, s.crisis_single)] + list(s.crisis_bursts.items())
            for burst, groups in plans:
                latencies = []
                for _ in range(groups):
                    who = self.mentees(burst)
                    posts = [signed(fake.auth_token, i, CRISIS) for i in who]
                    sent: dict[str, float] = {}
                    if burst == 1:
                        for post in posts:
                            asyncio.run(post_all([service.url], [post], 1, sent))
                            time.sleep(0.05)
                    else:
                        asyncio.run(post_all([service.url], posts, burst, sent))
                    for i in who:
                        done = fake.wait(lambda i=i: self._alerted(fake, i) is not None, 30)
                        if done:
                            latencies.append(self._alerted(fake, i) - sent[phone(i)])  # type: ignore[operator]
                label = "one at a time" if burst == 1 else f"bursts of {burst}"
                self.add(latency_figure(f"crisis -> both staff alerts at provider, {label}", kind, latencies,
                                        f"n={len(latencies)}, ordinary texts alongside"))
        finally:
            stop.set()
            trickle.join(timeout=30)

    @staticmethod
    def _alerted(fake: TimedTwilio, index: int) -> float | None:
        key = getattr(fake, "_alert_index", None)
        if key is None or key[0] != len(fake.arrivals):  # index the alerts seen so far
            seen: dict[tuple[int, str], float] = {}
            for at, to, body in list(fake.arrivals):
                m = _ALERT.match(body)
                if m and to in (MENTOR, SUPERVISOR):
                    seen.setdefault((int(m.group(1)), to), at)
            fake._alert_index = (len(fake.arrivals), seen)  # type: ignore[attr-defined]
        seen = fake._alert_index[1]  # type: ignore[attr-defined]
        both = [seen.get((index, MENTOR)), seen.get((index, SUPERVISOR))]
        return max(both) if all(both) else None  # type: ignore[type-var]

    def fanout(self, kind: str, url: str, service: Service, fake: TimedTwilio, count: int) -> None:
        """Figure 3: `count` mentees due in the same minute, until every first question is at the
        (unthrottled) fake provider."""
        from bot.service.runtime import build_services
        from bot.storage.models import DueEvent, Mentee

        self.next_mentee = max(self.next_mentee, self.seeded_until)  # past every seeded number
        first = self.next_mentee
        who = self.mentees(count)
        seed(url, count, first=first)
        from bot.storage.sealed import keyring_of

        svc = build_services(Config().with_database(url), create_schema=False)
        keyring = keyring_of(svc.engine.dialect)
        now = datetime.now(UTC)
        with svc.sessions() as s:  # names are encrypted: the first and last found by phone hash
            ids = list(s.scalars(select(Mentee.id).where(Mentee.phone_hash.in_(
                [keyring.lookup(phone(who[0])), keyring.lookup(phone(who[-1]))])).order_by(Mentee.id)))
        lo, hi = ids[0], ids[-1]
        with svc.sessions() as s, s.begin():
            s.execute(insert(DueEvent), [
                {"kind": "checkin", "dedupe_key": f"bench:{mid}", "due_at": now - timedelta(seconds=mid % 60),
                 "mentee_id": mid, "status": "pending", "plan_version": 0, "created_at": now}
                for mid in range(lo, hi + 1)])
        began = time.perf_counter()
        svc.engine.dispose()
        phones = [phone(i) for i in who]
        if not fake.wait(lambda: all(p in fake.first_to for p in phones), 600):
            arrived = sum(p in fake.first_to for p in phones)
            raise SystemExit(f"fan-out: only {arrived} of {count} first questions arrived")
        seconds = max(fake.first_to[p] for p in phones) - began
        self.add(Figure(f"fan-out: {count:,} due in one minute, all first questions at provider", kind,
                        seconds, seconds, "s", None, f"{count / seconds:,.0f} check-ins/s; 1 run"))

    # figure 2: intake alone
    def intake(self, kind: str, url: str, fake: TimedTwilio) -> None:
        s = self.sizes
        seed(url, 0)
        service = start_service(service_config(url, fake), web_only=True)
        try:
            wait_ready(service)
            rates, answered, cpu = [], [], []
            for _ in range(s.runs):
                posts = [signed(fake.auth_token, i % 5000, ORDINARY) for i in range(s.intake)]
                before = _cpu_seconds(service.process.pid)
                began = time.perf_counter()
                ok, lat = asyncio.run(post_all([service.url], posts, 64))
                rates.append(ok / (time.perf_counter() - began))
                cpu.append((_cpu_seconds(service.process.pid) - before) / len(posts) * 1000)
                answered += lat
            self.add(rate_figure("webhook intake alone (serve --web-only), concurrency 64", kind, rates,
                                 "webhooks/s", self.raw[kind], f"{s.intake} x {s.runs} runs"))
            self.add(latency_figure("webhook answered (stored, committed), concurrency 64", kind, answered))
            # As the inbound figures: CPU is what a busy machine disturbs least.
            self.add(Figure("webhook intake service CPU per webhook, concurrency 64", kind,
                            statistics.median(cpu), max(cpu), "ms CPU", None,
                            f"the serve --web-only process; {s.runs} runs (p99 column: worst run)"))
        finally:
            stop_service(service)

    # figures 5 and 6: start-up and memory
    def startup(self, kind: str, url: str, fake: TimedTwilio) -> None:
        from bot.service.runtime import build_services
        from bot.storage.models import Conversation, Mentee, Message

        s = self.sizes
        n = s.startup_mentees
        seed(url, n, first=0, plan="mon,thu 10:00", planned=False)  # planning waits for start-up
        svc = build_services(Config().with_database(url), create_schema=False)
        now = datetime.now(UTC)
        with svc.sessions() as ses:
            ids = list(ses.scalars(select(Mentee.id).order_by(Mentee.id)))
        with svc.sessions() as ses, ses.begin():
            ses.execute(insert(Conversation), [
                {"mentee_id": mid, "flow_name": "weekly", "flow_version": 1, "state": "mood",
                 "answers": {}, "reasks": 0, "reminded": False, "trigger": "checkin", "outcome": "open",
                 "started_at": now, "last_activity_at": now, "version": 1}
                for mid in ids[:s.open_checkins]])
        for lo in range(0, s.history, 20_000):
            with svc.sessions() as ses, ses.begin():
                ses.execute(insert(Message), [
                    {"direction": "in" if k % 2 else "out", "channel": "sms", "address": phone(k % n),
                     "mentee_id": ids[k % n], "body": ORDINARY, "purpose": "flow", "status": "sent",
                     "segments": 1, "attempts": 1, "respect_quiet_hours": False,
                     "created_at": now - timedelta(minutes=k), "updated_at": now,
                     "processed_at": now, "provider_id": f"hist{k}"}
                    for k in range(lo, min(s.history, lo + 20_000))])
        service = start_service(service_config(url, fake))
        import httpx

        try:
            form, sig = signed(fake.auth_token, 1, CRISIS)
            first = None
            while first is None:
                if not service.process.is_alive():
                    raise SystemExit("start-up: the service exited")
                try:
                    r = httpx.post(service.url, data=form, headers={"X-Twilio-Signature": sig},
                                   timeout=5, trust_env=False)
                    if r.status_code == 200:
                        first = time.perf_counter() - service.started
                except httpx.HTTPError:
                    time.sleep(0.02)
            tag = f"{n:,} mentees" + (" (quick)" if s.quick else "")
            self.add(Figure(f"start-up: process start -> first webhook accepted, {tag}", kind,
                            first, first, "s", None, "1 run"))
            deadline = time.monotonic() + 600
            while True:  # planning in the background: wait for it, then read the memory
                with svc.sessions() as ses:
                    left = ses.scalar(select(func.count()).select_from(Mentee)
                                      .where(Mentee.planned_until.is_(None)))
                if not left or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            planned_after = time.perf_counter() - service.started
            rss, peak = _memory(service.process.pid)
            self.add(Figure(f"start-up: every plan in place, {tag}", kind, planned_after, planned_after,
                            "s", None, "background, in batches; 1 run"))
            self.add(Figure(f"memory: resident after planning, {tag}, {s.open_checkins:,} open, "
                            f"{s.history:,} messages", kind, rss, peak, "MB", None, "p99 column: peak"))
        finally:
            stop_service(service)
            svc.engine.dispose()

    # figure 8: scale-out
    def scale_out(self, kind: str, fake: TimedTwilio) -> None:
        s = self.sizes
        base_rate = None
        for processes in (1, 2, 4):
            with database(kind) as url:
                from bot.service.runtime import build_services

                build_services(Config().with_database(url)).engine.dispose()
                seed(url, s.scale_messages, first=10_000_000 + processes * 100_000)
                services = [start_service(service_config(url, fake)) for _ in range(processes)]
                try:
                    for service in services:
                        wait_ready(service, timeout=300)  # several start at once on few cores
                    who = list(range(10_000_000 + processes * 100_000,
                                     10_000_000 + processes * 100_000 + s.scale_messages))
                    posts = [signed(fake.auth_token, i, ORDINARY) for i in who]
                    began = time.perf_counter()
                    ok, _ = asyncio.run(post_all([x.url for x in services], posts, 32))
                    phones = [phone(i) for i in who]
                    fake.wait(lambda: all(p in fake.first_to for p in phones), 180)
                    last = max(fake.first_to.get(p, 0) for p in phones)
                    rate = len(who) / (last - began)
                    once = _exactly_once(url, fake, len(who))
                finally:
                    for service in services:
                        stop_service(service)
            base_rate = base_rate or rate
            self.add(Figure(f"scale-out: {processes} serve process(es), full path, concurrency 32", kind,
                            rate, rate, "msg/s", rate / self.raw[kind],
                            f"x{rate / base_rate:.2f} of 1 process; {once}; 1 run"))

    # figure 7: detection
    def detection(self) -> None:
        """Every labelled text once (distinct: no cache of whole texts helps), on a fresh
        detector each run, by this process's CPU time (one core); see benchmarks/risk_speed.py."""
        from benchmarks.risk_speed import distinct_run, labelled_texts

        texts = labelled_texts()
        runs = 3 if self.sizes.quick else 5
        rates = [distinct_run(texts) for _ in range(runs)]
        self.add(rate_figure("detection (rules and learned layer), one core, distinct texts", "none", rates,
                             "msg/s (CPU)", None,
                             f"every labelled text once ({len(texts):,}, ~60% risky), {runs} runs"))


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process (and its threads) has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _memory(pid: int) -> tuple[float, float]:
    """(resident, peak resident) MB of a process, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def _exactly_once(url: str, fake: TimedTwilio, expected: int) -> str:
    from bot.storage.models import Message

    engine = make_engine(url)
    with engine.connect() as conn:
        handled = conn.scalar(select(func.count()).select_from(Message.__table__).where(
            text("direction = 'in' AND processed_at IS NOT NULL")))
        ids = [r[0] for r in conn.execute(text(
            "SELECT provider_id FROM messages WHERE direction = 'out' AND provider_id IS NOT NULL"))]
    engine.dispose()
    ours = set(ids)
    at_fake = [sid for sid in (m.get("Sid") for m in fake.messages) if sid in ours]
    ok = handled == expected and len(at_fake) == len(set(at_fake)) == len(ids)
    return f"{'exactly once' if ok else 'NOT exactly once'}: {handled}/{expected} handled, {len(ids)} sends"


def run(quick: bool, json_path: str | None, only: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    sizes = Sizes.of(quick)
    began = time.perf_counter()
    kinds = ["sqlite", "postgresql"]
    want = (lambda name: only is None or name in only)
    suite = Suite(sizes, kinds, want)
    cores = os.cpu_count() or 0
    print(f"checkins benchmarks{' (quick)' if quick else ''}: {cores} cores, load average "
          f"{os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}", flush=True)
    with TimedTwilio() as fake, tempfile.TemporaryDirectory(prefix="checkins-bench-keys-") as keys:
        # One set of encryption keys for the run (PostgreSQL refuses to start without): every
        # process, the service children included, reads them from the environment's key file.
        from bot.keyring import Keyring, write_key_file

        key_file = Path(keys) / "bench.keys"
        write_key_file(key_file, Keyring.generate(source=str(key_file)))
        os.environ["CHECKINS_SECURITY_KEY_FILE"] = str(key_file)
        _run_parts(suite, kinds, want, fake)
    elapsed = time.perf_counter() - began
    print_table(suite, cores, elapsed)
    if json_path:
        Path(json_path).write_text(json.dumps(
            [asdict(f) | {"cores": cores} for f in suite.figures], indent=2) + "\n")
        print(f"figures written to {json_path}")
    return 0 if not suite.failed else 1


def _part(suite: Suite, name: str, work: Callable[[], None]) -> None:
    """Run one part; a part that fails (a service that never became ready on a loaded machine)
    is reported as such, and the others still run and are written."""
    try:
        work()
    except (SystemExit, Exception) as exc:  # noqa: BLE001 - reported, never hidden
        suite.failed.append(f"{name}: {exc}")
        print(f"  part {name} failed: {exc}", flush=True)


def _run_parts(suite: Suite, kinds: list[str], want: Callable[[str], bool], fake: TimedTwilio) -> None:
    from bot.service.runtime import build_services

    for kind in kinds:
        with database(kind) as url:
            build_services(Config().with_database(url)).engine.dispose()  # the schema
            suite.raw_rates(kind, url)
            if want("inbound") or want("crisis") or want("fanout"):
                _part(suite, f"service ({kind})", lambda: suite.service_figures(kind, url, fake))
        if kind == "postgresql" and want("intake"):
            with database(kind) as url:
                build_services(Config().with_database(url)).engine.dispose()
                _part(suite, "intake", lambda: suite.intake(kind, url, fake))
    if want("startup"):
        with database("postgresql") as url:
            build_services(Config().with_database(url)).engine.dispose()
            _part(suite, "startup", lambda: suite.startup("postgresql", url, fake))
    if want("detection"):
        _part(suite, "detection", suite.detection)
    if want("scale"):
        _part(suite, "scale", lambda: suite.scale_out("postgresql", fake))


def print_table(suite: Suite, cores: int, elapsed: float) -> None:
    print()
    print(f"{'figure':78} {'database':10} {'median':>10} {'p99':>10} {'unit':12} {'of raw':>7}")
    for f in suite.figures:
        ratio = f"{f.ratio:.1%}" if f.ratio is not None else ""
        print(f"{f.name[:78]:78} {f.database:10} {f.median:10,.1f} {f.p99:10,.1f} {f.unit:12} {ratio:>7}")
    raw = ", ".join(f"{k} {v:,.0f}/s" for k, v in suite.raw.items())
    print(f"\n{cores} cores; raw single-row commit rate at 16 connections, this run: {raw}; "
          f"the whole run took {elapsed:.0f} s")
