"""The crisis turn's SQL, pinned: an urgent text from a registered mentee (stored, its turn run,
the alert raised, the mentor and supervisor paged, the helplines queued to the mentee) costs a
bounded number of statements, counted on a real SQLite database, so re-reads of rows in hand,
one INSERT per row or needless flushes cannot silently come back. Counts, not time: the test's
clock stands still, so how fast the machine is never changes what a pass does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bot.clock import ManualClock
from bot.config import Config
from bot.service.runtime import Services, build_services
from bot.service.turns import process_inbound
from bot.storage.models import Alert, AlertEvent, DueEvent, Message, RiskFlag
from tests.bot.service.test_checkin_persistence import MENTEE, MENTOR, SUPERVISOR, add_others, seed, store
from tests.conftest import RecordingPhone

CRISIS = "Got a rope and im doing it tonight, ive had enough"
# Measured when this was pinned: 20 for one crisis turn (its pass, and the pass that finds nothing
# left), and 9.7 a turn for a burst of ten; before, 30 and 19.7.
ONE_TURN_AT_MOST = 20
A_TURN_IN_A_BURST_AT_MOST = 10


@pytest.fixture
def on_sqlite(db_url: str, clock: ManualClock) -> Callable[[], Services]:
    def factory() -> Services:
        return build_services(Config().with_database(db_url), clock,
                              channels={"console": RecordingPhone()})
    return factory


def turns_statements(svc: Services) -> tuple[int, int]:
    """Handle every stored message; returns how many turns ran and the statements they took."""
    count = [0]

    def counted(*_: Any) -> None:
        count[0] += 1

    event.listen(svc.engine, "before_cursor_execute", counted)
    try:
        handled = 0
        while (done := process_inbound(svc)):
            handled += done
    finally:
        event.remove(svc.engine, "before_cursor_execute", counted)
    return handled, count[0]


def rows(svc: Services, model: Any) -> int:
    with svc.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_one_crisis_turn_takes_a_bounded_number_of_statements(on_sqlite: Callable[[], Services]) -> None:
    svc = on_sqlite()
    seed(svc)
    store(svc, CRISIS)
    handled, statements = turns_statements(svc)
    assert handled == 1
    assert statements <= ONE_TURN_AT_MOST, f"{statements} SQL statements for one crisis turn"
    with svc.sessions() as s:
        pages = s.scalars(select(Message.address).where(Message.purpose == "alert")).all()
        helplines = s.scalars(select(Message.address).where(Message.purpose == "safety")).all()
    assert sorted(pages) == sorted([MENTOR, SUPERVISOR])
    assert helplines and set(helplines) == {MENTEE}
    assert (rows(svc, Alert), rows(svc, RiskFlag), rows(svc, DueEvent)) == (1, 1, 1)


def test_a_burst_of_crisis_turns_takes_a_bounded_number_of_statements_each(
        on_sqlite: Callable[[], Services]) -> None:
    svc = on_sqlite()
    seed(svc)
    others = [f"+4477009003{i:02d}" for i in range(9)]
    add_others(svc, others)
    for sender in [MENTEE, *others]:
        store(svc, CRISIS, sender)
    handled, statements = turns_statements(svc)
    assert handled == 10
    assert statements / handled <= A_TURN_IN_A_BURST_AT_MOST, f"{statements / handled:.1f} a turn"
    assert rows(svc, Alert) == 10
    assert rows(svc, AlertEvent) == 30  # raised, and queued to each of the two
    with svc.sessions() as s:
        paged = s.scalars(select(AlertEvent.message_id).where(AlertEvent.kind == "queued")).all()
        pages = s.scalars(select(Message.id).where(Message.purpose == "alert")).all()
    assert sorted(paged) == sorted(pages)  # each history step names its own page
