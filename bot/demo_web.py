"""`checkins demo --web`: the staff app beside the terminal demo, on 127.0.0.1 only.

The demo's own services (its temporary database, simulated phones and clock) serve the real
staff app under /staff. Instead of a sign-in code, the terminal prints a one-off sign-in link
for the demo mentor: it works once, only on this server, and only while it is bound to a
loopback address (nobody else can reach it). Opening it starts an ordinary staff session.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
import threading
import time
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from bot.app import signin
from bot.service.runtime import Services
from bot.staff import create_staff_app
from bot.staff.pages import SESSION_COOKIE

HOST = "127.0.0.1"


class DemoSignIn:
    """One-off sign-in links for one staff member; each token works once."""

    def __init__(self, svc: Services, staff_id: int) -> None:
        self.svc = svc
        self.staff_id = staff_id
        self._tokens: set[str] = set()
        self._lock = threading.Lock()

    def new_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        return token

    def use(self, token: str) -> bool:
        with self._lock:
            for known in list(self._tokens):
                if hmac.compare_digest(known, token):
                    self._tokens.discard(known)
                    return True
        return False

    def endpoint(self, request: Request) -> Response:
        if not self.use(str(request.path_params["token"])):
            return PlainTextResponse("This demo sign-in link has been used or is not one of ours. "
                                     "Type /web in the demo for a new one.", status_code=404)
        session = signin.start_session(self.svc, self.staff_id, client="demo")
        response = RedirectResponse("/staff/", status_code=303)
        response.set_cookie(SESSION_COOKIE, session, path="/staff", httponly=True, samesite="lax")
        return response


def demo_app(svc: Services, sign_in: DemoSignIn) -> Starlette:
    """The staff app under /staff plus the demo's one-off sign-in route."""
    return Starlette(routes=[
        Route("/demo-sign-in/{token}", sign_in.endpoint, methods=["GET"]),
        Mount("/staff", app=create_staff_app(svc)),
    ])


def require_loopback(host: str) -> None:
    """The demo signs people in without a code: it must never be reachable from elsewhere."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the demo's staff app only runs on 127.0.0.1, not {host!r}")


class DemoWeb:
    """uvicorn serving the demo's staff app from a thread; `loop` runs beside it every second
    (the demo's settle: replies typed on the web page reach the simulated phones)."""

    def __init__(self, svc: Services, staff_id: int, port: int, host: str = HOST) -> None:
        require_loopback(host)
        self.sign_in = DemoSignIn(svc, staff_id)
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = int(self._sock.getsockname()[1])
        config = uvicorn.Config(demo_app(svc, self.sign_in), log_level="warning", access_log=False,
                                timeout_graceful_shutdown=1, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        daemon=True, name="demo-staff-app")
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def sign_in_link(self) -> str:
        return f"{self.base_url}/demo-sign-in/{self.sign_in.new_token()}"

    def start(self, every_second: Callable[[], None] | None = None, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:  # uvicorn offers no start callback
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo's staff app did not start")
            time.sleep(0.01)
        if every_second is not None:
            def tick() -> None:
                while not self._stop.wait(1.0):
                    every_second()
            self._ticker = threading.Thread(target=tick, daemon=True, name="demo-web-settle")
            self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        self._server.should_exit = True
        self._thread.join(timeout=5)
        if self._ticker is not None:
            self._ticker.join(timeout=5)
