"""A real `checkins serve` subprocess against the fake providers, killed and restarted at will.

`ServiceProcess` runs the service from a config file pointed at a FakeTwilio and a FakeTelegram
on 127.0.0.1 (Telegram in webhook mode); `Driver` plays mentees and staff through real signed
webhooks, posting each one again, as the providers do, until it is answered 2xx. Waits are
bounded polling on conditions, never fixed sleeps.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.fakes.telegram_server import FakeTelegram, text_update
from tests.fakes.twilio_server import FakeTwilio, inbound_sms_form, twilio_signature
from tests.waiting import PATIENCE

PUBLIC = "https://checkins.example.org"
TELEGRAM_SECRET = "crash-test-secret-0123456789"
SUPERVISOR_PHONE = "+447700900002"
MENTOR_PHONE = "+447700900001"
MENTOR_CHAT = 9001
CRISIS = "Got a rope and im doing it tonight, ive had enough"
# A check-in round: what the mentee sends, and words of the reply each must bring.
ROUND = (
    ("CHECKIN", "How are you doing this week"),
    ("4", "How have you been sleeping"),
    ("4", "somewhere safe to stay tonight"),
    ("yes", "feel safe where you are living"),
    ("yes", "anything you want your mentor to know"),
    ("no", "that's it for this week"),
)
HELPLINE = "116 123"


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 2 * PATIENCE,
             interval: float = 0.1) -> None:
    """Poll `condition` until true. The bound is generous (a loaded machine starts the service
    slowly): it only stops a hung run. The interval keeps a dozen pollers from starving it."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def checkins_command() -> list[str]:
    script = Path(sys.executable).with_name("checkins")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]


