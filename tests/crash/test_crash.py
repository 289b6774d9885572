"""The crash test: `checkins serve` SIGKILLed at random moments (seeded) while mentees check in
and write crisis texts through real signed webhooks, restarted each time, and then checked:

- every webhook answered 2xx is stored exactly once and handled;
- every expected reply reached the mentee and every alert reached both staff members;
- nothing was sent twice except the message in flight at a kill: with `send_concurrency = 1`,
  at most one send per kill has no receipt (the provider took it, the process died before
  writing it down) and was sent again after the restart;
- every alert is acknowledged or still climbing its ladder.

And a fault run: 429s, 5xx, slow answers and refusals at the fake providers (and a few kills):
everything arrives, and staff alerts move on to the mentor's next channel.

Bounded: `KILLS` kills per database, each just after the providers took a seeded random 1 to 6
more messages (a moment chosen by progress, so a slow machine gets the same kills). Runs in the
normal `pytest` run (marked `crash`: `pytest -m "not crash"` leaves it out). On PostgreSQL too
when CHECKINS_TEST_POSTGRES_URL is set. Nothing waits on a fixed sleep: every wait is bounded
polling on a condition.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.service import admin
from bot.service.runtime import build_services
from bot.storage.db import normalise_url
from bot.storage.models import Alert, DueEvent, Message
from tests.conftest import pg_schema_url
from tests.crash.harness import (
    ACK_CODE,
    MENTOR_CHAT,
    MENTOR_PHONE,
    SUPERVISOR_PHONE,
    Driver,
    Mentee,
    ServiceProcess,
    play,
)
from tests.fakes.telegram_server import FakeTelegram, TelegramFault
from tests.fakes.twilio_server import FakeTwilio, TwilioFault

pytestmark = pytest.mark.crash

KILLS = 20  # per database
FAULT_RUN_KILLS = 3
SEED = 12
LEASE_SECONDS = 2
RETRY_MAX_SECONDS = 5  # the fault run's `send_retry_max_seconds`


def cast() -> list[Mentee]:
    sms = [Mentee(f"Sms{i}", "sms", f"+4477009003{i:02d}", crisis=i in (1, 4)) for i in range(8)]
    telegram = [Mentee(f"Tg{i}", "telegram", str(7000 + i), crisis=i == 2) for i in range(4)]
    return sms + telegram


def seed(database_url: str, mentees: list[Mentee]) -> None:
    svc = build_services(Config().with_database(database_url))
    try:
        with svc.sessions() as s, s.begin():
            now = svc.clock.now()
            admin.add_staff(s, now, name="Priya Shah", role="supervisor", phone=SUPERVISOR_PHONE,
                            channels="sms")
            admin.add_staff(s, now, name="Dan Carter", role="mentor", phone=MENTOR_PHONE,
                            telegram_chat_id=str(MENTOR_CHAT), channels="telegram,sms",
                            supervisor="Priya Shah")
            for m in mentees:
                admin.add_mentee(s, svc, now, first_name=m.name, last_name="Test", mentor="Dan Carter",
                                 phone=m.address if m.channel == "sms" else "",
                                 telegram_chat_id=m.address if m.channel == "telegram" else "",
                                 preferred_channel=m.channel)
    finally:
        svc.engine.dispose()


@dataclass
class Run:
    """One crash run's record: where each kill fell in the providers' logs."""

    driver: Driver
    kills_at: list[tuple[int, int]] = field(default_factory=list)  # (twilio, telegram) counts
    acked: set[str] = field(default_factory=set)  # mentee names whose alert was acknowledged
    lock: threading.Lock = field(default_factory=threading.Lock)


def alert_reached_staff(run: Run, mentee: Mentee, *, mentor_by_sms: bool) -> None:
    """Wait for the alert at both staff members; acknowledge every other one by SMS."""
    driver = run.driver
    label = f"{mentee.name} T."
    mentor = (lambda: driver.sms_to(MENTOR_PHONE)) if mentor_by_sms else (lambda: driver.telegrams_to(MENTOR_CHAT))
    wait = driver.service.wait_for
    wait(lambda: any(label in t for t in driver.sms_to(SUPERVISOR_PHONE)), f"{label} alert to the supervisor")
    wait(lambda: any(label in t for t in mentor()), f"{label} alert to the mentor")
    if mentee.crisis and mentee.name.endswith(("1", "2")):
        [code] = {m.group(1) for t in driver.sms_to(SUPERVISOR_PHONE) if label in t
                  for m in [ACK_CODE.search(t)] if m}
        driver.sms(SUPERVISOR_PHONE, f"ACK {code}")
        wait(lambda: sum(code in t for t in driver.sms_to(SUPERVISOR_PHONE)) >= 2, f"ack of {code}")
        with run.lock:
            run.acked.add(mentee.name)


def crash_run(database_url: str, tmp_path: Path, *, kills: int, faults: bool = False) -> tuple[Run, ServiceProcess]:
    mentees = cast()
    seed(database_url, mentees)
    rng = random.Random(SEED)
    with FakeTwilio() as twilio, FakeTelegram() as telegram:
        settings: dict[str, Any] = {"send_lease_seconds": LEASE_SECONDS, "send_concurrency": 1}
        if faults:
            # The provider calls' timeout and the longest wait between tries are the service's
            # wall-clock deadlines: set here so every wait below is bounded by a few seconds of
            # backoff per fault, not by the product's 30-minute cap.
            settings["send_timeout_seconds"] = 2
            settings["send_retry_max_seconds"] = RETRY_MAX_SECONDS
            telegram.fail_chat(MENTOR_CHAT, TelegramFault.blocked())  # alerts must fall back to SMS
        service = ServiceProcess(database_url, twilio, telegram, tmp_path, service=settings)
        run = Run(Driver(service))
        killing = threading.Event()
        killing.set()
        stop_faults = threading.Event()
        service.start()
        try:
            with ThreadPoolExecutor(len(mentees)) as pool:
                rounds: dict[str, int] = {}
                plays = [pool.submit(play, run.driver, m, killing.is_set,
                                     lambda m: alert_reached_staff(run, m, mentor_by_sms=faults), rounds)
                         for m in mentees]
                if faults:
                    pool_faults = threading.Thread(target=inject_faults, args=(twilio, telegram, rng, stop_faults))
                    pool_faults.start()
                for _ in range(kills):
                    # A random moment by progress, not by the clock (a slow machine gets the same
                    # kills): just after the providers have taken 1 to 6 more messages.
                    target = service.sends() + rng.randint(1, 6)
                    service.wait_for(lambda: service.sends() >= target, "traffic before a kill",
                                     interval=0.005)
                    service.kill()
                    run.kills_at.append((len(twilio.messages), len(telegram.sent)))
                    service.start()
                killing.clear()
                for p in plays:
                    p.result()
                stop_faults.set()
                if faults:
                    pool_faults.join()
            service.wait_for(lambda: settled(database_url), "the outbox to empty and every message to be handled",
                             interval=0.5)
        finally:
            service.stop()
        run.driver.twilio_log = list(twilio.messages)  # type: ignore[attr-defined]
        run.driver.telegram_log = list(telegram.sent)  # type: ignore[attr-defined]
    return run, service


def inject_faults(twilio: FakeTwilio, telegram: FakeTelegram, rng: random.Random, stop: threading.Event) -> None:
    """Now and then (by traffic, not time: one fault per 3 to 6 requests a provider took, so they
    never pile up on a quiet provider) its next call gets a 429, a 5xx or a slow answer."""
    faults = {
        "twilio": [TwilioFault.rate_limited(1), TwilioFault.server_error(503), TwilioFault.slow(4)],
        "telegram": [TelegramFault.flood(1), TelegramFault.server_error(502), TelegramFault.slow(4)],
    }
    inject = {"twilio": twilio.fail_next, "telegram": telegram.fail_next}
    seen = {"twilio": 0, "telegram": 0}
    gap = {name: rng.randint(3, 6) for name in seen}
    while not stop.wait(0.05):
        for name, fake in (("twilio", twilio), ("telegram", telegram)):
            count = len(fake.requests)
            if count - seen[name] >= gap[name]:
                inject[name](rng.choice(faults[name]))
                seen[name], gap[name] = count, rng.randint(3, 6)


def reader(database_url: str) -> Any:
    """A plain engine for the checks (no BEGIN IMMEDIATE: it must not queue behind the service),
    with the database's keys (words and numbers are encrypted at rest)."""
    from bot.keyring import keyring_for
    from bot.storage.sealed import attach

    engine = create_engine(normalise_url(database_url))
    attach(engine, keyring_for(Config().security, database_url))
    return engine


