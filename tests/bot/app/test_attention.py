"""Needs attention: open alerts urgent first, unread messages, missed streaks, unreachable or
opted-out mentees, mentees with no plan, each for the person asking."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.app import alerts, mentees
from bot.app.attention import needs_attention
from bot.storage.models import Mentee
from tests.bot.app.conftest import LEE_PHONE, SAM_PHONE, World


def test_open_alerts_come_urgent_first_with_how_long_they_have_waited(world: World) -> None:
    """A concern raised first still sorts after a later urgent alert."""
    world.text(SAM_PHONE, "I'm worried I'll lose my flat next month")  # a housing concern
    world.clock.advance(minutes=10)
    urgent = world.crisis()
    world.clock.advance(minutes=5)
    listed = needs_attention(world.svc, world.dan).alerts
    assert [a.alert.code for a in listed][0] == urgent
    assert [a.alert.severity for a in listed] == ["urgent", "concern"]
    assert listed[0].raised_ago == timedelta(minutes=5) and not listed[0].acknowledged
    alerts.acknowledge(world.svc, world.dan, urgent)
    assert needs_attention(world.svc, world.dan).alerts[0].acknowledged


def test_each_list_holds_only_the_asker_s_mentees(world: World) -> None:
    """Dan hears of Sam, not of Lee; the coordinator hears of both."""
    world.text(SAM_PHONE, "hello")
    world.text(LEE_PHONE, "hello")
    with world.svc.sessions() as s, s.begin():
        s.execute(update(Mentee).values(missed_streak=2))
    dan, cora = needs_attention(world.svc, world.dan), needs_attention(world.svc, world.cora)
    assert [m.id for m in dan.unread] == [world.sam]
    assert [m.id for m in dan.missed] == [world.sam] and [m.id for m in dan.no_plan] == [world.sam]
    assert [m.id for m in cora.no_plan] == [world.sam, world.lee]
    assert [m.id for m in cora.unread] == [world.sam, world.lee]  # her own read marker


def test_opted_out_and_unreachable_mentees_are_listed_and_a_plan_clears_no_plan(world: World) -> None:
    """STOP, or no channel left, puts a mentee on the list; setting a plan takes one off."""
    world.text(SAM_PHONE, "STOP")
    with world.svc.sessions() as s, s.begin():
        s.execute(update(Mentee).where(Mentee.id == world.lee).values(sms_reachable=False))
    mentees.set_plan(world.svc, world.omar, world.lee, "mon 10:00")
    seen = needs_attention(world.svc, world.cora)
    assert {m.id for m in seen.unreachable} == {world.sam, world.lee}
    assert seen.no_plan == ()
