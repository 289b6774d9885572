"""Fixtures for service-level scheduling tests: real SQLite files and isolated PostgreSQL schemas."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import Config
from bot.service.runtime import Services, build_services
from tests.bot.service.world import StampedPhone, World
from tests.conftest import RecordingPhone, pg_schema_url

@pytest.fixture(params=["sqlite", "postgresql"])
def sched_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The test's own database: a SQLite file, then (if configured) a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'checkins.db'}"
    else:
        yield from pg_schema_url()


@pytest.fixture
def sched_sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'checkins.db'}"


@pytest.fixture
def sched_postgres_url() -> Iterator[str]:
    yield from pg_schema_url()


def configured(**sections: dict[str, Any]) -> Config:
    """Config() with some keys changed, e.g. configured(checkins={"late_window_hours": 2})."""
    cfg = Config()
    for name, values in sections.items():
        cfg = dataclasses.replace(cfg, **{name: dataclasses.replace(getattr(cfg, name), **values)})
    return cfg


ServicesFactory = Callable[..., Services]


@pytest.fixture
def sched_services(sched_db_url: str) -> Iterator[ServicesFactory]:
    """Build Services on the test's database; call again to simulate a restart or a second worker."""
    built: list[Services] = []

    def factory(clock: ManualClock, config: Config | None = None, worker: str = "") -> Services:
        svc = build_services((config or Config()).with_database(sched_db_url), clock)
        if worker:
            svc.worker_id = worker
        built.append(svc)
        return svc

    yield factory
    for svc in built:
        svc.engine.dispose()


WorldFactory = Callable[..., World]


@pytest.fixture
def sched_world(sched_services: ServicesFactory) -> WorldFactory:
    """A World at `start` (UTC) on the test's database, with a stamped "console" phone."""

    def factory(start: datetime, config: Config | None = None,
                clock: ManualClock | None = None) -> World:
        clock = clock or ManualClock(start.astimezone(UTC))
        svc = sched_services(clock, config)
        phone = StampedPhone(clock)
        svc.channels = {"console": phone}
        return World(svc, clock, phone)

    return factory


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, db_url: str) -> str:
    return db_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture
def on_any_db(any_db: str, clock: ManualClock) -> Iterator[Callable[[], Services]]:
    """Build Services on a SQLite file or a fresh PostgreSQL schema; call again to 'restart' or
    for a second worker on the same database."""
    built: list[Services] = []

    def factory() -> Services:
        built.append(build_services(Config().with_database(any_db), clock,
                                    channels={"console": RecordingPhone()}))
        return built[-1]

    yield factory
    for svc in built:
        svc.engine.dispose()