def settled(database_url: str) -> bool:
    engine = reader(database_url)
    try:
        with Session(engine) as s:
            busy = s.scalars(select(Message.id).where(Message.direction == "out",
                                                      Message.status.in_(("pending", "sending")))).first()
            todo = s.scalars(select(Message.id).where(Message.direction == "in",
                                                      Message.processed_at.is_(None))).first()
        return busy is None and todo is None
    finally:
        engine.dispose()


def provider_sends(run: Run) -> list[tuple[str, str, str]]:
    """(provider id, to, text) of every message the fakes took, in arrival order per provider."""
    twilio = [(m["Sid"], m["To"], m["Body"]) for m in run.driver.twilio_log]  # type: ignore[attr-defined]
    telegram = [(f"{m['chat_id']}:{m['message_id']}", str(m["chat_id"]), m["text"])
                for m in run.driver.telegram_log]  # type: ignore[attr-defined]
    return twilio + telegram


def check(run: Run, database_url: str, kills: int, *, faults: bool = False) -> dict[str, int]:
    engine = reader(database_url)
    try:
        with Session(engine) as s:
            inbound = s.scalars(select(Message).where(Message.direction == "in")).all()
            outbound = s.scalars(select(Message).where(Message.direction == "out")).all()
            alerts = s.scalars(select(Alert)).all()
            ladders = s.scalars(select(DueEvent).where(DueEvent.kind == "ladder", DueEvent.status == "pending")).all()
    finally:
        engine.dispose()

    # Every accepted inbound stored once, and handled.
    stored = Counter(m.provider_id for m in inbound)
    assert set(stored) == run.driver.accepted
    assert max(stored.values()) == 1
    assert all(m.processed_at is not None for m in inbound)

    # Nothing sent twice but what was in flight at a kill.
    recorded = {m.provider_id for m in outbound if m.provider_id}
    sends = provider_sends(run)
    orphans = [(pid, to, text) for pid, to, text in sends if pid not in recorded]
    twilio_cuts = [t for t, _ in run.kills_at]
    telegram_cuts = [g for _, g in run.kills_at]
    per_kill = Counter()
    twilio_sids = [m["Sid"] for m in run.driver.twilio_log]  # type: ignore[attr-defined]
    for pid, _, _ in orphans:
        if pid.startswith("SM"):
            index, cuts = twilio_sids.index(pid), twilio_cuts
        else:
            tg = [f"{m['chat_id']}:{m['message_id']}" for m in run.driver.telegram_log]  # type: ignore[attr-defined]
            index, cuts = tg.index(pid), telegram_cuts
        life = next((k for k, cut in enumerate(cuts) if index < cut), len(cuts))
        per_kill[life] += 1
    sent_again = Counter((m.address, m.body) for m in outbound if m.provider_id)
    for _, to, text in orphans:  # each one in flight was sent again after the restart
        assert sent_again[(to, text)] >= 1, (to, text)
    if not faults:
        assert all(n <= 1 for n in per_kill.values()), per_kill  # one in flight at a time
        assert per_kill[len(run.kills_at)] == 0  # and none without a kill
        assert all(m.status in ("sent", "queued", "delivered") for m in outbound)

    # Every alert reached both staff (waited for by the driver), acknowledged or still climbing.
    crisis = [m for m in cast() if m.crisis]
    assert len(alerts) == len(crisis)
    climbing = {l.alert_id for l in ladders}
    for alert in alerts:
        assert alert.status == "acknowledged" or (alert.status == "open" and alert.id in climbing), alert.status
    assert sum(a.status == "acknowledged" for a in alerts) == len(run.acked)
    return {"kills": kills, "webhooks": len(run.driver.accepted), "sends": len(sends),
            "outbox rows": len(outbound), "sent twice (in flight at a kill)": len(orphans),
            "alerts": len(alerts)}


