"""A small staffed world for application-layer tests, built through bot.app itself.

Two teams: Priya supervises Dan (mentor of Sam), Zoe supervises Omar (mentor of Lee). Dee is the
duty contact (a supervisor with no team, so only duty gives her sight of a mentee); Cora is the
coordinator. Real SQLite through the shared `services` fixture; the clock is a ManualClock.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from bot.app import loops, mentees, staff
from bot.app.actor import Actor
from bot.channels.base import InboundMessage
from bot.clock import ManualClock
from bot.config import Config
from bot.service.runtime import Services, build_services
from bot.storage.models import Alert, AuditEntry
from tests.conftest import RecordingPhone

SAM_PHONE = "+447700900123"
LEE_PHONE = "+447700900124"
CRISIS = "I'm going to kill myself tonight"
_ids = itertools.count(1)


@dataclass
class World:
    svc: Services
    clock: ManualClock
    operator: Actor
    priya: Actor
    dan: Actor
    zoe: Actor
    omar: Actor
    dee: Actor
    cora: Actor
    sam: int
    lee: int

    def text(self, phone: str, body: str) -> None:
        """The mentee texts in; the turn runs and the outbox is sent."""
        loops.receive(self.svc, InboundMessage("console", f"in-{next(_ids)}", phone, body))
        self.settle()

    def settle(self) -> None:
        for _ in range(20):
            if not (loops.handle_inbound(self.svc) + loops.tick(self.svc)
                    + asyncio.run(loops.send_pass(self.svc))):
                return

    def crisis(self, phone: str = SAM_PHONE) -> str:
        """An urgent crisis alert for the mentee with this phone; returns its code."""
        self.text(phone, CRISIS)
        with self.svc.sessions() as s:
            return s.scalars(select(Alert.code).order_by(Alert.id.desc())).first()  # type: ignore[return-value]

    def audited(self, action: str) -> list[AuditEntry]:
        with self.svc.sessions() as s:
            return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                  .order_by(AuditEntry.id)))


def _staff(svc: Services, operator: Actor, new: staff.NewStaff) -> Actor:
    added = staff.add(svc, operator, new)
    return Actor.staff(added.id, added.name)


@pytest.fixture
def world(services: Services, clock: ManualClock) -> World:
    return build_world(services, clock)


@pytest.fixture
def pg_world(pg_url: str, clock: ManualClock) -> Iterator[World]:
    """The same world on a fresh PostgreSQL schema (skips when PostgreSQL is not configured)."""
    svc = build_services(Config().with_database(pg_url), clock, channels={"console": RecordingPhone()})
    try:
        yield build_world(svc, clock)
    finally:
        svc.engine.dispose()


def build_world(services: Services, clock: ManualClock) -> World:
    """The two teams, the duty contact and the coordinator, on `services`' database."""
    op = Actor.operator("tester")
    priya = _staff(services, op, staff.NewStaff("Priya Shah", "supervisor", phone="+447700900002"))
    zoe = _staff(services, op, staff.NewStaff("Zoe King", "supervisor", phone="+447700900005"))
    dan = _staff(services, op, staff.NewStaff("Dan Carter", "mentor", phone="+447700900001",
                                              supervisor="Priya Shah"))
    omar = _staff(services, op, staff.NewStaff("Omar Hill", "mentor", phone="+447700900004",
                                               supervisor="Zoe King"))
    dee = _staff(services, op, staff.NewStaff("Dee Duty", "supervisor", phone="+447700900003",
                                              duty=True))
    cora = _staff(services, op, staff.NewStaff("Cora Lane", "coordinator", email="cora@example.org"))
    sam = mentees.add(services, op, mentees.NewMentee("Sam", "Dan Carter", last_name="Taylor",
                                                      phone=SAM_PHONE, plan="none")).mentee.id
    lee = mentees.add(services, op, mentees.NewMentee("Lee", "Omar Hill", last_name="Jones",
                                                      phone=LEE_PHONE, plan="none")).mentee.id
    return World(services, clock, op, priya, dan, zoe, omar, dee, cora, sam, lee)
