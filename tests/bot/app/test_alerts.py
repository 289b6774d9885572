"""Alert operations: what each person sees, and the rules of acknowledging, noting and closing."""

from __future__ import annotations

import pytest

from bot.app import alerts
from bot.app.actor import Actor
from bot.app.errors import InvalidInput, NotAllowed, NotFound
from bot.app.staff import pause
from tests.bot.app.conftest import LEE_PHONE, World


def test_each_person_lists_only_the_alerts_of_mentees_they_may_see(world: World) -> None:
    """Dan sees Sam's alert, Omar sees Lee's, the duty contact and the coordinator see both."""
    sams, lees = world.crisis(), world.crisis(LEE_PHONE)
    codes = {name: {a.code for a in alerts.list_alerts(world.svc, getattr(world, name))}
             for name in ("dan", "omar", "priya", "dee", "cora")}
    assert codes == {"dan": {sams}, "omar": {lees}, "priya": {sams}, "dee": {sams, lees},
                     "cora": {sams, lees}}


def test_the_duty_contact_loses_sight_of_a_mentee_once_the_alert_is_closed(world: World) -> None:
    """Duty sight lasts as long as the alert that paged them."""
    code = world.crisis()
    alerts.close(world.svc, world.dan, code, "Spoke to Sam; safe with family")
    with pytest.raises(NotFound):
        alerts.detail(world.svc, world.dee, code)


def test_an_unknown_code_and_another_mentor_s_code_get_the_same_answer(world: World) -> None:
    """A forged code reveals nothing: both are NotFound with the same kind of line."""
    code = world.crisis(LEE_PHONE)
    with pytest.raises(NotFound, match="no alert 'K7Q2'"):
        alerts.acknowledge(world.svc, world.dan, "k7q2")
    with pytest.raises(NotFound, match=f"no alert '{code}'"):
        alerts.acknowledge(world.svc, world.dan, code)


def test_acknowledging_records_who_took_it_and_stops_the_ladder(world: World) -> None:
    """The acting staff member is recorded; a second acknowledgement says it was already taken."""
    code = world.crisis()
    first = alerts.acknowledge(world.svc, world.priya, code)
    assert first.alert.status == "acknowledged" and first.alert.acknowledged_by == "Priya Shah"
    assert not first.already and "is acknowledged" in first.text
    again = alerts.acknowledge(world.svc, world.dan, code)
    assert again.already and "already acknowledged" in again.text


def test_the_operator_may_record_an_acknowledgement_for_a_staff_member_who_may_take_it(
        world: World) -> None:
    """--by names the person; someone not linked to the mentee is refused in one line."""
    code = world.crisis()
    with pytest.raises(InvalidInput, match="Omar Hill is not Sam T.'s mentor"):
        alerts.acknowledge(world.svc, world.operator, code, on_behalf_of="Omar Hill")
    taken = alerts.acknowledge(world.svc, world.operator, code, on_behalf_of="Dan Carter")
    assert taken.alert.acknowledged_by == "Dan Carter"
    with pytest.raises(NotAllowed):
        alerts.acknowledge(world.svc, world.dan, code, on_behalf_of="Priya Shah")


def test_a_note_joins_the_alert_s_history_with_its_author(world: World) -> None:
    """Notes are stored, shown in order with the other steps, and limited to 1,000 characters."""
    code = world.crisis()
    alerts.add_note(world.svc, world.dan, code, "  Rang Sam; going to the GP tomorrow  ")
    history = alerts.detail(world.svc, world.priya, code).history
    notes = [h for h in history if h.kind == "note"]
    assert [(n.who, n.detail) for n in notes] == [("Dan Carter", "Rang Sam; going to the GP tomorrow")]
    assert history[0].kind == "raised" and history[-1].kind == "note"
    for bad in ("", "   ", "x" * 1001):
        with pytest.raises(InvalidInput):
            alerts.add_note(world.svc, world.dan, code, bad)


def test_closing_needs_an_outcome_records_the_acting_person_and_happens_once(world: World) -> None:
    """No empty outcome, no second close, and the closer is who acted, not a typed name."""
    code = world.crisis()
    with pytest.raises(InvalidInput, match="outcome"):
        alerts.close(world.svc, world.dan, code, "   ")
    closed = alerts.close(world.svc, world.dan, code, "Spoke to Sam; safe with family")
    assert closed.status == "closed"
    assert alerts.detail(world.svc, world.cora, code).closed_by == "Dan Carter"
    with pytest.raises(InvalidInput, match="already closed by Dan Carter"):
        alerts.close(world.svc, world.cora, code, "again")
    with pytest.raises(InvalidInput, match="already closed"):
        alerts.acknowledge(world.svc, world.cora, code)


def test_a_paused_staff_member_can_do_nothing(world: World) -> None:
    """Someone on leave (or gone) keeps no access: every unit of work reads their row again."""
    code = world.crisis()
    pause(world.svc, world.operator, "Dan Carter")
    with pytest.raises(NotAllowed):
        alerts.detail(world.svc, world.dan, code)


def test_the_service_itself_and_the_operator_see_every_alert(world: World) -> None:
    """Full rights: the loops and the shell."""
    code = world.crisis(LEE_PHONE)
    for actor in (Actor.system(), world.operator):
        assert [a.code for a in alerts.list_alerts(world.svc, actor)] == [code]