@pytest.fixture(params=["sqlite", "postgresql"])
def crash_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
    else:
        yield from pg_schema_url()


def test_kills_at_random_moments_lose_nothing_and_send_nothing_twice_but_the_one_in_flight(
        crash_db: str, tmp_path: Path) -> None:
    run, _ = crash_run(crash_db, tmp_path, kills=KILLS)
    figures = check(run, crash_db, KILLS)
    print(f"crash run on {crash_db.split(':')[0]}: {figures}")


def test_with_429s_5xx_slow_answers_and_refusals_everything_arrives_and_alerts_fall_back(
        tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'faults.db'}"
    run, _ = crash_run(db, tmp_path, kills=FAULT_RUN_KILLS, faults=True)
    figures = check(run, db, FAULT_RUN_KILLS, faults=True)
    # The mentor's Telegram refused every alert: each reached them by SMS instead (the driver
    # waited for it), and the refusals are on record.
    engine = reader(db)
    try:
        with Session(engine) as s:
            to_mentor = s.scalars(select(Message).where(Message.direction == "out",
                                                        Message.alert_id.is_not(None))).all()
    finally:
        engine.dispose()
    assert {m.status for m in to_mentor if m.address == str(MENTOR_CHAT)} == {"failed"}
    assert any(m.address == MENTOR_PHONE and m.provider_id for m in to_mentor)
    print(f"fault run: {figures}")
