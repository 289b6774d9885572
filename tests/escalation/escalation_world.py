"""A whole service on a test's own database, with every provider faked on 127.0.0.1.

The service is driven pass by pass, as the running service's loops drive it: webhook storage
(`DatabaseSink.store_inbound_sync`), `turns.process_inbound`, `ticker.tick` and
`outbox.send_pass`. Sends go through the real channels built by `server.build_channels`:
twilio's client to the fake Twilio API, python-telegram-bot to the fake Bot API, and SMTP to an
aiosmtpd server. Time is a ManualClock; nothing sleeps.

The channels hold HTTP connection pools bound to an event loop, so every send pass builds fresh
channels inside its own `asyncio.run` and closes them afterwards (the keys of `svc.channels`,
which routing looks at, never change).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from bot.channels.base import InboundMessage
from bot.clock import ManualClock
from bot.config import Config, EmailConfig, ServiceConfig, TelegramConfig, TwilioConfig
from bot.service import admin
from bot.service.outbox import send_pass
from bot.service.runtime import Services, build_services
from bot.service.server import build_channels
from bot.service.sink import DatabaseSink
from bot.service.ticker import tick
from bot.service.turns import process_inbound
from bot.storage.alerts import AlertRepo
from bot.storage.messages import MessageRepo
from bot.storage.models import Alert, AlertEvent, DueEvent, Mentee, Message, Staff
from bot.storage.people import MenteeRepo, StaffRepo
from bot.storage.schedule import DueEventRepo
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.twilio_server import FakeTwilio

MENTEE_PHONE = "+447700900201"
MENTOR_PHONE = "+447700900101"
SUPERVISOR_PHONE = "+447700900102"
DUTY_PHONE = "+447700900103"
OTHER_MENTOR_PHONE = "+447700900104"
STRANGER_PHONE = "+447700900999"
MENTOR_CHAT = 5001
SUPERVISOR_CHAT = 5002
DUTY_CHAT = 5003


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """An aiosmtpd handler that keeps every email it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope, parsed))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for env, m in self.messages if address in env.rcpt_tos]


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """aiosmtpd on 127.0.0.1 and a free port."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def service_config(db_url: str, twilio: FakeTwilio, telegram: FakeTelegram, smtp_port: int) -> Config:
    """The service's config with every provider pointed at a fake on loopback."""
    return Config(
        service=ServiceConfig(database_url=db_url, org_name="Bridges Mentoring"),
        twilio=TwilioConfig(enabled=True, account_sid=twilio.account_sid, auth_token=twilio.auth_token,
                            from_number=twilio.from_number, api_base_url=twilio.url,
                            messages_per_second=0.0),
        telegram=TelegramConfig(enabled=True, token=telegram.token, api_base_url=telegram.url),
        email=EmailConfig(enabled=True, host="127.0.0.1", port=smtp_port, starttls=False,
                          from_address="alerts@bridges.example", timeout_seconds=5.0),
    )


@dataclass
class People:
    mentee_id: int
    mentor_id: int
    supervisor_id: int
    duty_id: int
    other_mentor_id: int


