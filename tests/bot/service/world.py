"""A small simulated world for scheduling tests: real services, a stamped phone, a manual clock.

`World.run_until` moves the clock from one stored wake-up to the next (due-event rows, held-back
outbox rows, the daily 03:17 planning job), exactly as `checkins serve` would meet them, and after
each step runs the inbound worker, the ticker and the outbox sender until nothing is left to do.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.channels.base import ChannelName, InboundMessage, OutboundText, SendReceipt
from bot.clock import ManualClock
from bot.service import admin
from bot.service.outbox import send_pass
from bot.service.runtime import Services
from bot.service.sink import DatabaseSink
from bot.service.ticker import plan_all, tick
from bot.service.turns import process_inbound
from bot.storage.models import DueEvent, Mentee, Message

LONDON = ZoneInfo("Europe/London")
MENTEE_PHONE = "+447700900123"
MENTOR_PHONE = "+447700900001"
SUPERVISOR_PHONE = "+447700900002"
OPENING = "it's your check-in"  # the first question of the weekly flow
REMINDER = "reminder"  # the engine's reminder prefix (checked case-insensitively)
_provider_ids = itertools.count(1)
ANSWERS = ("4", "4", "yes", "yes", "no")  # a full, risk-free weekly check-in


@dataclass(frozen=True)
class Sent:
    at: datetime
    address: str
    text: str

    @property
    def local(self) -> datetime:
        return self.at.astimezone(LONDON)


class StampedPhone:
    """The "console" channel: keeps every message it is handed, with the clock's time."""

    name: ChannelName = "console"

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.sent: list[Sent] = []

    async def send(self, message: OutboundText) -> SendReceipt:
        self.sent.append(Sent(self.clock.now(), message.address, message.text))
        # Provider ids are unique across phones: a restarted process gets a new phone object.
        return SendReceipt(provider_id=f"stamped-{next(_provider_ids)}", status="delivered")

    def to(self, address: str) -> list[Sent]:
        return [s for s in self.sent if s.address == address]


Responder = Callable[["World", Sent], str | None]


@dataclass
class World:
    svc: Services
    clock: ManualClock
    phone: StampedPhone
    inbound_count: int = 0
    next_plan_run: datetime | None = None
    seen: int = 0
    log: list[str] = field(default_factory=list)

    # ---- people ---------------------------------------------------------------------------------
    def add_people(self, plan: str = "mon,thu 10:00", *, release_date: str = "",
                   phone: str = MENTEE_PHONE) -> int:
        """A supervisor, a mentor and one mentee on `plan`; returns the mentee's id."""
        with self.svc.sessions() as s, s.begin():
            now = self.clock.now()
            if s.scalar(select(func.count()).select_from(Mentee)) == 0:
                admin.add_staff(s, now, name="Priya Shah", role="supervisor", phone=SUPERVISOR_PHONE,
                                channels="sms")
                admin.add_staff(s, now, name="Dan Carter", role="mentor", phone=MENTOR_PHONE,
                                channels="sms", supervisor="Priya Shah")
            mentee = admin.add_mentee(s, self.svc, now, first_name="Sam", last_name="Taylor",
                                      phone=phone, mentor="Dan Carter", plan=plan,
                                      release_date=release_date)
            return mentee.id

    def text_from(self, address: str, text: str) -> None:
        """A person texts the service; the message is stored as the webhook would store it."""
        self.inbound_count += 1
        DatabaseSink(self.svc).store_inbound_sync(InboundMessage(
            channel="console", provider_id=f"in-{self.inbound_count}-{id(self)}", address=address,
            text=text))

    # ---- moving the world -----------------------------------------------------------------------
    def settle(self) -> int:
        """Handle everything stored and due now; returns how much work was done."""
        total = 0
        for _ in range(200):
            worked = process_inbound(self.svc) + tick(self.svc)
            worked += asyncio.run(send_pass(self.svc))
            total += worked
            if not worked:
                return total
        raise AssertionError("the service never settled: something loops")

    def next_wakeup(self) -> datetime | None:
        """The earliest stored time at which something will happen."""
        with self.svc.sessions() as s:
            due = s.scalar(select(func.min(DueEvent.due_at)).where(DueEvent.status == "pending"))
            held = s.scalar(select(func.min(Message.next_attempt_at)).where(
                Message.direction == "out", Message.status == "pending"))
        times = [t for t in (due, held, self.next_plan_run) if t is not None]
        return min(times) if times else None

    def run_until(self, until: datetime, respond: Responder | None = None,
                  daily_plan: bool = True) -> None:
        """Advance event by event to `until`, planning daily at 03:17 London like the cron job.

        `respond` sees each message the moment it is sent and may return the reply text, which
        the mentee sends straight away.
        """
        if daily_plan and self.next_plan_run is None:
            self.next_plan_run = _next_plan_run(self.clock.now())
        self._deliver(respond)
        while True:
            wake = self.next_wakeup()
            if wake is None or wake > until:
                break
            self.clock.set(max(wake, self.clock.now()))
            if self.next_plan_run is not None and self.clock.now() >= self.next_plan_run:
                plan_all(self.svc)
                self.next_plan_run = _next_plan_run(self.clock.now())
            self._deliver(respond)
        self.clock.set(until)
        self._deliver(respond)

    def _deliver(self, respond: Responder | None) -> None:
        self.settle()
        while respond is not None and self.seen < len(self.phone.sent):
            message = self.phone.sent[self.seen]
            self.seen += 1
            reply = respond(self, message)
            if reply is not None:
                self.text_from(message.address, reply)
                self.settle()
        self.seen = len(self.phone.sent)


