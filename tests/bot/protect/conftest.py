"""The staffed world of tests/bot/app on SQLite and on PostgreSQL, for the data protection tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.clock import ManualClock
from bot.config import Config
from bot.service.runtime import Services, build_services
from tests.bot.app.conftest import World, build_world
from tests.conftest import RecordingPhone

def clear_database(url: str, clock: ManualClock, first_name: str) -> None:
    """A database as a version before encryption left it: migrated, a mentor Dan and a mentee
    (`first_name` Row, +447700900555) written in clear by an engine with no keyring."""
    from bot.storage.db import make_engine, make_session_factory, migrate
    from bot.storage.models import Mentee, Staff

    bare = make_engine(url)
    migrate(bare)
    with make_session_factory(bare)() as s, s.begin():
        dan = Staff(name="Dan", role="mentor", phone="+447700900001", created_at=clock.now())
        s.add(dan)
        s.flush()
        s.add(Mentee(first_name=first_name, last_name="Row", phone="+447700900555", mentor_id=dan.id,
                     created_at=clock.now()))
    bare.dispose()


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
