"""`checkins serve`: webhooks, the turn worker, the outbox sender, the ticker and cron jobs.

Every loop is one function per pass over committed rows (see turns, outbox, ticker); this module
only runs them. Several processes may run on one PostgreSQL database: turns, due events and the
outbox are claimed with SKIP LOCKED (one sender's messages in order, see MessageRepo.next_inbound),
and the daily and weekly jobs run once under an advisory lock (see once).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from starlette.applications import Starlette

from bot.app import loops
from bot.channels.base import Channel, SendError
from bot.clock import Clock
from bot.config import Config
from bot.flows import validate_all
from bot.service import once, ticker
from bot.service.runtime import Services, Wakeups, build_services
from bot.service.sink import DatabaseSink
from bot.storage.db import is_lock_error
from bot.storage.models import ServiceState
from bot.web import WebSettings, create_app
from escalation.detect import is_warm, warm_up

log = logging.getLogger("checkins.server")

# On SIGTERM each loop gets this long to finish its pass before it is cancelled.
SHUTDOWN_GRACE_SECONDS = 10.0


def build_channels(config: Config, clock: Clock, *, timeout: float | None = None) -> dict[str, Channel]:
    """The channels the config enables (none at all is allowed: e.g. email-only staff).

    `timeout` (default `[service] send_timeout_seconds`) bounds each provider API call, so a
    hung provider is a retry, not a stuck sender.
    """
    timeout = timeout or config.service.send_timeout_seconds
    channels: dict[str, Channel] = {}
    if config.twilio.enabled:
        from bot.channels.twilio_sms import TwilioSmsChannel

        t = config.twilio
        channels["sms"] = TwilioSmsChannel(
            t.account_sid, t.auth_token, from_number=t.from_number or None,
            messaging_service_sid=t.messaging_service_sid or None, api_base_url=t.api_base_url,
            status_callback_url=f"{config.service.public_base_url.rstrip('/')}/twilio/status",
            validity_seconds=t.validity_seconds, messages_per_second=t.messages_per_second,
            timeout=timeout, clock=clock,
        )
    if config.telegram.enabled:
        from bot.channels.telegram import TelegramChannel

        channels["telegram"] = TelegramChannel(config.telegram.token,
                                               api_base_url=config.telegram.api_base_url,
                                               timeout=timeout, clock=clock,
                                               connections=config.service.send_concurrency)
    if config.email.enabled:
        from bot.channels.email import EmailChannel
        from escalation.notify_email import EmailNotifier, SmtpSettings

        e = config.email
        channels["email"] = EmailChannel(EmailNotifier(SmtpSettings(
            host=e.host, port=e.port, sender=e.from_address, starttls=e.starttls,
            username=e.username or None, password=e.password or None, timeout=e.timeout_seconds)))
    return channels


@dataclass
class Runner:
    """The service's background loops, started in the ASGI lifespan."""

    svc: Services
    poll_interval: float = 1.0
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    scheduler: AsyncIOScheduler | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    planned: asyncio.Event = field(default_factory=asyncio.Event)  # start-up planning finished
    # When each loop last finished a pass (time.monotonic()); /readyz reports a stale one.
    beats: dict[str, float] = field(default_factory=dict)
    _turn_threads: ThreadPoolExecutor | None = None

    async def _loop(self, name: str, event: asyncio.Event, work: Any) -> None:
        while not self.stopping.is_set():
            # Clear before the pass, not after: a poke that lands while the pass runs (work
            # committed just after our query looked) must wake the next wait, not be lost to it.
            event.clear()
            try:
                did = await work()
                self.beats[name] = time.monotonic()
            except Exception as exc:
                _log_failure(f"{name} pass", exc)
                did = 0
            if did:
                continue  # more may be waiting: go again at once
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=self.poll_interval)

    def turn_workers(self) -> int:
        """How many turn workers run side by side: `[service] turn_workers` on PostgreSQL, one
        on SQLite (one writer at a time: a second would only wait for the first)."""
        if self.svc.engine.dialect.name == "sqlite":
            return 1
        return self.svc.config.service.turn_workers

    async def _inbound_pass(self, worker: int | None = None) -> int:
        # Their own threads: turns never wait for a thread the webhook's writes or the
        # sender's receipts hold, nor hold those up (the default pool has cores + 4).
        return await asyncio.get_running_loop().run_in_executor(
            self._turn_threads, functools.partial(loops.handle_inbound, self.svc, worker=worker))

    async def _outbox_pass(self) -> int:
        return await loops.send_pass(self.svc)

    async def _urgent_pass(self) -> int:
        return await loops.send_pass(self.svc, urgent_only=True)

    async def _tick(self) -> None:
        try:
            await asyncio.to_thread(loops.tick, self.svc)
            self.beats["ticker"] = time.monotonic()
        except asyncio.CancelledError:  # shutting down: the tick's own thread still commits
            return
        except Exception as exc:
            _log_failure("tick", exc)

    async def _plan(self) -> None:
        """Top up planned check-ins a batch per short transaction, between which webhooks,
        turns and sends carry on (start-up never waits for this)."""
        after = 0
        while not self.stopping.is_set():
            _, last = await asyncio.to_thread(ticker.plan_batch, self.svc, after)
            if last is None:
                break
            after = last
        self.planned.set()

    async def _plan_in_background(self) -> None:
        try:
            await self._plan()
        except Exception as exc:
            _log_failure("planning check-ins at start-up (the daily run will try again)", exc)

    async def _once_jobs(self) -> None:
        """The daily planner, retention and the weekly digest: each slot run by one process."""
        jobs = once.service_jobs(self.svc)
        while not self.stopping.is_set():
            try:
                await asyncio.to_thread(once.run_due, self.svc, jobs)
                self.beats["jobs"] = time.monotonic()
            except Exception as exc:
                _log_failure("once-only jobs pass", exc)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=once.POLL_SECONDS)

    async def _poll_telegram(self) -> None:
        channel = self.svc.channels["telegram"]
        sink = DatabaseSink(self.svc)
        offset = await asyncio.to_thread(_load_offset, self.svc)
        while not self.stopping.is_set():
            try:
                messages, offset = await channel.poll_once(offset, timeout=20)  # type: ignore[attr-defined]
                for message in messages:
                    await sink.store_inbound(message)  # also answers button presses
                await asyncio.to_thread(_save_offset, self.svc, offset)
            except Exception as exc:
                log.warning("Telegram polling: %s", exc)
                await asyncio.sleep(getattr(exc, "retry_after", None) or 5)

    async def start(self) -> None:
        wakeups = self.svc.wakeups = Wakeups(loop=asyncio.get_running_loop())
        cfg = self.svc.config
        started = time.monotonic()
        self.beats.update({"inbound": started, "outbox": started, "urgent outbox": started,
                           "ticker": started, "jobs": started})
        self.scheduler = AsyncIOScheduler(timezone=cfg.service.timezone)
        self.scheduler.add_job(self._tick, "interval", seconds=cfg.service.tick_seconds,
                               id="tick", max_instances=1, coalesce=True)
        self.scheduler.start()
        workers = self.turn_workers()
        self._turn_threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="turns")
        for n in range(workers):
            # Each its own share of a burst; per-person order holds between them as between
            # processes (MessageRepo.claim_inbound, the mentee's row lock).
            name = "inbound" if n == 0 else f"inbound {n + 1}"
            self.beats[name] = started
            self.tasks.append(asyncio.create_task(
                self._loop(name, wakeups.inbound if n == 0 else wakeups.inbound_help,
                           functools.partial(self._inbound_pass, n if workers > 1 else None)),
                name=name))
        self.tasks.append(asyncio.create_task(self._loop("outbox", wakeups.outbox, self._outbox_pass),
                                              name="outbox"))
        # Alerts and helpline replies never wait for a batch of ordinary messages to finish.
        self.tasks.append(asyncio.create_task(
            self._loop("urgent outbox", wakeups.urgent_outbox, self._urgent_pass), name="urgent outbox"))
        # Neither waits before the port opens: a webhook is stored whatever else is going on.
        self.tasks.append(asyncio.create_task(asyncio.to_thread(warm_up)))
        self.tasks.append(asyncio.create_task(self._plan_in_background()))
        self.tasks.append(asyncio.create_task(self._once_jobs()))
        if self.svc.channels.get("telegram") is not None:
            # In the background: Telegram slow or down at start-up must not keep SMS (a crisis
            # text included) from being taken in; the outbox retries Telegram sends meanwhile.
            self.tasks.append(asyncio.create_task(self._start_telegram()))

    async def _start_telegram(self, pauses: tuple[float, ...] = (1, 2, 5, 10, 30)) -> None:
        cfg = self.svc.config
        telegram = self.svc.channels["telegram"]
        for attempt in itertools.count():
            try:
                await telegram.start()  # type: ignore[attr-defined]
                if cfg.telegram.mode == "polling":
                    await telegram.delete_webhook()  # type: ignore[attr-defined]
                else:
                    await telegram.set_webhook(  # type: ignore[attr-defined]
                        f"{cfg.service.public_base_url.rstrip('/')}/telegram/webhook", cfg.telegram.secret_token)
                break
            except Exception as exc:
                pause = pauses[min(attempt, len(pauses) - 1)]
                # Our own errors carry the Bot API's words; anything else only its type (an
                # HTTP library's message may hold the URL, and the URL holds the bot token).
                why = str(exc) if isinstance(exc, SendError) else type(exc).__name__
                log.warning("Telegram could not be set up (%s); trying again in %gs", why, pause)
                await asyncio.sleep(pause)
        if cfg.telegram.mode == "polling":
            await self._poll_telegram()

    async def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Let each loop finish the pass it is in (a send batch is sent and recorded, not left
        'sending' for its lease to run out), then stop; after `grace` seconds the stragglers
        are cancelled. Row claims held in open transactions are released by their rollback."""
        self.stopping.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.svc.wakeups is not None:  # wake the loops waiting for work, so they see stopping
            self.svc.wakeups.inbound.set()
            self.svc.wakeups.inbound_help.set()
            self.svc.wakeups.outbox.set()
        for task in self.tasks:
            if task.get_name() == "telegram-polling":
                task.cancel()  # a long poll: the offset is saved after each stored batch
        if self.tasks:
            _, late = await asyncio.wait(self.tasks, timeout=grace)
            for task in late:
                log.warning("a loop did not finish within %.0f s of shutdown; cancelling it", grace)
                task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._turn_threads is not None:
            self._turn_threads.shutdown(wait=False)  # a pass still running ends with its commit
        for channel in self.svc.channels.values():
            for name in ("stop", "close"):
                closer = getattr(channel, name, None)
                if closer is not None:
                    with contextlib.suppress(Exception):
                        await closer()
                    break


def _log_failure(what: str, exc: Exception) -> None:
    """A busy database is expected under load: one line, and the loop carries on. Anything
    else is a bug worth its traceback."""
    if is_lock_error(exc):
        log.warning("%s: the database stayed busy; trying again on the next pass", what)
    else:
        log.exception("%s failed; trying again on the next pass", what)


def _load_offset(svc: Services) -> int:
    with svc.sessions() as s:
        row = s.get(ServiceState, "telegram_offset")
        return int(row.value) if row and row.value else 0


def _save_offset(svc: Services, offset: int) -> None:
    with svc.sessions() as s, s.begin():
        row = s.get(ServiceState, "telegram_offset")
        if row is None:
            s.add(ServiceState(key="telegram_offset", value=str(offset)))
        else:
            row.value = str(offset)


def build_app(svc: Services, *, run_loops: bool = True) -> tuple[Starlette, Runner]:
    """The ASGI app with the service's loops in its lifespan."""
    runner = Runner(svc)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if run_loops:
            await runner.start()
        else:
            svc.wakeups = Wakeups(loop=asyncio.get_running_loop())
        try:
            yield
        finally:
            await runner.stop()

    async def readiness() -> tuple[bool, dict[str, str]]:
        database = await asyncio.to_thread(_database_check, svc)
        stale_after = max(LOOP_STALE_SECONDS, 3 * svc.config.service.tick_seconds)
        if not run_loops:  # a web-only process stores webhooks: the database is all it needs
            return readiness_report(database, {}, time.monotonic(), stale_after)
        return readiness_report(database, runner.beats, time.monotonic(), stale_after,
                                {"risk rules": "ok" if is_warm() else "loading"})

    cfg = svc.config
    settings = WebSettings(
        public_base_url=cfg.service.public_base_url,
        twilio_auth_token=cfg.twilio.auth_token if cfg.twilio.enabled else None,
        telegram_secret_token=cfg.telegram.secret_token
        if cfg.telegram.enabled and cfg.telegram.mode == "webhook" else None,
    )
    mounts = []
    if cfg.staff.enabled:
        from starlette.routing import Mount

        from bot.staff import create_staff_app

        mounts.append(Mount("/staff", app=create_staff_app(svc)))
    return create_app(settings, DatabaseSink(svc), lifespan=lifespan, readiness=readiness,
                      mounts=mounts), runner


