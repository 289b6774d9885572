"""A response that fits what was said, end to end (issue 10): service keywords are not risks, a
crisis pauses the check-in, an overdose gets 999 first, strangers get helplines and reach the duty
contact, nothing is said twice, and the wording says "us".

Real parts throughout (see escalation_world): SQLite and PostgreSQL, twilio's client against a
fake Twilio API, python-telegram-bot against a fake Bot API, aiosmtpd, and a ManualClock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.engine.keywords import keyword_of
from bot.storage.models import Message
from tests.escalation.escalation_world import (
    MENTEE_PHONE,
    MENTOR_PHONE,
    SUPERVISOR_CHAT,
    World,
    running_world,
)

START = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)  # a Tuesday mid-morning, outside quiet hours
CRISIS = "Got a rope and im doing it tonight, ive had enough"


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    url = (f"sqlite:///{tmp_path / 'checkins.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    with running_world(url, ManualClock(START)) as w:
        w.add_people()
        yield w


def _pages(world: World) -> list[Message]:
    return [m for m in world.outbound() if m.staff_id is not None and m.alert_id is not None]


# ---- 6. service keywords are not risks -------------------------------------------------------
@pytest.mark.parametrize("word", ["STOP", "stop", "HELP", "INFO", "UNSTOP", "START", "CHECKIN"])
def test_a_service_keyword_never_raises_an_alert_or_pages_anyone(tmp_path: Path, word: str) -> None:
    with running_world(f"sqlite:///{tmp_path / 'c.db'}", ManualClock(START)) as world:
        world.add_people()
        world.sms_from(MENTEE_PHONE, word)
        world.run()
        assert world.alerts() == []
        assert _pages(world) == []
        assert world.telegram_to(SUPERVISOR_CHAT) == []


def test_yes_opts_back_in_only_someone_who_opted_out_and_is_not_assessed_then(world: World) -> None:
    world.sms_from(MENTEE_PHONE, "STOP")
    world.run()
    world.sms_from(MENTEE_PHONE, "YES")
    world.run()
    assert world.mentee().status == "active"
    assert world.alerts() == []


@pytest.mark.parametrize("text", ["please stop texting me", "Stop messaging me please",
                                  "no more texts", "dont text me anymore"])
def test_a_bare_opt_out_phrasing_is_an_opt_out_confirmed_by_us_and_pages_nobody(
    tmp_path: Path, text: str,
) -> None:
    with running_world(f"sqlite:///{tmp_path / 'c.db'}", ManualClock(START)) as world:
        world.add_people()
        world.sms_from(MENTEE_PHONE, text)
        world.run()
        assert world.mentee().status == "opted_out"
        assert world.alerts() == [] and _pages(world) == []
        # The carrier only acts on the keyword itself, so we confirm the phrasing ourselves.
        assert world.sms_to(MENTEE_PHONE) == [
            "OK, you won't get any more messages from us. Send START to come back."]
        [note] = world.sms_to(MENTOR_PHONE)
        assert "no more check-ins" in note


def test_the_carrier_keyword_stop_is_confirmed_by_the_carrier_not_by_us(world: World) -> None:
    world.sms_from(MENTEE_PHONE, "STOP")
    world.run()
    assert world.mentee().status == "opted_out"
    assert world.sms_to(MENTEE_PHONE) == []


def test_an_opt_out_phrasing_with_more_in_it_is_a_message_and_is_assessed_in_full(world: World) -> None:
    world.sms_from(MENTEE_PHONE, "stop texting me, " + CRISIS)
    world.run()
    assert world.mentee().status == "active"
    assert [(a.category, a.severity) for a in world.alerts()] == [("crisis", "urgent")]


@pytest.mark.parametrize(("text", "keyword"), [
    ("please stop texting me", "stop"), ("Please stop texting me.", "stop"),
    ("take me off your list", "stop"), ("unsubscribe me", "stop"),
    ("please stop texting me at work", None), ("please stop", None), ("stop it", None),
    ("stop texting me, he reads my phone", None),
])
def test_which_phrasings_are_opt_outs(text: str, keyword: str | None) -> None:
    assert keyword_of(text) == keyword
