"""The re-escalation ladder, fold rules and staff channel fall-through, with injected times."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from escalation.alert_view import AlertView, FindingView
from escalation.ladder import (
    AlertPeople,
    FoldAction,
    LadderDecision,
    LadderSettings,
    channel_plan,
    climb_ladder,
    fold_action,
    should_fold,
    upgraded,
)

T0 = datetime(2025, 3, 30, 0, 50, tzinfo=UTC)  # 10 minutes before the clocks go forward
MIN = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
SETTINGS = LadderSettings()
PEOPLE = AlertPeople(mentor_id=11, supervisor_id=22, duty_id=99)


def _alert(**changes: object) -> AlertView:
    base = AlertView(
        code="K7Q2", mentee_id=5, mentee_first_name="Jo", mentee_last_name="B",
        category="crisis", severity="urgent", created_at=T0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _who(decision: LadderDecision) -> set[int | str]:
    return {n.staff_id for n in decision.notifications}


def _run(alert: AlertView, times: list[datetime], people: AlertPeople = PEOPLE,
         settings: LadderSettings = SETTINGS) -> list[tuple[datetime, set[int | str]]]:
    """Drive the ladder like the service would: store each decision's step, record who was told."""
    told = []
    for now in times:
        decision = climb_ladder(alert, people, now, settings)
        if decision.notifications:
            told.append((now, _who(decision)))
        alert = dataclasses.replace(alert, step=decision.step)
    return told


# Urgent ladder


def test_urgent_alert_goes_to_mentor_and_supervisor_at_once() -> None:
    decision = climb_ladder(_alert(), PEOPLE, T0, SETTINGS)
    assert [(n.staff_id, n.role, n.reminder) for n in decision.notifications] == [
        (11, "mentor", False), (22, "supervisor", False),
    ]
    assert decision.step == 1
    assert decision.next_due == T0 + 15 * MIN


def test_nothing_more_one_second_before_fifteen_minutes() -> None:
    decision = climb_ladder(_alert(step=1), PEOPLE, T0 + 15 * MIN - SECOND, SETTINGS)
    assert decision.notifications == ()
    assert decision.step == 1
    assert decision.next_due == T0 + 15 * MIN


def test_at_fifteen_minutes_mentor_supervisor_and_duty_are_told_again() -> None:
    decision = climb_ladder(_alert(step=1), PEOPLE, T0 + 15 * MIN, SETTINGS)
    assert [(n.staff_id, n.role) for n in decision.notifications] == [
        (11, "mentor"), (22, "supervisor"), (99, "duty"),
    ]
    assert all(n.reminder for n in decision.notifications)
    assert decision.step == 2
    assert decision.next_due == T0 + 30 * MIN


def test_urgent_ladder_repeats_every_fifteen_minutes_until_acknowledged() -> None:
    ticks = [T0 + k * 30 * SECOND for k in range(0, 121)]  # a ticker every 30 s for an hour
    told = _run(_alert(), ticks)
    assert [when - T0 for when, _ in told] == [timedelta(0), 15 * MIN, 30 * MIN, 45 * MIN,
                                               60 * MIN]
    assert told[0][1] == {11, 22}
    assert all(who == {11, 22, 99} for _, who in told[1:])


def test_acknowledged_alert_stops_the_ladder() -> None:
    acked = _alert(step=2, acknowledged_at=T0 + 20 * MIN)
    decision = climb_ladder(acked, PEOPLE, T0 + 30 * MIN, SETTINGS)
    assert decision == LadderDecision((), 2, None)


def test_closed_alert_stops_the_ladder() -> None:
    closed = _alert(step=1, closed_at=T0 + 5 * MIN)
    assert climb_ladder(closed, PEOPLE, T0 + 15 * MIN, SETTINGS).next_due is None


def test_after_downtime_one_catch_up_notification_not_one_per_missed_step() -> None:
    """Service down from minute 1 to minute 52: one notification, to everyone, then back on time."""
    decision = climb_ladder(_alert(step=1), PEOPLE, T0 + 52 * MIN, SETTINGS)
    assert _who(decision) == {11, 22, 99}
    assert decision.step == 4  # rungs at 15, 30 and 45 minutes are all covered by this one
    assert decision.next_due == T0 + 60 * MIN


def test_alert_stored_but_never_sent_before_a_crash_still_reaches_the_duty_contact() -> None:
    decision = climb_ladder(_alert(step=0), PEOPLE, T0 + 20 * MIN, SETTINGS)
    assert _who(decision) == {11, 22, 99}
    assert decision.next_due == T0 + 30 * MIN


def test_late_ticks_do_not_push_the_ladder_back() -> None:
    told = _run(_alert(), [T0, T0 + 15 * MIN + 40 * SECOND, T0 + 30 * MIN])
    assert [when - T0 for when, _ in told] == [timedelta(0), 15 * MIN + 40 * SECOND, 30 * MIN]


