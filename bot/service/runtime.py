"""The services container: everything a loop or handler needs, built once from config."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import Channel
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.storage.db import is_lock_error, make_engine, make_session_factory, migrate

log = logging.getLogger("checkins")
T = TypeVar("T")

# A unit of work that found the database locked (after the busy timeout) runs again after
# these pauses, then its caller sees the error (a loop logs one line and carries on).
LOCK_RETRY_PAUSES = (0.05, 0.25, 1.0)


@dataclass
class Wakeups:
    """In-process nudges so a stored inbound message is handled at once, not at the next tick.

    The rows in the database stay the source of truth: a worker that misses a nudge still finds
    the work on its next pass. The passes run in worker threads (`asyncio.to_thread`), and an
    asyncio.Event set from another thread neither wakes its loop nor is safe, so a poke from
    another thread is handed to `loop`, the loop that owns the events.
    """

    inbound: asyncio.Event = field(default_factory=asyncio.Event)
    outbox: asyncio.Event = field(default_factory=asyncio.Event)
    urgent_outbox: asyncio.Event = field(default_factory=asyncio.Event)  # the senders' urgent lane
    # The second and later turn workers: woken only when a pass left work it had claimed (a
    # backlog), not by every webhook, so an idle process runs one claim per poke, not several.
    inbound_help: asyncio.Event = field(default_factory=asyncio.Event)
    loop: asyncio.AbstractEventLoop | None = None

    def _set(self, event: asyncio.Event) -> None:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self.loop is None or running is self.loop:
            event.set()
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(event.set)

    def poke_inbound(self) -> None:
        self._set(self.inbound)

    def ask_inbound_help(self) -> None:
        self._set(self.inbound_help)

    def poke_outbox(self) -> None:
        self._set(self.outbox)
        self._set(self.urgent_outbox)


@dataclass
class Services:
    config: Config
    clock: Clock
    engine: Engine
    sessions: sessionmaker[Session]
    channels: dict[str, Channel] = field(default_factory=dict)
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    wakeups: Wakeups | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    # How a retry waits (injected: tests pass one that records, or that frees the lock).
    sleep: Callable[[float], None] = time.sleep

    def retrying(self, work: Callable[[], T], what: str) -> T:
        """Run `work` (a whole unit of work: its own transaction) and, if the database was
        locked, run it again after a pause, a bounded number of times."""
        for pause in LOCK_RETRY_PAUSES:
            try:
                return work()
            except Exception as exc:
                if not is_lock_error(exc):
                    raise
                log.warning("%s: the database is busy; trying again in %gs", what, pause)
                self.sleep(pause)
        return work()

    def routes(self) -> set[str]:
        """Channels messages may be queued on: those running here and those the config enables.

        A CLI process runs no channels, yet a check-in it starts must be queued for `serve`.
        """
        cfg = self.config
        enabled = {name for name, on in (("sms", cfg.twilio.enabled), ("telegram", cfg.telegram.enabled),
                                         ("email", cfg.email.enabled)) if on}
        return set(self.channels) | enabled

    def poke_outbox(self) -> None:
        if self.wakeups:
            self.wakeups.poke_outbox()

    def poke_inbound(self) -> None:
        if self.wakeups:
            self.wakeups.poke_inbound()

    def ask_inbound_help(self) -> None:
        if self.wakeups:
            self.wakeups.ask_inbound_help()


def build_services(config: Config, clock: Clock | None = None, *, create_schema: bool = True,
                   channels: dict[str, Channel] | None = None) -> Services:
    """Connect to the database (migrating it if asked) with its encryption keys, and assemble
    the services. A key problem (none for PostgreSQL, a missing key file) is a ConfigError."""
    from bot.config import ConfigError
    from bot.keyring import keyring_for
    from bot.storage.sealed import attach, fill_missing_hashes

    try:
        keyring = keyring_for(config.security, config.service.database_url)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    engine = make_engine(config.service.database_url,
                         busy_timeout=config.service.sqlite_busy_timeout_seconds)
    attach(engine, keyring)
    if create_schema:
        migrate(engine)
        fill_missing_hashes(engine)
    return Services(
        config=config,
        clock=clock or SystemClock(),
        engine=engine,
        sessions=make_session_factory(engine),
        channels=dict(channels or {}),
    )
