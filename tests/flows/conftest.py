"""The application-layer world (two teams, Sam and Lee) for flow tests."""

from __future__ import annotations

import pytest

from bot.clock import ManualClock
from bot.service.runtime import Services
from tests.bot.app.conftest import World, build_world


@pytest.fixture
def world(services: Services, clock: ManualClock) -> World:
    return build_world(services, clock)