def _next_plan_run(after: datetime) -> datetime:
    """The next 03:17 London after `after` (the service's daily planning cron job)."""
    local = after.astimezone(LONDON)
    day = local.date()
    while True:
        candidate = datetime.combine(day, time(3, 17), tzinfo=LONDON)
        if candidate > local:
            return candidate.astimezone(ZoneInfo("UTC"))
        day += timedelta(days=1)


def london(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    """A London wall time as an aware datetime (first occurrence if repeated)."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=LONDON)


def weekdays_between(start: date, end: date, weekdays: set[int]) -> list[date]:
    """Every date in [start, end) whose weekday (Mon=0) is in `weekdays`."""
    days, day = [], start
    while day < end:
        if day.weekday() in weekdays:
            days.append(day)
        day += timedelta(days=1)
    return days


def answering(skip: Callable[[Sent], bool] = lambda s: False) -> Responder:
    """A mentee who answers every check-in question at once, except openings `skip` picks."""
    ignoring: set[str] = set()

    def respond(world: World, sent: Sent) -> str | None:
        if sent.address != MENTEE_PHONE:
            return None
        text = sent.text
        if OPENING in text and REMINDER not in text.lower():
            if skip(sent):
                ignoring.add(sent.at.isoformat())
                return None
            ignoring.clear()
            return ANSWERS[0]
        if ignoring:
            return None
        for prompt, answer in (("sleeping", ANSWERS[1]), ("somewhere safe", ANSWERS[2]),
                               ("feel safe where", ANSWERS[3]), ("anything you want", ANSWERS[4])):
            if prompt in text:
                return answer
        return None

    return respond


def seed_due_mentees(svc: Services, count: int, due: datetime, *, spread_seconds: int = 0) -> list[int]:
    """`count` mentees on SMS, each with one check-in row due at `due` (+ i % spread seconds).

    Bulk inserts (one executemany per table): this is set-up, not the path under test.
    """
    from sqlalchemy import insert

    from bot.storage.models import Staff

    with svc.sessions() as s, s.begin():
        now = svc.clock.now()
        mentor = admin.add_staff(s, now, name="Mentor Bulk", role="mentor",
                                 phone="+447700900800", channels="sms")  # Ofcom drama range (07700 800xxx is Jersey)
        s.execute(insert(Mentee), [
            {"first_name": f"M{i}", "last_name": "", "phone": f"+4477{i:08d}",
             "preferred_channel": "sms", "mentor_id": mentor.id, "timezone": "Europe/London",
             "status": "active", "sms_reachable": True, "telegram_reachable": True,
             "plan": "mon 10:00", "plan_version": 0, "missed_streak": 0, "created_at": now}
            for i in range(count)])
        ids = list(s.scalars(select(Mentee.id).where(Mentee.mentor_id == mentor.id).order_by(Mentee.id)))
        s.execute(insert(DueEvent), [
            {"kind": "checkin", "dedupe_key": f"bulk:{mid}",
             "due_at": due + timedelta(seconds=(i % spread_seconds) if spread_seconds else 0),
             "mentee_id": mid, "status": "pending", "plan_version": 0, "created_at": now}
            for i, mid in enumerate(ids)])
        del Staff
    return ids
