"""Several turn workers in one process: each claims only about what it will handle, so a burst is
shared out; a crisis among the first waiting messages is claimed first however few a worker
takes; and between them, as between processes, no message is handled twice and each person's
messages run in the order they arrived. SQLite and PostgreSQL (PostgreSQL alone for the threads:
SQLite has one writer at a time and runs one worker)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import Config, ConfigError, load_config
from bot.service.runtime import Services, Wakeups, build_services
from bot.service.server import Runner
from bot.service.turns import BATCH_TIME, CLAIM_LEAST, LAST_PASS, claim_size, process_inbound
from bot.storage.models import Alert, Answer, Message
from tests.bot.service.test_checkin_persistence import (
    MENTEE,
    add_others,
    handle_side_by_side,
    prompt,
    rows,
    seed,
    sent_to,
    settle,
    start_checkin,
    store,
    urgent_crisis_text,
)
from tests.conftest import RecordingPhone

OTHERS = [f"+4477009003{i:02d}" for i in range(12)]


def processed(svc: Services) -> list[Message]:
    return rows(svc, Message, Message.direction == "in", Message.processed_at.is_not(None))


def test_the_only_worker_claims_the_whole_batch_and_one_of_several_about_what_it_handles(
        services: Services) -> None:
    assert claim_size(services, 50, None) == 50
    assert claim_size(services, 50, 0) == CLAIM_LEAST  # nothing handled yet: a few
    services.extras[(LAST_PASS, 0)] = CLAIM_LEAST
    assert claim_size(services, 50, 0) == 2 * CLAIM_LEAST  # twice the last pass's
    assert claim_size(services, 50, 1) == CLAIM_LEAST  # each worker keeps its own pace
    services.extras[(LAST_PASS, 0)] = 40
    assert claim_size(services, 50, 0) == 50  # a backlog on a quiet machine: big batches again


def test_a_crisis_behind_many_ordinary_texts_is_claimed_first_by_a_worker_taking_a_few(
        on_any_db: Callable[[], Services]) -> None:
    svc = on_any_db()
    seed(svc)
    add_others(svc, OTHERS)
    crisis = urgent_crisis_text()
    for phone in OTHERS:  # twelve ordinary texts wait ahead of Sam, and twelve more after him
        store(svc, "all good this week", phone)
    store(svc, "hiya", MENTEE)  # Sam's first, ordinary, then the crisis
    for phone in OTHERS:
        store(svc, "me again", phone)
    store(svc, crisis, MENTEE)

    # One pass (the test's clock stands still) claims a few: both of Sam's, first, and the
    # oldest; it commits once Sam's are handled, so their alerts go out without waiting.
    assert process_inbound(svc, worker=0) == 2
    done = processed(svc)
    assert [m.body for m in done if m.address == MENTEE] == ["hiya", crisis]  # in the order sent
    assert [m.address for m in done if m.address != MENTEE] == []
    assert [(a.category, a.severity) for a in rows(svc, Alert)] == [("crisis", "urgent")]

    process_inbound(svc, worker=0)  # then the oldest ordinary texts, in the order they came
    assert [m.address for m in processed(svc) if m.address != MENTEE] == OTHERS[:CLAIM_LEAST]


def test_a_pass_that_runs_out_of_time_wakes_another_worker_for_what_it_left(
        services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(services)
    add_others(services, OTHERS[:4])
    for phone in OTHERS[:4]:
        store(services, "hiya, all good this week", phone)
    services.wakeups = Wakeups()
    assert not services.wakeups.inbound_help.is_set()  # a webhook pokes the first worker only
    standing = clock.now
    calls = iter(range(1000))
    monkeypatch.setattr(clock, "now", lambda: standing() + BATCH_TIME * 2 if next(calls) else standing())

    assert process_inbound(services, worker=0) == 1  # the service clock passed the bound
    assert services.wakeups.inbound_help.is_set()  # an idle worker is asked to take what it left

    services.wakeups.inbound_help.clear()
    monkeypatch.setattr(clock, "now", standing)
    assert process_inbound(services, worker=0) == 3  # the rest, in time
    assert not services.wakeups.inbound_help.is_set()  # it finished all it claimed: nobody to wake


def test_several_workers_sharing_one_process_handle_each_message_once_and_each_mentee_in_order(
        pg_url: str, clock: ManualClock) -> None:
    svc = build_services(Config().with_database(pg_url), clock, channels={"console": RecordingPhone()})
    try:
        phones = [MENTEE, *OTHERS[:5]]
        ids = [seed(svc), *add_others(svc, OTHERS[:5])]
        for mentee_id in ids:
            start_checkin(svc, mentee_id)
        settle(svc)
        replies = ["4", "3", "yes", "no"]
        for reply in replies:  # interleaved: every mentee's first answer, then every second one
            for phone in phones:
                store(svc, reply, phone)
        total = len(phones) * len(replies)

        # as the Runner runs them: one Services, a thread each
        handle_side_by_side([lambda n=n: process_inbound(svc, worker=n) for n in range(4)], svc, total)
        settle(svc)

        for mentee_id in ids:  # each answer once, in the order sent
            answers = [a.raw_text for a in rows(svc, Answer, Answer.mentee_id == mentee_id)]
            assert answers == replies
        for phone in phones:
            assert sent_to(svc, phone)[1:] == [prompt(q) for q in ("sleep", "safe_place",
                                                                   "safe_home", "anything_else")]
    finally:
        svc.engine.dispose()


def test_postgresql_runs_the_configured_turn_workers_and_sqlite_one(
        on_any_db: Callable[[], Services]) -> None:
    svc = on_any_db()
    svc.config = replace(svc.config, service=replace(svc.config.service, turn_workers=3))
    expected = 1 if svc.engine.dialect.name == "sqlite" else 3
    assert Runner(svc).turn_workers() == expected


def test_turn_workers_below_one_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[service]\nturn_workers = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert str(caught.value) == "config [service] turn_workers: must be at least 1, got 0"