def test_ladder_times_are_elapsed_time_across_a_clock_change() -> None:
    """The clocks go forward at 01:00 UTC on 30 March; the 15 minutes are real minutes."""
    decision = climb_ladder(_alert(step=1), PEOPLE, T0 + 15 * MIN, SETTINGS)
    assert decision.next_due == datetime(2025, 3, 30, 1, 20, tzinfo=UTC)


def test_custom_timings_are_used() -> None:
    settings = LadderSettings(urgent_reack_after=5 * MIN, repeat_every=2 * MIN)
    told = _run(_alert(), [T0 + k * MIN for k in range(0, 10)], settings=settings)
    assert [when - T0 for when, _ in told] == [timedelta(0), 5 * MIN, 7 * MIN, 9 * MIN]


# Concern ladder


def test_concern_goes_to_the_mentor_only_at_first() -> None:
    decision = climb_ladder(_alert(severity="concern"), PEOPLE, T0, SETTINGS)
    assert [(n.staff_id, n.role) for n in decision.notifications] == [(11, "mentor")]
    assert decision.next_due == T0 + timedelta(hours=1)


def test_concern_reaches_the_supervisor_within_an_hour_and_duty_at_a_day() -> None:
    concern = _alert(severity="concern")
    ticks = [T0 + k * MIN for k in range(0, 3 * 24 * 60 + 1, 1)]
    told = _run(concern, ticks)
    assert [(when - T0, who) for when, who in told] == [
        (timedelta(0), {11}),
        (timedelta(hours=1), {11, 22}),
        (timedelta(hours=24), {11, 22, 99}),
        (timedelta(hours=48), {11, 22, 99}),
        (timedelta(hours=72), {11, 22, 99}),
    ]


def test_concern_one_second_before_the_hour_tells_nobody_new() -> None:
    concern = _alert(severity="concern", step=1)
    decision = climb_ladder(concern, PEOPLE, T0 + timedelta(hours=1) - SECOND, SETTINGS)
    assert decision.notifications == ()


# Who can be reached


def test_same_person_in_two_roles_is_told_once() -> None:
    people = AlertPeople(mentor_id=11, supervisor_id=22, duty_id=22)
    decision = climb_ladder(_alert(step=1), people, T0 + 15 * MIN, SETTINGS)
    assert [(n.staff_id, n.role) for n in decision.notifications] == [
        (11, "mentor"), (22, "supervisor"),
    ]


def test_concern_for_a_mentee_without_a_mentor_goes_to_the_supervisor() -> None:
    people = AlertPeople(mentor_id=None, supervisor_id=22, duty_id=99)
    decision = climb_ladder(_alert(severity="concern"), people, T0, SETTINGS)
    assert [(n.staff_id, n.role) for n in decision.notifications] == [(22, "supervisor")]


def test_alert_with_nobody_to_reach_is_flagged_unroutable_not_dropped() -> None:
    nobody = AlertPeople(mentor_id=None, supervisor_id=None, duty_id=None)
    decision = climb_ladder(_alert(), nobody, T0, SETTINGS)
    assert decision.unroutable and decision.notifications == ()
    assert decision.next_due == T0 + 15 * MIN  # and it keeps coming back


def test_ladder_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="repeat_every"):
        LadderSettings(repeat_every=timedelta(0))
    with pytest.raises(ValueError, match="concern_duty_after"):
        LadderSettings(concern_duty_after=timedelta(hours=1))


# Folding duplicate flags


def _finding(severity: str = "urgent", category: str = "crisis", mentee_id: int = 5,
             evidence: frozenset[int] = frozenset()) -> FindingView:
    return FindingView(mentee_id=mentee_id, category=category, severity=severity,  # type: ignore[arg-type]
                       evidence_ids=evidence)


def test_duplicate_flag_within_the_window_folds_into_the_open_alert() -> None:
    assert fold_action(_alert(step=1), _finding(), T0 + 23 * timedelta(hours=1), SETTINGS) is (
        FoldAction.FOLD
    )
    assert should_fold(_alert(step=1), _finding(), T0 + timedelta(hours=24), SETTINGS)


def test_flag_after_the_window_raises_a_new_alert() -> None:
    assert not should_fold(_alert(step=1), _finding(),
                           T0 + timedelta(hours=24) + SECOND, SETTINGS)


def test_window_counts_from_the_last_flag_folded_in() -> None:
    alert = _alert(step=1, last_finding_at=T0 + timedelta(hours=20))
    assert should_fold(alert, _finding(), T0 + timedelta(hours=40), SETTINGS)


@pytest.mark.parametrize(
    "finding", [_finding(category="housing"), _finding(mentee_id=6)], ids=["category", "mentee"]
)
def test_different_category_or_mentee_never_folds(finding: FindingView) -> None:
    assert fold_action(_alert(), finding, T0 + MIN, SETTINGS) is FoldAction.NEW_ALERT


