"""The staffed world of tests/bot/app on SQLite and on PostgreSQL, for the data protection tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.clock import ManualClock
from bot.config import Config
from bot.service.runtime import Services, build_services
from tests.bot.app.conftest import World, build_world
from tests.conftest import RecordingPhone

# One crisis finding, urgent (the suite's agreed crisis text).
CRISIS = "Got a rope and im doing it tonight, ive had enough"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_url(request: pytest.FixtureRequest, db_url: str) -> str:
    return db_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture
def dp_world(any_url: str, clock: ManualClock) -> Iterator[World]:
    svc: Services = build_services(Config().with_database(any_url), clock,
                                   channels={"console": RecordingPhone()})
    try:
        yield build_world(svc, clock)
    finally:
        svc.engine.dispose()
