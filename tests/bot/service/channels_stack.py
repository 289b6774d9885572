"""The whole service on 127.0.0.1 for end-to-end channel tests.

`Stack` runs the real ASGI app (`build_app`) on uvicorn in a thread, with the real Twilio and
Telegram channels from `build_channels` pointed at FakeTwilio / FakeTelegram through config
(`[twilio] api_base_url`, `[telegram] api_base_url`), on a SQLite file and a ManualClock.

Two ways to drive it:
- `run_loops=True`: the service's own loops (turn worker, outbox sender, APScheduler tick,
  Telegram polling or setWebhook) run in the server; tests wait for what the fakes receive.
- `run_loops=False`: nothing runs by itself; `settle()` runs the turn worker, the ticker and the
  outbox sender pass by pass until idle, for tests where the order of events must be exact.
Either way webhooks are real HTTP requests, signed as Twilio signs them, and every send goes on
the server's event loop, as in `checkins serve`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.clock import ManualClock
from bot.config import Config, load_config
from bot.service import admin
from bot.service.outbox import send_pass
from bot.service.runtime import Services, build_services
from bot.service.server import build_app, build_channels
from bot.service.ticker import tick
from bot.service.turns import process_inbound
from bot.storage.models import Alert, Conversation, Mentee, Message
from tests.fakes.server import ThreadedServer
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.twilio_server import FakeTwilio, post_twilio_webhook
from tests.waiting import PATIENCE, wait_until

T = TypeVar("T")
LONDON = ZoneInfo("Europe/London")
PUBLIC = "https://checkins.example.org"  # what Twilio and Telegram call; the app is behind a proxy
SECRET = "tg_e2e-Secret_0123456789"
ORG = "Northside Mentoring"
MENTEE_PHONE = "+447700900123"
MENTEE_CHAT = 5550123
MENTOR_PHONE = "+447700900011"
SUPERVISOR_PHONE = "+447700900012"
STRANGER_PHONE = "+447700900999"
STRANGER_CHAT = 5550999
PLAN = "tue 11:00"  # TEST_START is Tuesday 10 March 2026, 10:30 London
ANSWERS = {"mood": "4", "sleep": "3", "safe_place": "yes", "safe_home": "yes", "anything_else": "no"}
PROMPTS = {  # a phrase from each question of the weekly flow, in order
    "mood": "it's your check-in",
    "sleep": "How have you been sleeping",
    "safe_place": "somewhere safe to stay tonight",
    "safe_home": "feel safe where you are living",
    "anything_else": "anything you want your mentor to know",
}
CLOSING = "that's it for this week"


def london(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LONDON)


def write_config(tmp_path: Path, db_url: str, twilio: FakeTwilio, telegram: FakeTelegram, *,
                 mode: str = "webhook", org: str = ORG, tick_seconds: float = 0.1,
                 messages_per_second: float = 10.0) -> Config:
    """config.toml as an operator writes it, secrets from the environment."""
    path = tmp_path / "config.toml"
    path.write_text(f"""
[service]
org_name = {json.dumps(org, ensure_ascii=False)}
database_url = "{db_url}"
public_base_url = "{PUBLIC}"
tick_seconds = {tick_seconds}

[twilio]
enabled = true
account_sid = "{twilio.account_sid}"
from_number = "{twilio.from_number}"
api_base_url = "{twilio.url}"
messages_per_second = {messages_per_second}
validity_seconds = 3600

[telegram]
enabled = true
api_base_url = "{telegram.url}"
mode = "{mode}"
bot_username = "checkins_fake_bot"

[digest]
enabled = false
""", encoding="utf-8")
    environ = {"CHECKINS_TWILIO_AUTH_TOKEN": twilio.auth_token,
               "CHECKINS_TELEGRAM_TOKEN": telegram.token,
               "CHECKINS_TELEGRAM_SECRET_TOKEN": SECRET}
    return load_config(path, environ)


class _LoopCapture:
    """ASGI wrapper that remembers the server's event loop (sends must run on it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            self.loop = asyncio.get_running_loop()
        await self.app(scope, receive, send)


