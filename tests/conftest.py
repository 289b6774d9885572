"""Shared fixtures: a manual clock, real services on a temporary SQLite file, a fresh PG schema."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.channels.base import ChannelName, OutboundText, SendReceipt
from bot.clock import ManualClock
from bot.config import Config
from bot.service.runtime import Services, build_services

try:  # the fake providers belong to another area; their fixtures are optional here
    from tests.fakes.fixtures import fake_telegram, fake_twilio  # noqa: F401
except Exception:  # pragma: no cover - only while that area is mid-change
    pass

PG_ENV = "CHECKINS_TEST_POSTGRES_URL"
# A Tuesday mid-morning in London (GMT): outside the default 21:00-08:00 quiet hours.
TEST_START = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)


class RecordingPhone:
    """The "console" channel for tests: keeps every message it is handed, like the demo's phone.

    Provider ids are unique across instances, so a "restarted" service on the same database
    never reuses one (the console channel counts from 1 in each process).
    """

    name: ChannelName = "console"

    def __init__(self) -> None:
        self.sent: list[OutboundText] = []
        self._prefix = secrets.token_hex(4)

    async def send(self, message: OutboundText) -> SendReceipt:
        self.sent.append(message)
        return SendReceipt(provider_id=f"rec-{self._prefix}-{len(self.sent)}", status="delivered")

    def texts_for(self, address: str) -> list[str]:
        """Everything sent to `address`, oldest first."""
        return [m.text for m in self.sent if m.address == address]


@pytest.fixture(scope="session", autouse=True)
def test_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One encryption key file for the whole run, named by CHECKINS_SECURITY_KEY_FILE, so any
    Config() the tests build (PostgreSQL included, which needs keys) reads and writes encrypted."""
    from bot.keyring import Keyring, write_key_file

    path = tmp_path_factory.mktemp("keys") / "test.keys"
    write_key_file(path, Keyring.generate(source=str(path)))
    before = os.environ.get("CHECKINS_SECURITY_KEY_FILE")
    os.environ["CHECKINS_SECURITY_KEY_FILE"] = str(path)
    yield path
    if before is None:
        os.environ.pop("CHECKINS_SECURITY_KEY_FILE", None)
    else:
        os.environ["CHECKINS_SECURITY_KEY_FILE"] = before


@pytest.fixture
def clock() -> ManualClock:
    """A clock that only moves when a test moves it."""
    return ManualClock(TEST_START)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A SQLite database file of this test's own."""
    return f"sqlite:///{tmp_path / 'checkins.db'}"


ServicesFactory = Callable[[], Services]


@pytest.fixture
def new_services(db_url: str, clock: ManualClock) -> Iterator[ServicesFactory]:
    """Build Services on the test's database: call it again to simulate a process restart.

    Each build gets its own RecordingPhone as "console", so outbound messages are really sent
    by `outbox.send_pass` and can be read back with `svc.channels["console"].texts_for(...)`.
    """
    built: list[Services] = []

    def factory() -> Services:
        svc = build_services(Config().with_database(db_url), clock,
                             channels={"console": RecordingPhone()})
        built.append(svc)
        return svc

    yield factory
    for svc in built:
        svc.engine.dispose()


@pytest.fixture
def services(new_services: ServicesFactory) -> Services:
    """Real services on a fresh, migrated SQLite file, with a recording console channel."""
    return new_services()


PG_SKIP = f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"


def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema `t_<random>`, dropped afterwards.

    Skips the test with a clear reason when CHECKINS_TEST_POSTGRES_URL is unset.
    """
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(PG_SKIP)
    import psycopg

    from bot.storage.db import normalise_url

    url = normalise_url(base)
    schema = f"t_{secrets.token_hex(6)}"
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    joiner = "&" if "?" in url else "?"
    try:
        yield f"{url}{joiner}options={quote(f'-csearch_path={schema}', safe='')}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    yield from pg_schema_url()