"""Mentee operations: adding (default plan, Telegram link), editing, reassigning, check-ins."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import mentees
from bot.app.errors import InvalidInput, NotAllowed, NotFound
from bot.storage.models import DueEvent, Mentee
from tests.bot.app.conftest import World


def _new(plan: str = "", **extra: str) -> mentees.NewMentee:
    return mentees.NewMentee("Alex", "Dan Carter", phone="+447700900130", plan=plan, **extra)


def test_a_mentee_added_without_a_plan_gets_the_configured_default(world: World) -> None:
    """Nobody is added and then silently never checked in with."""
    added = mentees.add(world.svc, world.operator, _new())
    assert added.mentee.plan == world.svc.config.checkins.default_plan == "mon 10:00"
    assert added.plan_is_default
    with world.svc.sessions() as s:
        planned = s.scalars(select(DueEvent).where(DueEvent.mentee_id == added.mentee.id,
                                                   DueEvent.kind == "checkin")).all()
    assert planned  # check-ins are booked at once


def test_none_as_the_plan_means_no_plan_on_purpose(world: World) -> None:
    """'none' is how a coordinator says so; the result says there is no plan."""
    added = mentees.add(world.svc, world.operator, _new(plan="none"))
    assert added.mentee.plan is None and not added.plan_is_default


def test_a_telegram_mentee_is_added_with_the_link_code_that_is_stored(world: World) -> None:
    """The code shown at add time is the stored one, and the link shows it again, not another."""
    added = mentees.add(world.svc, world.operator, _new(channel="telegram"))
    assert added.link is not None
    with world.svc.sessions() as s:
        stored = s.get(Mentee, added.mentee.id).telegram_link_code  # type: ignore[union-attr]
    assert stored == added.link.code
    assert mentees.link_code(world.svc, world.dan, added.mentee.id).code == stored
    assert mentees.link_code(world.svc, world.dan, added.mentee.id, new=True).code != stored


def test_only_a_coordinator_adds_mentees(world: World) -> None:
    """Mentors and supervisors work with the mentees they are given."""
    for who in (world.dan, world.priya):
        with pytest.raises(NotAllowed):
            mentees.add(world.svc, who, _new())
    assert mentees.add(world.svc, world.cora, _new()).mentee.mentor_name == "Dan Carter"


def test_editing_checks_each_detail_in_one_line(world: World) -> None:
    """An unknown time zone, a bad phone or bad quiet hours: InvalidInput, nothing changed."""
    for changes in (mentees.MenteeChanges(timezone="Mars/Olympus"),
                    mentees.MenteeChanges(phone="12345"),
                    mentees.MenteeChanges(quiet_hours="late")):
        with pytest.raises(InvalidInput):
            mentees.edit(world.svc, world.dan, world.sam, changes)
    edited = mentees.edit(world.svc, world.dan, world.sam, mentees.MenteeChanges(
        quiet_hours="22:00-07:30", timezone="Europe/Dublin"))
    assert edited.timezone == "Europe/Dublin"


def test_a_mentee_moves_to_another_mentor_only_by_a_coordinator_or_within_a_team(world: World) -> None:
    """Priya cannot hand Sam to Zoe's mentor; the coordinator can."""
    to_omar = mentees.MenteeChanges(mentor="Omar Hill")
    with pytest.raises(NotAllowed):
        mentees.edit(world.svc, world.priya, world.sam, to_omar)
    with pytest.raises(NotAllowed):
        mentees.edit(world.svc, world.dan, world.sam, to_omar)
    assert mentees.edit(world.svc, world.cora, world.sam, to_omar).mentor_name == "Omar Hill"
    with pytest.raises(InvalidInput, match="not a mentor"):
        mentees.edit(world.svc, world.cora, world.sam, mentees.MenteeChanges(mentor="Zoe King"))


def test_no_check_in_goes_to_a_mentee_who_texted_stop(world: World) -> None:
    """STOP is final until the mentee says START (the demo's /checkin too)."""
    world.text("+447700900123", "STOP")
    with pytest.raises(InvalidInput, match="opted out"):
        mentees.start_checkin(world.svc, world.dan, world.sam)
    with pytest.raises(InvalidInput, match="opted out"):
        mentees.resume(world.svc, world.dan, world.sam)


def test_the_duty_contact_sees_an_alerted_mentee_but_cannot_change_them(world: World) -> None:
    """Seeing for an alert is not managing: pausing is for the mentee's own people."""
    with pytest.raises(NotFound):
        mentees.schedule(world.svc, world.dee, world.sam)
    world.crisis()
    assert mentees.schedule(world.svc, world.dee, world.sam).mentee.id == world.sam
    with pytest.raises(NotAllowed):
        mentees.pause(world.svc, world.dee, world.sam)


def test_a_name_that_fits_two_visible_mentees_is_refused_listing_their_ids(world: World) -> None:
    """Refs resolve unambiguously, and only among the mentees the actor may see."""
    mentees.add(world.svc, world.operator, mentees.NewMentee(
        "Sam", "Omar Hill", last_name="Green", phone="+447700900131"))
    assert mentees.schedule(world.svc, world.dan, "Sam").mentee.id == world.sam  # Omar's Sam unseen
    with pytest.raises(InvalidInput, match=r"fits more than one mentee \(ids 1, 3\)"):
        mentees.schedule(world.svc, world.cora, "sam")
    assert mentees.schedule(world.svc, world.cora, "Sam Green").mentee.last_name == "Green"
    assert mentees.schedule(world.svc, world.cora, "07700 900123").mentee.id == world.sam


def test_list_shows_the_actor_s_caseload_with_unread_counts(world: World) -> None:
    """Dan's list is Sam, with the message Sam sent; the coordinator's is everyone."""
    world.text("+447700900123", "can we talk later")
    (sam,) = mentees.list_mentees(world.svc, world.dan)
    assert (sam.id, sam.unread) == (world.sam, 1)
    assert [m.id for m in mentees.list_mentees(world.svc, world.cora)] == [world.sam, world.lee]


def test_a_phone_typed_as_digits_is_a_phone_not_an_id(world: World) -> None:
    """07700900123 finds Sam by phone; a short number is an id."""
    assert mentees.schedule(world.svc, world.dan, "07700900123").mentee.id == world.sam
    assert mentees.schedule(world.svc, world.dan, str(world.sam)).mentee.id == world.sam