# A loop that has not finished a pass for this long (or three ticks, if longer) is stuck or
# failing on every pass: /readyz says so.
LOOP_STALE_SECONDS = 60.0


def _database_check(svc: Services) -> str:
    try:
        with svc.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # the reason's class only: a URL in the message may hold a password
        return f"unreachable ({type(exc).__name__})"


def readiness_report(database: str, beats: dict[str, float], now: float, stale_after: float,
                     other: dict[str, str] | None = None) -> tuple[bool, dict[str, str]]:
    """Whether the process is ready, and each check's "ok" or what is wrong (pure). Webhooks
    are stored whatever this says; it tells a load balancer or a monitor when turns will run."""
    checks = {"database": database, **(other or {})}
    for name, at in sorted(beats.items()):
        ago = now - at
        checks[name] = "ok" if ago <= stale_after else f"no pass for {ago:.0f} s"
    return all(v == "ok" for v in checks.values()), checks


def serve(config: Config, clock: Clock | None = None, *, role: str = "all") -> int:
    """Run until interrupted.

    role "all": webhooks and every loop in one process (the default, for one box).
    role "web": webhooks only; they store and answer, and `worker` processes do the rest.
    role "worker": the loops only (turns, sender, ticker, cron jobs, Telegram polling).
    """
    from bot.logs import configure

    configure(config)
    validate_all()
    # Compile the risk rules before the first turn needs them, without holding the port shut.
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    svc = build_services(config, clock)
    from bot.service.flows import library

    library(svc)  # every flow file is checked now: a bad one stops start-up with FILE:LINE
    svc.channels = build_channels(config, svc.clock)
    if not svc.channels:
        log.warning("no channel is enabled: nothing can be sent (see config.example.toml)")
    if role == "worker":
        asyncio.run(run_worker(svc))
        return 0
    app, _ = build_app(svc, run_loops=role == "all")
    # log_config=None: uvicorn's own loggers go through our redacting handler (bot.logs).
    uvicorn.run(app, host=config.service.host, port=config.service.port, log_config=None,
                proxy_headers=True)
    return 0


# A worker process hears of new rows only by looking: with no webhook in the same process to
# nudge it, it looks often (an indexed query on an idle table costs well under a millisecond).
WORKER_POLL_SECONDS = 0.1


async def run_worker(svc: Services, stop: asyncio.Event | None = None) -> None:
    """The loops without the web app, until `stop` is set (or SIGINT/SIGTERM)."""
    import signal

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    runner = Runner(svc, poll_interval=WORKER_POLL_SECONDS)
    await runner.start()
    try:
        await stop.wait()
    finally:
        await runner.stop()
