"""Many due check-ins at once: several workers claim the same rows, and each is handled once."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.service.outbox import send_pass
from bot.service.runtime import Services
from bot.service.ticker import tick, tick_until_idle
from bot.storage.models import Conversation, DueEvent, Message
from tests.bot.service.conftest import ServicesFactory
from tests.bot.service.world import StampedPhone, seed_due_mentees

DUE = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)  # a Monday, 10:00 GMT: outside quiet hours


def _work_until_idle(svc: Services, barrier: threading.Barrier, errors: list[BaseException]) -> None:
    try:
        barrier.wait()
        first_round = True
        while True:
            worked = tick(svc, limit=50)
            worked += asyncio.run(send_pass(svc, limit=50))
            if first_round:
                # Every worker finishes its first claim before any takes a second, so each has
                # raced for rows whatever the machine's speed (one fast thread could otherwise
                # take all 2000 before another was scheduled).
                barrier.wait()
                first_round = False
            if not worked:
                return
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)
        barrier.abort()  # the others stop waiting for this worker


def _assert_each_handed_over_once(svc: Services, phone: StampedPhone, mentee_ids: list[int]) -> None:
    with svc.sessions() as s:
        statuses = Counter(s.scalars(select(DueEvent.status).where(DueEvent.kind == "checkin")))
        per_mentee = Counter(s.scalars(select(Conversation.mentee_id)))
        flow = Counter(s.scalars(select(Message.mentee_id).where(
            Message.direction == "out", Message.purpose == "flow")))
        timers = Counter(s.scalars(select(DueEvent.kind).where(DueEvent.kind != "checkin")))
    assert statuses == {"done": len(mentee_ids)}
    assert set(per_mentee) == set(mentee_ids) and set(per_mentee.values()) == {1}
    assert set(flow) == set(mentee_ids) and set(flow.values()) == {1}
    assert timers == {"reminder": len(mentee_ids), "expiry": len(mentee_ids)}
    sent = Counter(m.address for m in phone.sent)
    assert len(sent) == len(mentee_ids) and set(sent.values()) == {1}


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_claiming_the_same_due_rows_hand_each_over_exactly_once(
        sched_services: ServicesFactory, workers: int) -> None:
    """2000 check-ins due at once, 2 or 4 workers (each its own engine) racing for them."""
    clock = ManualClock(DUE - timedelta(minutes=1))
    ids = seed_due_mentees(sched_services(clock), 2000, DUE)
    clock.set(DUE + timedelta(seconds=30))
    phone = StampedPhone(clock)
    services = [sched_services(clock, worker=f"worker-{i}") for i in range(workers)]
    for svc in services:
        svc.channels = {"console": phone}
    barrier, errors = threading.Barrier(workers), []
    threads = [threading.Thread(target=_work_until_idle, args=(svc, barrier, errors)) for svc in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    _assert_each_handed_over_once(services[0], phone, ids)
    with services[0].sessions() as s:
        by_worker = Counter(s.scalars(select(DueEvent.claimed_by).where(DueEvent.kind == "checkin")))
    assert sum(by_worker.values()) == 2000 and set(by_worker) <= {f"worker-{i}" for i in range(workers)}
    assert len(by_worker) > 1  # the work really was shared


def test_ten_thousand_mentees_due_in_the_same_minute_are_all_handed_over_once(
        sched_services: ServicesFactory) -> None:
    clock = ManualClock(DUE - timedelta(minutes=1))
    svc = sched_services(clock)
    ids = seed_due_mentees(svc, 10_000, DUE, spread_seconds=60)
    phone = StampedPhone(clock)
    svc.channels = {"console": phone}
    clock.set(DUE + timedelta(minutes=1))
    assert tick_until_idle(svc) == 10_000
    while asyncio.run(send_pass(svc, limit=1000)):
        pass
    _assert_each_handed_over_once(svc, phone, ids)
    with svc.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message).where(Message.status == "pending")) == 0