@dataclass
class World:
    """The service and the fakes around it, with the moves a test makes."""

    config: Config
    clock: ManualClock
    twilio: FakeTwilio
    telegram: FakeTelegram
    inbox: Inbox
    svc: Services = field(init=False)
    people: People | None = None
    _built: list[Services] = field(default_factory=list)
    _inbound_counter: int = 0
    _telegram_offset: int = 0

    def __post_init__(self) -> None:
        self.svc = self._build()

    def _build(self) -> Services:
        svc = build_services(self.config, self.clock)
        svc.channels = build_channels(self.config, self.clock)
        self._built.append(svc)
        return svc

    def restart(self) -> Services:
        """A process restart: the old services are dropped, new ones open the same database."""
        self.svc.engine.dispose()
        self.svc = self._build()
        return self.svc

    def close(self) -> None:
        for svc in self._built:
            svc.engine.dispose()

    # ---- people ------------------------------------------------------------------------------
    def add_people(self, *, mentor_channels: str = "sms,telegram,email",
                   supervisor_channels: str = "telegram,email", duty_channels: str = "email",
                   mentee_quiet_hours: tuple[str, str] | None = None) -> People:
        """A mentee with a mentor, the mentor's supervisor, a duty contact and an unrelated mentor."""
        with self.svc.sessions() as s, s.begin():
            now = self.clock.now()
            sup = admin.add_staff(s, now, name="Sam Okafor", role="supervisor", phone=SUPERVISOR_PHONE,
                                  email="sam@bridges.example", telegram_chat_id=str(SUPERVISOR_CHAT),
                                  channels=supervisor_channels)
            mentor = admin.add_staff(s, now, name="Maya Patel", role="mentor", phone=MENTOR_PHONE,
                                     email="maya@bridges.example", telegram_chat_id=str(MENTOR_CHAT),
                                     channels=mentor_channels, supervisor="Sam Okafor")
            duty = admin.add_staff(s, now, name="Dee Duty", role="coordinator", phone=DUTY_PHONE,
                                   email="duty@bridges.example", telegram_chat_id=str(DUTY_CHAT),
                                   channels=duty_channels, duty=True)
            other = admin.add_staff(s, now, name="Omar Hill", role="mentor", phone=OTHER_MENTOR_PHONE,
                                    email="omar@bridges.example", channels="sms")
            mentee = admin.add_mentee(s, self.svc, now, first_name="Jo", last_name="Bloggs",
                                      phone=MENTEE_PHONE, mentor="Maya Patel")
            if mentee_quiet_hours:
                mentee.quiet_start, mentee.quiet_end = mentee_quiet_hours
            self.people = People(mentee.id, mentor.id, sup.id, duty.id, other.id)
        return self.people

    # ---- what people send us -----------------------------------------------------------------
    def sms_from(self, phone: str, text: str) -> None:
        """An inbound SMS stored as the webhook stores it."""
        self._inbound_counter += 1
        stored = DatabaseSink(self.svc).store_inbound_sync(InboundMessage(
            channel="sms", provider_id=f"SMin{self._inbound_counter:030d}", address=phone, text=text))
        assert stored

    def telegram_update(self, update: dict[str, Any]) -> None:
        """Telegram: the update is queued at the fake Bot API and fetched with getUpdates by the
        real client, then stored and its button press answered, as the polling loop does."""
        self.telegram.push_update(update)

        async def poll() -> None:
            channels = build_channels(self.config, self.clock)
            channel: Any = channels["telegram"]
            try:
                messages, self._telegram_offset = await channel.poll_once(self._telegram_offset)
                sink = DatabaseSink(self.svc)
                for message in messages:
                    await asyncio.to_thread(sink.store_inbound_sync, message)
                    if message.extra.get("callback_query_id"):
                        await channel.answer_button(message.extra["callback_query_id"])
            finally:
                await channel.stop()

        asyncio.run(poll())

    # ---- the service's passes ----------------------------------------------------------------
    def send(self) -> int:
        """Send everything due now through the real channels; returns how many sends."""

        async def go() -> int:
            self.svc.channels = build_channels(self.config, self.clock)
            total = 0
            try:
                while (n := await send_pass(self.svc)):
                    total += n
            finally:
                for channel in self.svc.channels.values():
                    closer = getattr(channel, "stop", None) or getattr(channel, "close", None)
                    if closer is not None:
                        await closer()
            return total

        return asyncio.run(go())

    def run(self) -> None:
        """Handle stored messages, due events and the outbox until nothing is left to do now."""
        for _ in range(20):
            worked = process_inbound(self.svc) + tick(self.svc) + self.send()
            if not worked:
                return
        raise AssertionError("the service never went idle")

    def at(self, when: datetime) -> None:
        """Move the clock to `when` and let every due timer fire."""
        self.clock.set(when)
        self.run()

    # ---- reading the record ------------------------------------------------------------------
    def alerts(self) -> list[Alert]:
        with self.svc.sessions() as s:
            return list(reversed(AlertRepo(s).list(include_closed=True)))

    def alert(self) -> Alert:
        found = self.alerts()
        assert len(found) == 1, f"expected one alert, found {[(a.code, a.category) for a in found]}"
        return found[0]

    def events(self, alert: Alert) -> list[AlertEvent]:
        with self.svc.sessions() as s:
            return list(AlertRepo(s).events(alert.id))

    def event_kinds(self, alert: Alert) -> list[str]:
        return [e.kind for e in self.events(alert)]

    def ladder_rows(self, alert: Alert) -> list[DueEvent]:
        with self.svc.sessions() as s:
            return [d for d in DueEventRepo(s).for_alert(alert.id) if d.kind == "ladder"]

    def mentee(self) -> Mentee:
        assert self.people is not None
        with self.svc.sessions() as s:
            found = MenteeRepo(s).get(self.people.mentee_id)
            assert found is not None
            return found

    def staff(self, staff_id: int) -> Staff:
        with self.svc.sessions() as s:
            found = StaffRepo(s).get(staff_id)
            assert found is not None
            return found

    def outbound(self) -> list[Message]:
        with self.svc.sessions() as s:
            return list(reversed(MessageRepo(s).recent_outbound(10_000)))

    # ---- what the providers were handed ------------------------------------------------------
    def sms_to(self, phone: str) -> list[str]:
        return [m["Body"] for m in self.twilio.messages if m.get("To") == phone]

    def telegram_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.telegram.sent if m.get("chat_id") == chat_id]

    def emails_to(self, address: str) -> list[EmailMessage]:
        return self.inbox.to(address)


@contextlib.contextmanager
def running_world(db_url: str, clock: ManualClock) -> Iterator[World]:
    """Fake Twilio, fake Telegram, aiosmtpd and the service on `db_url`."""
    with FakeTwilio() as twilio, FakeTelegram() as telegram, smtp_server() as (inbox, port):
        world = World(service_config(db_url, twilio, telegram, port), clock, twilio, telegram, inbox)
        try:
            yield world
        finally:
            world.close()
