"""The staff web app over real HTTP: the whole service (`build_app`) on uvicorn on 127.0.0.1,
the two-team world of the app-layer tests, a ManualClock and the recording console channel.

Sessions for most tests are started with `signin.start_session` (the sign-in itself is tested
through the pages in test_signin.py); every request after that is a real HTTP request.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.app import loops, signin
from bot.app.actor import Actor
from bot.clock import ManualClock
from bot.service.runtime import Services
from bot.service.server import build_app
from bot.staff.pages import SESSION_COOKIE
from tests.bot.app.conftest import LEE_PHONE, SAM_PHONE, World, build_world, pg_world  # noqa: F401 (a fixture)
from tests.fakes.server import ThreadedServer

# One crisis finding, urgent (see the session notes: other crisis texts may raise two).
CRISIS = "Got a rope and im doing it tonight, ive had enough"
CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]+)"')

__all__ = ["CRISIS", "LEE_PHONE", "SAM_PHONE", "StaffWeb", "World"]


@dataclass
class StaffWeb:
    world: World
    url: str

    @property
    def svc(self) -> Services:
        return self.world.svc

    def client(self, who: Actor | None = None) -> httpx.Client:
        """A browser; signed in as `who` (a fresh session) unless None."""
        client = httpx.Client(base_url=self.url, follow_redirects=False, trust_env=False, timeout=20)
        if who is not None:
            assert who.staff_id is not None
            token = signin.start_session(self.svc, who.staff_id, client="test")
            client.cookies.set(SESSION_COOKIE, token, domain="127.0.0.1", path="/staff")
        return client

    def csrf(self, client: httpx.Client, path: str = "/staff/") -> str:
        page = client.get(path)
        assert page.status_code == 200, (path, page.status_code, page.text[:300])
        found = CSRF_RE.search(page.text)
        assert found, "no CSRF field on " + path
        return found.group(1)

    def post(self, client: httpx.Client, path: str, data: dict[str, str] | None = None, *,
             csrf_from: str = "/staff/") -> httpx.Response:
        """A form POST with the CSRF token of a page this client just loaded."""
        return client.post(path, data={"csrf": self.csrf(client, csrf_from), **(data or {})})

    def settle(self) -> None:
        self.world.settle()

    def crisis(self, phone: str = SAM_PHONE) -> str:
        """Sam (or Lee) texts a crisis; returns the alert's code."""
        self.world.text(phone, CRISIS)
        with self.svc.sessions() as s:
            from sqlalchemy import select

            from bot.storage.models import Alert
            return s.scalars(select(Alert.code).order_by(Alert.id.desc())).first()  # type: ignore[return-value]

    def send(self) -> None:
        asyncio.run(loops.send_pass(self.svc))


@pytest.fixture
def web(services: Services, clock: ManualClock) -> Iterator[StaffWeb]:
    world = build_world(services, clock)
    app, _ = build_app(services, run_loops=False)
    with ThreadedServer(app) as server:
        yield StaffWeb(world, server.url)


# The browser tests (test_browser.py, test_admin_browser.py) use Debian's Chromium only (never
# `playwright install`); each module skips itself with `skip_without_browser()` at import.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def skip_without_browser() -> None:
    """Skip the calling test module, with the reason, where Chromium or playwright is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
                    allow_module_level=True)
    pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium per test module."""
    skip_without_browser()
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: CHECKINS_STAFF_SCREENSHOTS (to refresh docs/), else the test's tmp."""
    where = Path(os.environ.get("CHECKINS_STAFF_SCREENSHOTS") or tmp_path / "shots")
    where.mkdir(parents=True, exist_ok=True)
    return where
