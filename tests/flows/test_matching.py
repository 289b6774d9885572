"""Mentor matching: pure rules, then suggestions and assignment through bot.app."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import matching, mentees
from bot.app.errors import InvalidInput
from bot.matching import MenteeFacts, MentorFacts, suggest, words
from bot.storage.models import MentorAssignment
from tests.bot.app.conftest import World


def mentor(name: str, **facts: object) -> MentorFacts:
    return MentorFacts(staff_id=hash(name) % 1000, name=name, **facts)  # type: ignore[arg-type]


def test_never_a_mentor_at_their_caseload_limit() -> None:
    full = mentor("Ann", caseload=5, caseload_limit=5)
    room = mentor("Bea", caseload=4, caseload_limit=5)
    found = suggest(MenteeFacts(), [full, room])
    assert [s.mentor.name for s in found.suggestions] == ["Bea"]
    assert found.left_out[0].reason == "caseload full (5 of 5)"


def test_a_preference_for_a_woman_mentor_is_a_must() -> None:
    found = suggest(MenteeFacts(wants_mentor_gender="woman"),
                    [mentor("Dan", gender="man"), mentor("Kay", gender="woman"), mentor("Lou")])
    assert [s.mentor.name for s in found.suggestions] == ["Kay"]
    assert "a woman, as asked" in found.suggestions[0].reasons
    assert {o.mentor.name: o.reason for o in found.left_out} == {
        "Dan": "the mentee asked for a woman mentor",
        "Lou": "the mentee asked for a woman mentor (gender not recorded)"}


def test_each_suggestion_is_explained_and_the_best_fit_comes_first() -> None:
    mentee = MenteeFacts(area="Leeds", languages=words("en,cy"), needs=words("prison, addiction, housing"))
    near = mentor("Ann", area="leeds", caseload=2, caseload_limit=8)
    lived = mentor("Bob", lived_experience=words("prison,addiction"), languages=words("en,cy"),
                   skills=words("housing"), caseload=7, caseload_limit=8)
    found = suggest(mentee, [near, lived, mentor("Cat", active=False)])
    assert [s.mentor.name for s in found.suggestions] == ["Bob", "Ann"]
    assert found.suggestions[0].reasons == ("lived experience of addiction, prison", "speaks cy",
                                            "skills: housing", "7 of 8 places taken")
    assert found.suggestions[1].reasons == ("same area (leeds)", "2 of 8 places taken")
    assert found.left_out[0].reason == "paused (on leave)"


def test_suggestions_and_assignment_through_the_app(world: World) -> None:
    matching.set_staff_facts(world.svc, world.operator, "Omar Hill",
                             matching.StaffFactChanges(caseload_limit="1"))
    matching.set_staff_facts(world.svc, world.operator, "Dan Carter", matching.StaffFactChanges(
        area="Leeds", lived_experience="prison", caseload_limit="3"))
    matching.set_mentee_facts(world.svc, world.operator, world.sam, matching.MenteeFactChanges(
        area="leeds", needs="prison"))
    found = matching.suggestions(world.svc, world.operator, world.sam)
    assert [s.mentor.name for s in found.suggestions] == ["Dan Carter"]
    assert found.suggestions[0].reasons[:2] == ("lived experience of prison", "same area (leeds)")
    assert [(o.mentor.name, o.reason) for o in found.left_out] == [("Omar Hill", "caseload full (1 of 1)")]
    with pytest.raises(InvalidInput, match="Omar Hill's caseload is full"):
        matching.assign(world.svc, world.operator, world.sam, "Omar Hill")
    done = matching.assign(world.svc, world.operator, world.sam, "Dan Carter")
    assert done.reason.startswith("suggested: lived experience of prison; same area (leeds)")
    with world.svc.sessions() as s:
        [record] = s.scalars(select(MentorAssignment)).all()
    assert record.chosen_by == world.operator.label and record.reason == done.reason
    assert world.audited("mentee.assign")


def test_a_supervisor_sees_only_mentors_they_may_assign_to(world: World) -> None:
    found = matching.suggestions(world.svc, world.priya, world.sam)
    assert {s.mentor.name for s in found.suggestions} == {"Dan Carter"}


def test_bad_facts_are_one_clear_line(world: World) -> None:
    with pytest.raises(InvalidInput, match="caseload limit must be a whole number from 1, got 'lots'"):
        matching.set_staff_facts(world.svc, world.operator, "Dan Carter",
                                 matching.StaffFactChanges(caseload_limit="lots"))
    with pytest.raises(InvalidInput, match="language 'fr' has no wording catalogue; known: cy, en"):
        matching.set_mentee_facts(world.svc, world.operator, world.sam,
                                  matching.MenteeFactChanges(language="fr"))
    mentees.list_mentees(world.svc, world.operator)  # still readable
