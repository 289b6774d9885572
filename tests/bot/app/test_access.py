"""The access rules as pure decisions, one table each."""

from __future__ import annotations

import pytest

from bot.app.access import Case, Rights, may_assign, may_handle_alert, may_manage, may_see

DAN, PRIYA, DEE, CORA, OMAR = 1, 2, 3, 4, 5
SAMS = Case(mentor_id=DAN, supervisor_id=PRIYA, live_alert=False)
SAMS_ALERTED = Case(mentor_id=DAN, supervisor_id=PRIYA, live_alert=True)
MENTOR = Rights(DAN, "mentor")
OTHER_MENTOR = Rights(OMAR, "mentor")
SUPERVISOR = Rights(PRIYA, "supervisor")
DUTY = Rights(DEE, "supervisor", is_duty=True)
COORDINATOR = Rights(CORA, "coordinator", full=True)


@pytest.mark.parametrize("rights,case,seen", [
    (MENTOR, SAMS, True), (OTHER_MENTOR, SAMS, False), (SUPERVISOR, SAMS, True),
    (DUTY, SAMS, False), (DUTY, SAMS_ALERTED, True), (COORDINATOR, SAMS, True),
    (Rights.everything(), SAMS, True), (Rights(None, None), SAMS, False),
])
def test_who_sees_a_mentee(rights: Rights, case: Case, seen: bool) -> None:
    """Own, team, duty while an alert is live, or full rights; nobody else."""
    assert may_see(rights, case) is seen


@pytest.mark.parametrize("rights,allowed", [
    (MENTOR, True), (SUPERVISOR, True), (DUTY, False), (OTHER_MENTOR, False), (COORDINATOR, True)])
def test_seeing_a_mentee_for_an_alert_is_not_enough_to_manage_them(rights: Rights, allowed: bool) -> None:
    """The duty contact sees an alerted mentee but cannot change their plan or status."""
    assert may_manage(rights, SAMS_ALERTED) is allowed


@pytest.mark.parametrize("rights,allowed", [
    (MENTOR, True), (SUPERVISOR, True), (DUTY, True), (OTHER_MENTOR, False), (COORDINATOR, True),
    (Rights(CORA, "coordinator"), True),  # a coordinator by role, even without full rights
])
def test_who_may_acknowledge_or_close_an_alert(rights: Rights, allowed: bool) -> None:
    """escalation.acks.may_acknowledge, extended to coordinators."""
    assert may_handle_alert(rights, SAMS_ALERTED) is allowed


@pytest.mark.parametrize("rights,new_mentors_supervisor,allowed", [
    (COORDINATOR, OMAR, True), (SUPERVISOR, PRIYA, True), (SUPERVISOR, 99, False),
    (MENTOR, PRIYA, False)])
def test_who_may_give_a_mentee_to_a_mentor(rights: Rights, new_mentors_supervisor: int,
                                           allowed: bool) -> None:
    """A coordinator to anyone; a supervisor only within their own team."""
    assert may_assign(rights, new_mentors_supervisor) is allowed
