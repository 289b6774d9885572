"""Issue 13 on the staff app, over real HTTP: a plan's flow on the plan page, a mentee's safe
contact (times, discreet mode, code word, language) and mentor matching, each through bot.app
(access checked there, audited), each form refused without its CSRF token."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import matching
from bot.storage.models import AuditEntry, Mentee, MentorAssignment
from tests.bot.staff.conftest import SAM_PHONE, StaffWeb


def _sam(web: StaffWeb) -> Mentee:
    with web.svc.sessions() as s:
        m = s.get(Mentee, web.world.sam)
        assert m is not None
        s.expunge(m)
        return m


def _audit(web: StaffWeb, action: str) -> list[AuditEntry]:
    return web.world.audited(action)


# ---- the flow a plan names ---------------------------------------------------------------------
def test_the_coordinator_picks_a_flow_for_a_plan_and_the_check_in_asks_its_questions(web: StaffWeb) -> None:
    """Tuesday 10:30: plan "wed 10:00" with the monthly flow; on Wednesday Sam gets the monthly
    questions, not the weekly ones."""
    client = web.client(web.world.cora)
    path = f"/staff/admin/mentees/{web.world.sam}/plan"
    page = client.get(path)
    assert page.status_code == 200
    assert '<option value="monthly">' in page.text and '<option value="release_week">' in page.text
    assert 'value="safe_check"' not in page.text  # asked by itself after a domestic-abuse flag
    done = web.post(client, path, {"plan": "wed 10:00", "flow": "monthly"}, csrf_from=path)
    assert done.status_code == 303
    assert _sam(web).flow == "monthly"
    assert "flow monthly" in _audit(web, "mentee.plan")[-1].detail
    shown = client.get(path).text
    assert '<option value="monthly" selected>' in shown and "flow <strong>monthly</strong>" in shown
    web.world.clock.advance(hours=23, minutes=35)  # Wednesday 10:05
    web.settle()
    texts = web.svc.channels["console"].texts_for(SAM_PHONE)  # type: ignore[attr-defined]
    assert any("it's your monthly check-in" in t for t in texts), texts


def test_an_unknown_flow_is_one_line_and_changes_nothing(web: StaffWeb) -> None:
    client = web.client(web.world.cora)
    path = f"/staff/admin/mentees/{web.world.sam}/plan"
    done = web.post(client, path, {"plan": "wed 10:00", "flow": "nope"}, csrf_from=path)
    assert done.status_code == 400
    assert 'role="alert"' in done.text and "nope" in done.text and "Traceback" not in done.text
    sam = _sam(web)
    assert sam.flow is None and sam.plan is None


def test_a_plan_time_inside_quiet_hours_is_accepted_with_a_warning_saying_when_it_goes(web: StaffWeb) -> None:
    client = web.client(web.world.cora)
    path = f"/staff/admin/mentees/{web.world.sam}/plan"
    assert web.post(client, path, {"plan": "wed 07:00"}, csrf_from=path).status_code == 303
    page = client.get(path).text
    assert 'class="warn"' in page and "quiet hours" in page and "07:00" in page


def test_the_plan_form_without_its_csrf_token_does_nothing(web: StaffWeb) -> None:
    client = web.client(web.world.cora)
    done = client.post(f"/staff/admin/mentees/{web.world.sam}/plan",
                       data={"plan": "wed 10:00", "flow": "monthly"})
    assert done.status_code == 403 and _sam(web).flow is None


# ---- safe contact ------------------------------------------------------------------------------
def test_sams_mentor_sets_safe_contact_and_the_code_word_is_never_shown_or_logged(web: StaffWeb) -> None:
    client = web.client(web.world.dan)
    path = f"/staff/mentees/{web.world.sam}/safety"
    assert "Safe contact" in client.get(f"/staff/mentees/{web.world.sam}").text
    done = web.post(client, path, {"windows": "mon-fri 10:00-14:00", "discreet": "yes",
                                   "code_word": "Blue Kettle", "safe_to_text": "yes",
                                   "language": "cy"}, csrf_from=path)
    assert done.status_code == 303, done.text[:300]
    sam = _sam(web)
    assert (sam.safe_windows, sam.discreet, sam.code_word, sam.language) == (
        "mon-fri 10:00-14:00", True, "blue kettle", "cy")
    entry = _audit(web, "mentee.safety")[-1]
    assert entry.actor_staff_id == web.world.dan.staff_id
    assert "code word set" in entry.detail and "language cy" in entry.detail
    page = client.get(path).text
    assert "kettle" not in page.lower() and "one is set; it is never shown" in page
    assert 'value="mon-fri 10:00-14:00"' in page and '<option value="cy" selected>' in page
    # Leaving the word empty keeps it; ticking "remove" clears it.
    web.post(client, path, {"windows": "mon-fri 10:00-14:00", "discreet": "yes"}, csrf_from=path)
    assert _sam(web).code_word == "blue kettle"
    web.post(client, path, {"windows": "", "discreet": "no", "clear_code_word": "yes"}, csrf_from=path)
    sam = _sam(web)
    assert (sam.safe_windows, sam.discreet, sam.code_word) == (None, False, None)


@pytest.mark.parametrize("who", ["omar", "zoe"])
def test_staff_who_may_not_change_sam_cannot_open_or_post_safe_contact(web: StaffWeb, who: str) -> None:
    """Another team's mentor or supervisor: Sam is not theirs to see (404), and a POST does
    nothing."""
    client = web.client(getattr(web.world, who))
    path = f"/staff/mentees/{web.world.sam}/safety"
    assert client.get(path).status_code in (403, 404)
    done = web.post(client, path, {"windows": "", "discreet": "yes", "code_word": "x"})
    assert done.status_code in (403, 404)
    sam = _sam(web)
    assert not sam.discreet and sam.code_word is None
    assert _audit(web, "mentee.safety") == []


@pytest.mark.parametrize(("form", "says"), [
    ({"windows": "someday 10-14", "discreet": "no"}, "safe-to-text windows"),
    ({"windows": "", "discreet": "no", "code_word": "STOP"}, "service keyword"),
    ({"windows": "", "discreet": "no", "language": "fr"}, "no wording catalogue"),
    ({"windows": "", "discreet": "maybe"}, "discreet mode"),
])
def test_a_bad_safe_contact_form_is_one_line_and_stores_nothing(web: StaffWeb, form: dict[str, str],
                                                                says: str) -> None:
    client = web.client(web.world.dan)
    path = f"/staff/mentees/{web.world.sam}/safety"
    done = web.post(client, path, form, csrf_from=path)
    assert done.status_code == 400 and says in done.text and "Traceback" not in done.text
    sam = _sam(web)
    assert (sam.safe_windows, sam.discreet, sam.code_word, sam.language) == (None, False, None, "en")


def test_the_safe_contact_form_without_its_csrf_token_does_nothing(web: StaffWeb) -> None:
    client = web.client(web.world.dan)
    done = client.post(f"/staff/mentees/{web.world.sam}/safety",
                       data={"windows": "", "discreet": "yes"})
    assert done.status_code == 403 and not _sam(web).discreet


# ---- mentor matching ---------------------------------------------------------------------------
def test_matching_suggests_with_reasons_never_over_a_caseload_and_records_the_choice(web: StaffWeb) -> None:
    w = web.world
    matching.set_mentee_facts(web.svc, w.operator, w.sam, matching.MenteeFactChanges(
        wants_mentor_gender="woman", area="cardiff"))
    matching.set_staff_facts(web.svc, w.operator, "Omar Hill", matching.StaffFactChanges(
        gender="man", area="cardiff", caseload_limit="1"))  # Omar has Lee: full
    added = web.svc  # a third mentor, a woman in Cardiff with room
    from bot.app import staff

    staff.add(added, w.operator, staff.NewStaff("Ffion Rees", "mentor", phone="+447700900009",
                                                supervisor="Priya Shah"))
    matching.set_staff_facts(web.svc, w.operator, "Ffion Rees", matching.StaffFactChanges(
        gender="woman", area="cardiff", caseload_limit="5"))
    client = web.client(w.cora)
    path = f"/staff/mentees/{w.sam}/match"
    page = client.get(path)
    assert page.status_code == 200
    suggested, _, left_out = page.text.partition("Not suggested")
    assert "Ffion Rees" in suggested and "Omar Hill" not in suggested
    assert "Omar Hill" in left_out and "caseload" in left_out
    assert "woman" in suggested.split("Ffion Rees", 1)[1]  # the reason names the preference
    mentor_id = suggested.split('name="mentor" value="', 1)[1].split('"', 1)[0]
    done = web.post(client, path, {"mentor": mentor_id, "reason": "asked for a woman"}, csrf_from=path)
    assert done.status_code == 303
    with web.svc.sessions() as s:
        row = s.scalars(select(MentorAssignment).order_by(MentorAssignment.id.desc())).first()
        assert row is not None and row.reason == "asked for a woman" and "Cora" in row.chosen_by
        assert s.get(Mentee, w.sam).mentor_id == int(mentor_id)  # type: ignore[union-attr]
    assert _audit(web, "mentee.assign")


def test_a_mentor_at_their_limit_cannot_be_given_a_mentee_by_a_forged_form(web: StaffWeb) -> None:
    w = web.world
    matching.set_staff_facts(web.svc, w.operator, "Omar Hill", matching.StaffFactChanges(caseload_limit="1"))
    client = web.client(w.cora)
    path = f"/staff/mentees/{w.sam}/match"
    done = web.post(client, path, {"mentor": str(w.omar.staff_id)}, csrf_from=path)
    assert done.status_code == 400 and "caseload is full" in done.text
    assert _sam(web).mentor_id == w.dan.staff_id


def test_another_team_cannot_see_matching_for_sam_and_the_form_needs_its_token(web: StaffWeb) -> None:
    w = web.world
    omar = web.client(w.omar)
    assert omar.get(f"/staff/mentees/{w.sam}/match").status_code in (403, 404)
    cora = web.client(w.cora)
    done = cora.post(f"/staff/mentees/{w.sam}/match", data={"mentor": str(w.omar.staff_id)})
    assert done.status_code == 403 and _sam(web).mentor_id == w.dan.staff_id