class Stack:
    """The service with real channels against the fakes; see the module docstring."""

    def __init__(self, config: Config, clock: ManualClock, twilio: FakeTwilio,
                 telegram: FakeTelegram, *, run_loops: bool, provider_timeout: float = 10.0) -> None:
        self.config = config
        self.clock = clock
        self.twilio = twilio
        self.telegram = telegram
        self.run_loops = run_loops
        self.svc: Services = build_services(config, clock)
        self.svc.channels = build_channels(config, clock, timeout=provider_timeout)
        app, self.runner = build_app(self.svc, run_loops=run_loops)
        self._app = _LoopCapture(app)
        self.server = ThreadedServer(self._app).start()
        self._lock = threading.Lock()

    def close(self) -> None:
        self.server.stop()
        self.svc.engine.dispose()

    # ---- people ---------------------------------------------------------------------------------
    def add_people(self, *, phone: str | None = MENTEE_PHONE, preferred: str = "sms",
                   plan: str = PLAN, mentor_channels: str = "sms") -> int:
        """A supervisor, a mentor (alerts by SMS) and the mentee Sam Taylor; returns Sam's id."""
        with self.svc.sessions() as s, s.begin():
            now = self.clock.now()
            admin.add_staff(s, now, name="Priya Shah", role="supervisor", phone=SUPERVISOR_PHONE,
                            channels="sms")
            admin.add_staff(s, now, name="Dan Carter", role="mentor", phone=MENTOR_PHONE,
                            channels=mentor_channels, supervisor="Priya Shah")
            mentee = admin.add_mentee(s, self.svc, now, first_name="Sam", last_name="Taylor",
                                      phone=phone or "", mentor="Dan Carter", plan=plan,
                                      preferred_channel=preferred)
            return mentee.id

    def link_code(self, mentee_id: int) -> str:
        """What `checkins mentee link` stores and prints."""
        with self.svc.sessions() as s, s.begin():
            mentee = s.get(Mentee, mentee_id)
            assert mentee is not None
            return admin.new_link_code(s, mentee, self.clock.now())

    def mentee(self, mentee_id: int) -> Mentee:
        with self.svc.sessions() as s:
            mentee = s.get(Mentee, mentee_id)
            assert mentee is not None
            s.expunge(mentee)
            return mentee

    # ---- inbound, as the providers send it -------------------------------------------------------
    def sms(self, body: str, *, sender: str = MENTEE_PHONE, sid: str | None = None,
            signature: str | None = "sign", path: str = "/twilio/sms") -> httpx.Response:
        """An inbound SMS webhook, signed as Twilio signs the public URL it called."""
        from tests.fakes.twilio_server import inbound_sms_form

        form = inbound_sms_form(sender, body, message_sid=sid or new_sid())
        return self.twilio_post(form, path=path, signature=signature)

    def twilio_post(self, form: dict[str, str], *, path: str,
                    signature: str | None = "sign") -> httpx.Response:
        return post_twilio_webhook(self.server.url + path, form, self.twilio.auth_token,
                                   public_url=PUBLIC + path, signature=signature)

    def status(self, sid: str, status: str, error_code: int | None = None) -> httpx.Response:
        """Twilio's status callback for one of our messages, to the URL we asked for."""
        form = self.twilio.status_callback_form(sid, status, error_code)
        return self.twilio_post(form, path="/twilio/status")

    def telegram_post(self, update: dict[str, Any] | bytes,
                      secret: str | None = SECRET) -> httpx.Response:
        """What Telegram POSTs to the webhook (with the secret it was given in setWebhook)."""
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        return httpx.post(self.server.url + "/telegram/webhook", content=body, headers=headers,
                          trust_env=False, timeout=PATIENCE)

    # ---- driving --------------------------------------------------------------------------------
    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coro` on the server's event loop (where the channels' connections live); the
        bound (default PATIENCE) only stops a hung test."""
        assert self._app.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._app.loop).result(
            PATIENCE if timeout is None else timeout)

    def settle(self) -> int:
        """Pass by pass: handle stored inbound, due events and the outbox until nothing is left."""
        assert not self.run_loops, "settle() is for run_loops=False; wait_for() otherwise"
        total = 0
        for _ in range(100):
            worked = process_inbound(self.svc) + tick(self.svc) + self.run(send_pass(self.svc))
            total += worked
            if not worked:
                return total
        raise AssertionError("the service never settled")

    def wait_for(self, what: Callable[[], T], timeout: float | None = None) -> T:
        """Wait (real time) until `what()` is truthy, for run_loops=True; returns its value. The
        bound (default PATIENCE, see tests.waiting) only stops a hung test."""
        return wait_until(what, timeout=timeout)

    def wait_for_texts(self, number: str, count: int) -> list[str]:
        """Wait until Twilio has taken `count` SMS for `number`; returns them all."""
        self.wait_for(lambda: len(self.texts_to(number)) >= count)
        return self.texts_to(number)

    def wait_for_telegrams(self, chat: int, count: int) -> list[dict[str, Any]]:
        """Wait until Telegram has taken `count` messages for `chat`; returns them all."""
        self.wait_for(lambda: len(self.telegrams_to(chat)) >= count)
        return self.telegrams_to(chat)

    # ---- observing ------------------------------------------------------------------------------
    def texts_to(self, number: str) -> list[str]:
        """Bodies of every SMS Twilio accepted for `number`, in order."""
        return [m["Body"] for m in list(self.twilio.messages) if m["To"] == number]

    def telegrams_to(self, chat: int) -> list[dict[str, Any]]:
        """Every sendMessage Telegram accepted for `chat`, in order."""
        return [m for m in list(self.telegram.sent) if m["chat_id"] == chat]

    def messages(self, **where: Any) -> list[Message]:
        # Address and body are encrypted at rest: those are compared here, not in SQL.
        in_python = {k: where.pop(k) for k in ("address", "body") if k in where}
        with self.svc.sessions() as s:
            stmt = select(Message).filter_by(**where).order_by(Message.id)
            rows = [m for m in s.scalars(stmt).all()
                    if all(getattr(m, k) == v for k, v in in_python.items())]
            s.expunge_all()
            return rows

    def count(self, model: type) -> int:
        with self.svc.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

    def conversations(self, mentee_id: int) -> list[Conversation]:
        with self.svc.sessions() as s:
            rows = list(s.scalars(select(Conversation).where(Conversation.mentee_id == mentee_id)
                                  .order_by(Conversation.id)).all())
            s.expunge_all()
            return rows

    def alerts(self, mentee_id: int) -> list[Alert]:
        with self.svc.sessions() as s:
            rows = list(s.scalars(select(Alert).where(Alert.mentee_id == mentee_id)
                                  .order_by(Alert.id)).all())
            s.expunge_all()
            return rows


def new_sid() -> str:
    """A fresh Twilio message SID (SM + 32 hex)."""
    return "SM" + uuid.uuid4().hex


def prompt_of(text: str) -> str | None:
    """Which weekly question `text` asks, if any."""
    for key, phrase in PROMPTS.items():
        if phrase.lower() in text.lower():
            return key
    return None


StackFactory = Callable[..., Stack]


@pytest.fixture
def make_stack(tmp_path: Path, db_url: str, clock: ManualClock, fake_twilio: FakeTwilio,
               fake_telegram: FakeTelegram) -> Iterator[StackFactory]:
    """Build a Stack: make_stack(run_loops=..., mode="webhook"|"polling", org=..., ...)."""
    stacks: list[Stack] = []

    def factory(*, run_loops: bool = False, mode: str = "webhook", org: str = ORG,
                provider_timeout: float = 10.0, messages_per_second: float = 10.0) -> Stack:
        config = write_config(tmp_path, db_url, fake_twilio, fake_telegram, mode=mode, org=org,
                              messages_per_second=messages_per_second)
        stack = Stack(config, clock, fake_twilio, fake_telegram, run_loops=run_loops,
                      provider_timeout=provider_timeout)
        stacks.append(stack)
        return stack

    yield factory
    for stack in stacks:
        stack.close()
