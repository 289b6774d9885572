"""Run an ASGI app on uvicorn in a background thread, on 127.0.0.1 and a free port.

Shared by the fake provider servers and the webhook tests: start() returns once the server
accepts connections; stop() ends slow (scripted) responses at once instead of waiting them out.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp


class ThreadedServer:
    """uvicorn serving `app` from its own thread and event loop."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> "ThreadedServer":
        # Generous: the app's start-up (the risk model's warm-up) is slow on a busy machine, and
        # a bound on a condition costs nothing when the condition comes true early.
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets it knows are TCP, and
        # without it every response body waits ~40 ms for the client's delayed ACK (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="auto", timeout_graceful_shutdown=2,
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
            name=f"fake-server-{self.port}",
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:  # uvicorn offers no start callback
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> "ThreadedServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Fault:
    """A scripted answer instead of the normal one.

    `status`/`body`/`headers` replace the response; `delay` holds the response back first (a
    slow provider); a delay-only fault (status None) then answers normally.
    """

    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    """One request a fake server received, with its form fields parsed."""

    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]
    response_status: int


class FakeProviderServer:
    """Base for the fake provider APIs: a Starlette app, recording, scripted faults."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None
        self._runner: ThreadedServer | None = None
        self.app = Starlette(routes=self.routes(), lifespan=self._lifespan)

    def routes(self) -> list[Any]:
        raise NotImplementedError

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        self._closing = asyncio.Event()
        yield

    @property
    def url(self) -> str:
        assert self._runner is not None, "start() the fake first"
        return self._runner.url

    def start(self) -> Self:
        self._runner = ThreadedServer(self.app).start()
        return self

    def stop(self) -> None:
        if self._loop is not None and self._closing is not None:
            self._loop.call_soon_threadsafe(self._closing.set)
        if self._runner is not None:
            self._runner.stop()
            self._runner = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    async def _hold(self, seconds: float) -> None:
        """Wait `seconds`, or less if the server is stopping."""
        if seconds <= 0:
            return
        assert self._closing is not None
        try:
            await asyncio.wait_for(self._closing.wait(), timeout=seconds)
        except TimeoutError:
            pass

    def call_in_loop(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the server's loop (to wake waiters from the test thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(fn)
