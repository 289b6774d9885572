"""Due check-ins are handed over a whole batch at a time, with the same outcome row by row.

One tick claims a batch mixing every case: on time, paused, an older plan, a one-off, already in
progress, too late after downtime, inside the mentee's own quiet hours, two rows for one mentee,
and an open check-in whose expiry falls due with the next one. Real database, real ticker.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.flows import get_flow
from bot.service import admin, checkins
from bot.service.runtime import Services
from bot.service.ticker import tick
from bot.storage.models import Conversation, DueEvent, Mentee, Message
from tests.bot.service.conftest import ServicesFactory
from tests.bot.service.world import OPENING, StampedPhone

DUE = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)  # Monday 10:00 London (GMT)
NOW = DUE + timedelta(seconds=30)


def _mentee(svc: Services, name: str, phone: str, *, status: str = "active", plan_version: int = 0,
            quiet: tuple[str, str] | None = None) -> int:
    with svc.sessions() as s, s.begin():
        mentor = s.scalars(select(Mentee.mentor_id)).first()
        if mentor is None:
            mentor = admin.add_staff(s, svc.clock.now(), name="Dan Carter", role="mentor",
                                     phone="+447700900001", channels="sms").id
        mentee = Mentee(first_name=name, last_name="Test", phone=phone, preferred_channel="sms",
                        mentor_id=mentor, timezone="Europe/London", status=status, plan="mon 10:00",
                        plan_version=plan_version, quiet_start=quiet[0] if quiet else None,
                        quiet_end=quiet[1] if quiet else None, created_at=svc.clock.now())
        s.add(mentee)
        s.flush()
        return mentee.id


def _due(svc: Services, mentee_id: int, due: datetime, kind: str = "checkin", plan_version: int = 0) -> int:
    with svc.sessions() as s, s.begin():
        row = DueEvent(kind=kind, dedupe_key=f"{kind}:{mentee_id}:{due.isoformat()}", due_at=due,
                       mentee_id=mentee_id, plan_version=plan_version, status="pending",
                       created_at=svc.clock.now())
        s.add(row)
        s.flush()
        return row.id


def _row(svc: Services, row_id: int) -> DueEvent:
    with svc.sessions() as s:
        row = s.get(DueEvent, row_id)
        assert row is not None
        return row


def _conversations(svc: Services, mentee_id: int) -> list[Conversation]:
    with svc.sessions() as s:
        return list(s.scalars(select(Conversation).where(Conversation.mentee_id == mentee_id)
                              .order_by(Conversation.id)))


def _first_questions(svc: Services, conversation_id: int) -> list[Message]:
    with svc.sessions() as s:
        return list(s.scalars(select(Message).where(Message.conversation_id == conversation_id,
                                                    Message.direction == "out")))


def _timers(svc: Services, conversation_id: int) -> dict[str, DueEvent]:
    with svc.sessions() as s:
        rows = s.scalars(select(DueEvent).where(DueEvent.conversation_id == conversation_id)).all()
    return {r.kind: r for r in rows}


def test_one_tick_hands_over_a_mixed_batch_with_each_row_decided_as_on_its_own(
        sched_services: ServicesFactory, caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(DUE - timedelta(days=1))
    svc = sched_services(clock, worker="batch-worker")
    svc.channels = {"console": StampedPhone(clock)}

    # Hal's check-in yesterday went unanswered; its expiry falls due with today's check-in.
    hal = _mentee(svc, "Hal", "+447700900108")
    _due(svc, hal, DUE - timedelta(days=1))
    assert tick(svc) == 1
    clock.set(DUE - timedelta(hours=20))
    assert tick(svc) == 1  # yesterday's reminder
    # Dev started a check-in on demand an hour ago and is still answering it.
    clock.set(DUE - timedelta(hours=1))
    dev = _mentee(svc, "Dev", "+447700900104")
    with svc.sessions() as s, s.begin():
        mentee = s.get(Mentee, dev)
        assert mentee is not None
        checkins.start(s, svc, mentee, clock.now(), trigger="on_demand")

    ann = _mentee(svc, "Ann", "+447700900101")
    ben = _mentee(svc, "Ben", "+447700900102", status="paused")
    cat = _mentee(svc, "Cat", "+447700900103", plan_version=1)
    eve = _mentee(svc, "Eve", "+447700900105")
    fay = _mentee(svc, "Fay", "+447700900106", quiet=("09:00", "11:00"))
    gus = _mentee(svc, "Gus", "+447700900107")
    rows = {
        "ann": _due(svc, ann, DUE),
        "ben": _due(svc, ben, DUE),
        "cat_stale": _due(svc, cat, DUE, plan_version=0),
        "cat_oneoff": _due(svc, cat, DUE, kind="oneoff", plan_version=0),
        "dev": _due(svc, dev, DUE),
        "eve": _due(svc, eve, DUE - timedelta(hours=3, minutes=1)),  # down past the late window
        "fay": _due(svc, fay, DUE),
        "gus": _due(svc, gus, DUE),
        "gus_oneoff": _due(svc, gus, DUE + timedelta(seconds=10), kind="oneoff"),
        "hal": _due(svc, hal, DUE),
    }
    clock.set(NOW)
    with caplog.at_level(logging.ERROR, logger="checkins.ticker"):
        assert tick(svc) == len(rows) + 1  # and Hal's expiry
    assert caplog.text == ""  # handed over as a batch, not after a failed one

    got = {name: (_row(svc, rid).status, _row(svc, rid).note) for name, rid in rows.items()}
    assert got == {
        "ann": ("done", None),
        "ben": ("cancelled", "mentee not active"),
        "cat_stale": ("cancelled", "plan changed"),
        "cat_oneoff": ("done", None),  # a one-off outlives a plan change
        "dev": ("skipped", "a check-in was already in progress"),
        "eve": ("missed", "not sent: service was unavailable when it was due"),
        "fay": ("pending", None),
        "gus": ("done", None),
        "gus_oneoff": ("skipped", "a check-in was already in progress"),  # the first one started
        "hal": ("done", None),
    }
    assert _row(svc, rows["fay"]).due_at == datetime(2026, 3, 9, 11, tzinfo=UTC)  # her window opens
    assert {_row(svc, rid).claimed_by for rid in rows.values()} == {"batch-worker"}

    for mentee_id in (ben, eve, fay):
        assert _conversations(svc, mentee_id) == []
    assert len(_conversations(svc, dev)) == 1  # not interrupted
    old, new = _conversations(svc, hal)
    assert old.outcome == "missed" and old.finished_at == NOW  # expired first, then today's went
    started = {ann: "checkin", cat: "oneoff", gus: "checkin", hal: "checkin"}
    for mentee_id, trigger in started.items():
        conversation = _conversations(svc, mentee_id)[-1]
        assert (conversation.trigger, conversation.outcome, conversation.started_at) == (trigger, "open", NOW)
        assert conversation.state == get_flow("weekly").start
        [first] = _first_questions(svc, conversation.id)
        assert OPENING in first.body and first.status == "pending" and first.segments == 1
        assert (first.channel, first.purpose, first.respect_quiet_hours) == ("console", "flow", True)
        assert first.not_after == DUE + timedelta(hours=3)  # a held first question has a deadline
        timers = _timers(svc, conversation.id)
        assert timers["reminder"].due_at == NOW + timedelta(hours=4)
        assert timers["expiry"].due_at == DUE + timedelta(hours=24)  # counted from when it was due
        assert {t.status for t in timers.values()} == {"pending"}
        assert {t.mentee_id for t in timers.values()} == {mentee_id}


def test_a_batch_that_fails_is_redone_one_check_in_at_a_time_and_none_is_lost(
        sched_services: ServicesFactory, caplog: pytest.LogCaptureFixture) -> None:
    """A stale timer holding the key the batch needs makes its insert fail; the savepoint is
    rolled back and every row goes the one-by-one way instead."""
    clock = ManualClock(DUE - timedelta(minutes=1))
    svc = sched_services(clock)
    svc.channels = {"console": StampedPhone(clock)}
    ids = [_mentee(svc, name, f"+44770090020{i}") for i, name in enumerate(("Ann", "Ben", "Cat"))]
    for mentee_id in ids:
        _due(svc, mentee_id, DUE)
    with svc.sessions() as s, s.begin():  # the first conversation id any database will issue
        s.add(DueEvent(kind="reminder", dedupe_key="reminder:1", due_at=DUE, status="cancelled",
                       created_at=DUE))
    clock.set(NOW)
    with caplog.at_level(logging.ERROR, logger="checkins.ticker"):
        assert tick(svc) == 3
    assert "handling them one by one" in caplog.text
    with svc.sessions() as s:
        statuses = s.scalars(select(DueEvent.status).where(DueEvent.kind == "checkin")).all()
        assert statuses == ["done"] * 3
    for mentee_id in ids:
        [conversation] = _conversations(svc, mentee_id)
        assert len(_first_questions(svc, conversation.id)) == 1
        assert "expiry" in _timers(svc, conversation.id)
