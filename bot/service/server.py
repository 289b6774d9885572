"""`checkins serve`: webhooks, the turn worker, the outbox sender, the ticker and cron jobs.

Every loop is one function per pass over committed rows (see turns, outbox, ticker); this module
only runs them. Several processes may run on one PostgreSQL database: claims use SKIP LOCKED and
the weekly digest is recorded once per supervisor, so no job needs a leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from starlette.applications import Starlette

from bot.app import loops
from bot.channels.base import Channel
from bot.clock import Clock
from bot.config import Config
from bot.flows import validate_all
from bot.service.runtime import Services, Wakeups, build_services
from bot.service.sink import DatabaseSink
from bot.storage.models import ServiceState
from bot.web import WebSettings, create_app
from escalation.detect import warm_up

log = logging.getLogger("checkins.server")


def build_channels(config: Config, clock: Clock, *, timeout: float = 10.0) -> dict[str, Channel]:
    """The channels the config enables (none at all is allowed: e.g. email-only staff).

    `timeout` bounds each provider API call, so a hung provider is a retry, not a stuck sender.
    """
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
                                               timeout=timeout, clock=clock)
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

    async def _loop(self, name: str, event: asyncio.Event, work: Any) -> None:
        while not self.stopping.is_set():
            # Clear before the pass, not after: a poke that lands while the pass runs (work
            # committed just after our query looked) must wake the next wait, not be lost to it.
            event.clear()
            try:
                did = await work()
            except Exception:
                log.exception("%s pass failed; retrying", name)
                did = 0
            if did:
                continue  # more may be waiting: go again at once
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=self.poll_interval)

    async def _inbound_pass(self) -> int:
        return await asyncio.to_thread(loops.handle_inbound, self.svc)

    async def _outbox_pass(self) -> int:
        return await loops.send_pass(self.svc)

    async def _tick(self) -> None:
        try:
            await asyncio.to_thread(loops.tick, self.svc)
        except Exception:
            log.exception("tick failed")

    async def _plan(self) -> None:
        await asyncio.to_thread(loops.plan, self.svc)

    async def _retention(self) -> None:
        await asyncio.to_thread(loops.retention, self.svc)

    async def _digest(self) -> None:
        await asyncio.to_thread(loops.weekly_digest, self.svc)

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
        await asyncio.to_thread(warm_up)
        await asyncio.to_thread(loops.plan, self.svc)
        self.scheduler = AsyncIOScheduler(timezone=cfg.service.timezone)
        self.scheduler.add_job(self._tick, "interval", seconds=cfg.service.tick_seconds,
                               id="tick", max_instances=1, coalesce=True)
        self.scheduler.add_job(self._plan, CronTrigger(hour=3, minute=17, timezone=cfg.service.timezone),
                               id="plan", coalesce=True, misfire_grace_time=3600)
        self.scheduler.add_job(self._retention, CronTrigger(hour=4, minute=7, timezone=cfg.service.timezone),
                               id="retention", coalesce=True, misfire_grace_time=6 * 3600)
        if cfg.digest.enabled:
            hh, mm = (int(x) for x in cfg.digest.time.split(":"))
            self.scheduler.add_job(
                self._digest, CronTrigger(day_of_week=cfg.digest.day, hour=hh, minute=mm,
                                          timezone=cfg.service.timezone),
                id="digest", coalesce=True, misfire_grace_time=6 * 3600)
        self.scheduler.start()
        self.tasks.append(asyncio.create_task(self._loop("inbound", wakeups.inbound, self._inbound_pass)))
        self.tasks.append(asyncio.create_task(self._loop("outbox", wakeups.outbox, self._outbox_pass)))
        telegram = self.svc.channels.get("telegram")
        if telegram is not None:
            await telegram.start()  # type: ignore[attr-defined]
            if cfg.telegram.mode == "polling":
                await telegram.delete_webhook()  # type: ignore[attr-defined]
                self.tasks.append(asyncio.create_task(self._poll_telegram()))
            else:
                await telegram.set_webhook(  # type: ignore[attr-defined]
                    f"{cfg.service.public_base_url.rstrip('/')}/telegram/webhook", cfg.telegram.secret_token)

    async def stop(self) -> None:
        self.stopping.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for channel in self.svc.channels.values():
            for name in ("stop", "close"):
                closer = getattr(channel, name, None)
                if closer is not None:
                    with contextlib.suppress(Exception):
                        await closer()
                    break


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
    return create_app(settings, DatabaseSink(svc), lifespan=lifespan, mounts=mounts), runner


def serve(config: Config, clock: Clock | None = None, *, role: str = "all") -> int:
    """Run until interrupted.

    role "all": webhooks and every loop in one process (the default, for one box).
    role "web": webhooks only; they store and answer, and `worker` processes do the rest.
    role "worker": the loops only (turns, sender, ticker, cron jobs, Telegram polling).
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    validate_all()
    warm_up()  # compile the risk rules before the first message, not during it
    svc = build_services(config, clock)
    svc.channels = build_channels(config, svc.clock)
    if not svc.channels:
        log.warning("no channel is enabled: nothing can be sent (see config.example.toml)")
    if role == "worker":
        asyncio.run(run_worker(svc))
        return 0
    app, _ = build_app(svc, run_loops=role == "all")
    uvicorn.run(app, host=config.service.host, port=config.service.port, log_level="info",
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
