"""Staff operations: unique names, unambiguous refs, a sound role graph, coordinator only."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from bot.app import staff
from bot.app.errors import InvalidInput, NotAllowed, NotFound
from bot.storage.models import Staff
from tests.bot.app.conftest import World


def test_a_second_staff_member_with_the_same_name_is_refused(world: World) -> None:
    """Any case, any spacing: names are how alerts, digests and refs name staff."""
    for name in ("Dan Carter", "dan  carter"):
        with pytest.raises(InvalidInput, match=r"already called Dan Carter \(id 3\)"):
            staff.add(world.svc, world.operator, staff.NewStaff(name, phone="+447700900099"))
    with pytest.raises(InvalidInput, match="already called"):
        staff.edit(world.svc, world.operator, "Omar Hill", staff.StaffChanges(name="Dan Carter"))


def test_an_ambiguous_name_from_before_names_were_unique_lists_the_ids(world: World) -> None:
    """Old data may hold two of a name: a ref never silently picks one."""
    with world.svc.sessions() as s, s.begin():
        s.execute(update(Staff).where(Staff.name == "Omar Hill").values(name="Dan Carter"))
    with pytest.raises(InvalidInput, match=r"fits more than one staff member \(ids 3, 4\): use the id"):
        staff.pause(world.svc, world.operator, "Dan Carter")
    assert staff.pause(world.svc, world.operator, "4").name == "Dan Carter"


@pytest.mark.parametrize("ref", ["3", "+447700900001", "07700 900001", "dan carter"])
def test_a_staff_member_is_found_by_id_phone_or_exact_name(world: World, ref: str) -> None:
    """Refs resolve unambiguously; a phone may be typed the way people write it."""
    assert staff.pause(world.svc, world.operator, ref).id == 3


def test_a_part_of_a_name_finds_nobody(world: World) -> None:
    """Only exact names: 'Dan' is not enough."""
    with pytest.raises(NotFound):
        staff.pause(world.svc, world.operator, "Dan")


def test_a_supervisor_named_for_a_mentor_must_be_a_supervisor(world: World) -> None:
    """A mentor or coordinator as supervisor would mis-route urgent alerts and empty digests."""
    with pytest.raises(InvalidInput, match="Omar Hill is a mentor, not a supervisor"):
        staff.add(world.svc, world.operator, staff.NewStaff(
            "Kim Lee", phone="+447700900098", supervisor="Omar Hill"))
    with pytest.raises(InvalidInput, match="Cora Lane is a coordinator, not a supervisor"):
        staff.edit(world.svc, world.operator, "Dan Carter", staff.StaffChanges(supervisor="Cora Lane"))
    moved = staff.edit(world.svc, world.operator, "Dan Carter", staff.StaffChanges(supervisor="Zoe King"))
    assert moved.supervisor_name == "Zoe King"


@pytest.mark.parametrize("who", ["dan", "priya", "dee"])
def test_only_a_coordinator_manages_staff(world: World, who: str) -> None:
    """Mentors, supervisors and the duty contact cannot list, add or change staff."""
    actor = getattr(world, who)
    with pytest.raises(NotAllowed):
        staff.list_staff(world.svc, actor)
    with pytest.raises(NotAllowed):
        staff.add(world.svc, actor, staff.NewStaff("Kim Lee", phone="+447700900098"))
    with pytest.raises(NotAllowed):
        staff.pause(world.svc, actor, "Omar Hill")


def test_the_coordinator_manages_staff_and_each_change_is_audited(world: World) -> None:
    """Add, edit, pause, resume and link each leave one audit entry naming the staff record."""
    kim = staff.add(world.svc, world.cora, staff.NewStaff("Kim Lee", phone="+447700900098",
                                                         supervisor="Priya Shah"))
    staff.edit(world.svc, world.cora, "Kim Lee", staff.StaffChanges(email="kim@example.org"))
    staff.pause(world.svc, world.cora, "Kim Lee")
    staff.resume(world.svc, world.cora, "Kim Lee")
    first = staff.link_code(world.svc, world.cora, "Kim Lee")
    assert staff.link_code(world.svc, world.cora, "Kim Lee").code == first.code
    for action in ("staff.add", "staff.edit", "staff.pause", "staff.resume"):
        (entry,) = [e for e in world.audited(action) if e.actor_label == "Cora Lane"]
        assert entry.staff_id == kim.id
    assert [e.detail for e in world.audited("staff.link")] == ["new code", "same code"]


def test_a_signed_in_staff_member_is_an_actor_while_they_are_active(world: World) -> None:
    """actor_for is how the staff app turns a sign-in into an Actor."""
    assert staff.actor_for(world.svc, "dan carter") == world.dan
    staff.pause(world.svc, world.operator, "Dan Carter")
    with pytest.raises(NotFound):
        staff.actor_for(world.svc, "Dan Carter")
