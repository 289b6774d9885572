"""Replying to a mentee: through the outbox on their channel, as the writer, within the rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app import mentees, messages
from bot.app.errors import InvalidInput
from bot.storage.models import Message
from tests.bot.app.conftest import SAM_PHONE, World


def _outbox(world: World) -> list[Message]:
    with world.svc.sessions() as s:
        return list(s.scalars(select(Message).where(Message.purpose == "staff_reply")
                              .order_by(Message.id)))


def test_a_reply_is_queued_on_the_mentee_s_channel_recorded_as_the_writer_s(world: World) -> None:
    """sent_by_staff_id says who wrote it; staff_id stays empty (the recipient is the mentee)."""
    queued = messages.reply_to_mentee(world.svc, world.dan, world.sam, "Hi Sam, free at 3?")
    assert (queued.channel, queued.segments, queued.waits_until) == ("console", 1, None)
    (row,) = _outbox(world)
    assert row.address == SAM_PHONE and row.sent_by_staff_id == world.dan.staff_id
    assert row.staff_id is None and row.mentee_id == world.sam
    world.settle()
    assert world.svc.channels["console"].texts_for(SAM_PHONE)[-1] == "Hi Sam, free at 3?"  # type: ignore[attr-defined]


def test_a_long_sms_reply_goes_as_several_texts_all_by_the_writer(world: World) -> None:
    """The segment count is what the mentee's phone will receive."""
    mentees.edit(world.svc, world.operator, world.sam, mentees.MenteeChanges(channel="sms"))
    world.svc.channels = {"sms": world.svc.channels["console"]}
    text = "Hi Sam, " + "this is a longer message about tomorrow's appointment. " * 5
    queued = messages.reply_to_mentee(world.svc, world.dan, world.sam, text)
    rows = _outbox(world)
    assert queued.channel == "sms" and queued.segments == len(rows) > 1
    assert {r.sent_by_staff_id for r in rows} == {world.dan.staff_id}


@pytest.mark.parametrize("text,why", [("", "empty"), ("   ", "empty"), ("x" * 641, "641 characters")])
def test_an_empty_or_too_long_reply_is_refused(world: World, text: str, why: str) -> None:
    """640 characters at most: past that, a phone call serves the mentee better."""
    with pytest.raises(InvalidInput, match=why):
        messages.reply_to_mentee(world.svc, world.dan, world.sam, text)


def test_no_reply_goes_to_a_mentee_who_opted_out(world: World) -> None:
    """STOP means nothing is sent, staff replies included, until START."""
    world.text(SAM_PHONE, "STOP")
    with pytest.raises(InvalidInput, match="opted out"):
        messages.reply_to_mentee(world.svc, world.dan, world.sam, "Are you OK?")


def test_a_reply_queued_before_stop_is_not_sent_after_it(world: World) -> None:
    """The sender checks again at sending time (the reply waited out the night)."""
    world.clock.set(datetime(2026, 3, 10, 22, 0, tzinfo=UTC))
    messages.reply_to_mentee(world.svc, world.dan, world.sam, "Talk tomorrow?")
    world.text(SAM_PHONE, "STOP")
    world.clock.set(datetime(2026, 3, 11, 9, 0, tzinfo=UTC))
    world.settle()
    (row,) = _outbox(world)
    assert row.status == "cancelled"


def test_no_reply_to_a_mentee_no_channel_reaches(world: World) -> None:
    """A mentee whose texts are refused gets a one-line 'please phone them'."""
    world.svc.channels = {"sms": world.svc.channels["console"]}  # the console reaches anyone
    with world.svc.sessions() as s, s.begin():
        from bot.storage.models import Mentee

        s.get(Mentee, world.sam).sms_reachable = False  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match="no channel"):
        messages.reply_to_mentee(world.svc, world.dan, world.sam, "Are you OK?")


def test_a_reply_in_quiet_hours_waits_unless_sent_now_anyway(world: World) -> None:
    """21:00-08:00 London: it says when it will go; 'send now anyway' goes at once."""
    world.clock.set(datetime(2026, 3, 10, 22, 0, tzinfo=UTC))
    waiting = messages.reply_to_mentee(world.svc, world.dan, world.sam, "Sleep well")
    assert waiting.waits_until == datetime(2026, 3, 11, 8, 0, tzinfo=UTC)
    now = messages.reply_to_mentee(world.svc, world.dan, world.sam, "Ring me now", send_now_anyway=True)
    assert now.waits_until is None
    world.settle()
    assert world.svc.channels["console"].texts_for(SAM_PHONE) == ["Ring me now"]  # type: ignore[attr-defined]