def test_closed_alert_never_takes_a_new_flag() -> None:
    closed = _alert(closed_at=T0 + MIN)
    assert fold_action(closed, _finding(), T0 + 2 * MIN, SETTINGS) is FoldAction.NEW_ALERT
    assert fold_action(None, _finding(), T0, SETTINGS) is FoldAction.NEW_ALERT


def test_urgent_flag_on_an_open_concern_upgrades_it_and_pages_again_at_once() -> None:
    concern = _alert(severity="concern", step=1)
    now = T0 + timedelta(hours=2)
    assert fold_action(concern, _finding("urgent"), now, SETTINGS) is FoldAction.UPGRADE
    assert should_fold(concern, _finding("urgent"), now, SETTINGS)
    decision = climb_ladder(upgraded(concern, now), PEOPLE, now, SETTINGS)
    assert _who(decision) == {11, 22}
    assert decision.next_due == now + 15 * MIN


def test_concern_flag_on_an_urgent_alert_just_folds() -> None:
    assert fold_action(_alert(step=1), _finding("concern"), T0 + MIN, SETTINGS) is FoldAction.FOLD


def test_urgent_flag_after_acknowledgement_pages_again_as_a_new_alert() -> None:
    acked = _alert(step=1, acknowledged_at=T0 + 5 * MIN)
    assert fold_action(acked, _finding("urgent", evidence=frozenset({8})), T0 + 10 * MIN,
                       SETTINGS) is FoldAction.NEW_ALERT
    acked_concern = dataclasses.replace(acked, severity="concern")
    assert fold_action(acked_concern, _finding("urgent"), T0 + 10 * MIN, SETTINGS) is (
        FoldAction.NEW_ALERT
    )


def test_concern_flag_after_acknowledgement_folds() -> None:
    acked = _alert(step=1, acknowledged_at=T0 + 5 * MIN)
    assert fold_action(acked, _finding("concern"), T0 + 10 * MIN, SETTINGS) is FoldAction.FOLD


def test_rolling_window_reflagging_messages_already_in_the_alert_folds() -> None:
    acked = _alert(step=1, acknowledged_at=T0 + 5 * MIN, evidence_ids=frozenset({7, 8}))
    finding = _finding("urgent", evidence=frozenset({8}))
    assert fold_action(acked, finding, T0 + timedelta(days=3), SETTINGS) is FoldAction.FOLD


# Channel fall-through


@pytest.mark.parametrize(
    ("failed", "expected"),
    [(set(), "sms"), ({"sms"}, "telegram"), ({"sms", "telegram"}, "email"),
     ({"telegram"}, "sms"), ({"sms", "telegram", "email"}, None)],
)
def test_channel_plan_falls_through_permanent_failures_in_order(
    failed: set[str], expected: str | None
) -> None:
    assert channel_plan(["sms", "telegram", "email"], failed) == expected


def test_staff_member_without_channels_has_no_plan() -> None:
    assert channel_plan([], set()) is None


# No alarm fatigue for no contact


def test_a_no_contact_concern_repeats_with_the_gap_doubling_after_the_duty_rung() -> None:
    silent = _alert(category="no_contact", severity="concern")
    ticks = [T0 + k * timedelta(hours=1) for k in range(0, 40 * 24 + 1)]
    told = _run(silent, ticks)
    assert [when - T0 for when, _ in told] == [
        timedelta(0), timedelta(hours=1), timedelta(days=1), timedelta(days=2), timedelta(days=4),
        timedelta(days=8), timedelta(days=16), timedelta(days=32)]


def test_after_downtime_a_no_contact_ladder_catches_up_once() -> None:
    silent = _alert(category="no_contact", severity="concern", step=3)
    decision = climb_ladder(silent, PEOPLE, T0 + timedelta(days=20), SETTINGS)
    assert len(decision.notifications) == 3  # one catch-up to all three, not one per missed repeat
    assert decision.next_due == T0 + timedelta(days=32)


def test_every_no_contact_finding_folds_into_the_open_alert_however_old() -> None:
    from escalation.alert_view import FindingView
    from escalation.ladder import FoldAction, fold_action

    alert = _alert(category="no_contact", severity="concern", last_finding_at=T0)
    finding = FindingView(5, "no_contact", "concern", frozenset())
    later = T0 + timedelta(days=90)
    assert fold_action(alert, finding, later, SETTINGS) is FoldAction.FOLD
    acked = _alert(category="no_contact", severity="concern", acknowledged_at=T0)
    assert fold_action(acked, finding, later, SETTINGS) is FoldAction.FOLD
    # Other categories still open a new alert once the fold window has passed.
    housing = _alert(category="housing", severity="concern", last_finding_at=T0)
    assert fold_action(housing, FindingView(5, "housing", "concern", frozenset({7})), later,
                       SETTINGS) is FoldAction.NEW_ALERT