@dataclass
class ServiceProcess:
    """`checkins serve` on its own port; `kill()` is SIGKILL, `start()` starts it again."""

    database_url: str
    twilio: FakeTwilio
    telegram: FakeTelegram
    workdir: Path
    service: dict[str, Any] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _up_since: float | None = None
    _up_before: float = 0.0

    def uptime(self) -> float:
        """Seconds the service has been up and answering, over all its lives. Waits on the
        service are bounded by this, not by the wall clock: a loaded machine that takes minutes
        to start it again must not fail the test."""
        up = self._up_since
        return self._up_before + (time.monotonic() - up if up is not None else 0.0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config_path(self) -> Path:
        service = {"database_url": self.database_url, "public_base_url": PUBLIC, "host": "127.0.0.1",
                   "port": self.port, "quiet_hours": "", "tick_seconds": 1, **self.service}
        lines = ["[service]", *(f"{k} = {json.dumps(v)}" for k, v in service.items()),
                 "[twilio]", "enabled = true", f'account_sid = "{self.twilio.account_sid}"',
                 f'from_number = "{self.twilio.from_number}"', f'api_base_url = "{self.twilio.url}"',
                 "messages_per_second = 200",
                 "[telegram]", "enabled = true", 'mode = "webhook"', f'api_base_url = "{self.telegram.url}"',
                 "[digest]", "enabled = false"]
        path = self.workdir / "crash.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def start(self) -> None:
        env = {**os.environ, "CHECKINS_TWILIO_AUTH_TOKEN": self.twilio.auth_token,
               "CHECKINS_TELEGRAM_TOKEN": self.telegram.token,
               "CHECKINS_TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET, "NO_PROXY": "127.0.0.1"}
        env.pop("CHECKINS_DATABASE_URL", None)
        log = open(self.workdir / "serve.log", "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen([*checkins_command(), "--config", str(self.config_path()), "serve"],
                                        env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.starts += 1
        wait_for(self.ready, "the service to accept webhooks", timeout=6 * PATIENCE, interval=0.25)
        self._up_since = time.monotonic()

    def ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            tail = (self.workdir / "serve.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"checkins serve exited with {self.process.returncode}:\n{tail}")
        try:
            return httpx.get(self.url + "/healthz", timeout=2, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        if self._up_since is not None:
            self._up_before += time.monotonic() - self._up_since
            self._up_since = None
        self.process.wait(timeout=30)

    def wait_for(self, condition: Callable[[], bool], what: str, uptime: float = PATIENCE,
                 interval: float = 0.1) -> None:
        """Poll `condition` until true, giving up only after `uptime` seconds of the service
        being up (generous: it only stops a hung run; every wall-clock deadline of the service
        itself, such as its longest wait between tries, is set well inside it by the test)."""
        limit = self.uptime() + uptime
        while not condition():
            if self.uptime() > limit:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(interval)

    def sends(self) -> int:
        """Messages the fake providers have taken so far."""
        return len(self.twilio.messages) + len(self.telegram.sent)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Driver:
    """Mentees and staff writing in through signed webhooks; reads what reached the fakes."""

    service: ServiceProcess
    accepted: set[str] = field(default_factory=set)  # provider ids answered 2xx
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counter: int = 0

    def _next(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def _post_until_answered(self, post: Callable[[], httpx.Response], provider_id: str) -> None:
        """Post again, as Twilio and Telegram do, until the service answers 2xx."""
        def answered() -> bool:
            try:
                ok = post().is_success
            except httpx.HTTPError:
                return False
            return ok

        self.service.wait_for(answered, f"webhook {provider_id} to be accepted", interval=0.25)
        with self._lock:
            self.accepted.add(provider_id)

    def sms(self, sender: str, text: str) -> None:
        sid = f"SM{self._next():032x}"
        form = inbound_sms_form(sender, text, message_sid=sid)
        url = self.service.url + "/twilio/sms"
        headers = {"X-Twilio-Signature": twilio_signature(self.service.twilio.auth_token,
                                                          PUBLIC + "/twilio/sms", form)}
        self._post_until_answered(
            lambda: httpx.post(url, data=form, headers=headers, timeout=10, trust_env=False), sid)

    def telegram(self, chat_id: int, text: str) -> None:
        update_id = 5_000_000 + self._next()
        body = text_update(update_id, chat_id, text)
        url = self.service.url + "/telegram/webhook"
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        self._post_until_answered(
            lambda: httpx.post(url, json=body, headers=headers, timeout=10, trust_env=False), str(update_id))

    # ---- what reached the providers ------------------------------------------------------------
    def sms_to(self, phone: str) -> list[str]:
        return [m["Body"] for m in list(self.service.twilio.messages) if m["To"] == phone]

    def telegrams_to(self, chat_id: int) -> list[str]:
        return [m["text"] for m in list(self.service.telegram.sent) if m["chat_id"] == chat_id]


@dataclass
class Mentee:
    name: str
    channel: str  # sms | telegram
    address: str  # phone, or chat id as text
    crisis: bool = False

    def write(self, driver: Driver, text: str) -> None:
        if self.channel == "sms":
            driver.sms(self.address, text)
        else:
            driver.telegram(int(self.address), text)

    def received(self, driver: Driver) -> list[str]:
        if self.channel == "sms":
            return driver.sms_to(self.address)
        return driver.telegrams_to(int(self.address))

    def count(self, driver: Driver, words: str) -> int:
        return sum(words in text for text in self.received(driver))


def play(driver: Driver, mentee: Mentee, keep_going: Callable[[], bool], on_alert: Callable[[Mentee], None],
         rounds_done: dict[str, int]) -> None:
    """Check-in rounds (each answer waits for its reply) while `keep_going()`, at least one; a
    crisis mentee writes the crisis text after the first round."""
    rounds = 0
    while rounds == 0 or keep_going():
        rounds += 1
        for text, reply in ROUND:
            mentee.write(driver, text)
            driver.service.wait_for(lambda: mentee.count(driver, reply) >= rounds,
                                    f"{mentee.name}: {reply!r} #{rounds}")
        if rounds == 1 and mentee.crisis:
            mentee.write(driver, CRISIS)
            driver.service.wait_for(lambda: mentee.count(driver, HELPLINE) >= 1, f"{mentee.name}: the helplines")
            on_alert(mentee)
        rounds_done[mentee.name] = rounds


ACK_CODE = re.compile(r"Reply ACK ([2-9A-Z]{4})")
