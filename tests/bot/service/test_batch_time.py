"""The inbound batch's time bound is on the service's (injected) clock, not the wall clock, so a
slow or busy machine never changes what one batch holds."""

from __future__ import annotations

import itertools
import time

import pytest

from bot.clock import ManualClock
from bot.service import admin
from bot.service.runtime import Services
from bot.service.turns import BATCH_TIME, process_inbound
from tests.bot.service.test_checkin_persistence import seed, store


def test_a_slow_machine_does_not_split_a_batch_but_the_service_clock_does(
        services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(services)
    with services.sessions() as s, s.begin():
        for i in range(4):
            admin.add_mentee(s, services, clock.now(), first_name=f"M{i}", phone=f"+44770090060{i}",
                             mentor="Dan Carter")
    for i in range(4):
        store(services, "hiya, all good this week", sender=f"+44770090060{i}")
    wall = itertools.count(step=10.0)  # ten wall-clock seconds pass between any two looks
    monkeypatch.setattr(time, "monotonic", lambda: float(next(wall)))
    assert process_inbound(services) == 4  # one batch: the service clock stood still

    for i in range(4):
        store(services, "me again", sender=f"+44770090060{i}")
    ticking = clock.now
    monkeypatch.setattr(clock, "now", lambda: ticking() + BATCH_TIME * 2 if next(calls) else ticking())
    calls = itertools.count()
    assert process_inbound(services) == 1  # the service clock moved past the bound: commit now
