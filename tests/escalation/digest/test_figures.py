"""Digest figures for the hand-built 2026-W43 caseload (see digest_caseload.py), worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from escalation.digest.figures import (
    Digest,
    DigestRules,
    Engagement,
    MenteeFigures,
    mentor_digest,
    supervisor_digest,
)
from escalation.digest.reasons import (
    AlertConcern,
    MissedStreak,
    MoodFalling,
    NoContact,
    OptedOut,
    Unreachable,
)
from escalation.digest.records import DigestRecords, Mentee, Mentor, Supervisor
from escalation.digest.week import parse_week

from .digest_caseload import ANA, JO, LEE, MO, SAM, uk

W43 = parse_week("2026-W43")


def _mentee(digest: Digest, mentee_id: int) -> MenteeFigures:
    return next(m for m in digest.mentees if m.id == mentee_id)


def _counts(e: Engagement) -> tuple[int, int, int, int]:
    return (e.sent, e.answered, e.missed, e.pending)


def test_a_supervisor_sees_only_their_own_mentors_and_current_mentees(records: DigestRecords) -> None:
    """Cal belongs to another supervisor; Old opted out before the week and is off the caseload."""
    digest = supervisor_digest(records, 1, W43)
    assert [m.name for m in digest.mentors] == ["Alex Moss", "Bea Khan"]
    assert [m.name for m in digest.mentors[0].mentees] == ["Jo P.", "Sam K."]
    assert [m.name for m in digest.mentors[1].mentees] == ["Ana B.", "Lee D.", "Mo R."]
    assert {a.code for a in digest.alerts} == {"A1", "A2"}


def test_check_ins_are_counted_in_the_uk_week_across_the_clock_change(records: DigestRecords) -> None:
    """Sam's 00:30 Monday (BST) and 23:30 Sunday (GMT) check-ins are in W43; Monday 26th's is not."""
    sam = _mentee(supervisor_digest(records, 1, W43), SAM)
    assert _counts(sam.engagement) == (4, 2, 2, 0)
    assert sam.engagement.rate == 0.5
    assert sam.engagement.median_reply == timedelta(minutes=21)


def test_a_mentee_who_joined_mid_week_counts_only_from_joining(records: DigestRecords) -> None:
    """Jo joined on Thursday: Wednesday's message is not hers to miss; Saturday's is still open."""
    jo = _mentee(supervisor_digest(records, 1, W43), JO)
    assert jo.counted_from == uk(10, 22, 12)
    assert _counts(jo.engagement) == (2, 1, 0, 1)
    assert jo.engagement.rate == 1.0
    assert [c.before_joining for c in jo.mood_row] == [True] * 7 + [False]
    assert jo.mood_row[-1].mean == 5.0
    assert jo.reasons == ()


def test_each_mentor_has_counts_rate_trend_and_median_reply(records: DigestRecords) -> None:
    alex, bea = supervisor_digest(records, 1, W43).mentors
    assert _counts(alex.engagement) == (6, 3, 2, 1)
    assert alex.engagement.rate == pytest.approx(0.6)
    assert alex.previous.rate == pytest.approx(0.75)  # Sam, W39-W42: 6 of 8
    assert alex.trend_points == -15
    assert alex.engagement.median_reply == timedelta(minutes=12)  # 5, 12, 30

    assert _counts(bea.engagement) == (3, 2, 1, 0)
    assert bea.previous.rate == 1.0
    assert bea.trend_points == -33
    assert bea.engagement.median_reply == timedelta(minutes=90)  # 60, 120


def test_digest_totals_add_up_the_mentors(records: DigestRecords) -> None:
    digest = supervisor_digest(records, 1, W43)
    assert _counts(digest.totals) == (9, 5, 3, 1)
    assert _counts(digest.previous_totals) == (12, 10, 2, 0)


def test_needs_a_look_lists_each_flagged_mentee_once_most_urgent_first(records: DigestRecords) -> None:
    """An unacknowledged alert first, then a late one, then unreachable, then opted out; Jo is fine."""
    flagged = supervisor_digest(records, 1, W43).needs_a_look
    assert [(m.name, [type(r) for r in m.reasons]) for m in flagged] == [
        ("Lee D.", [AlertConcern, NoContact]),
        ("Sam K.", [AlertConcern, MissedStreak]),
        ("Ana B.", [Unreachable]),
        ("Mo R.", [OptedOut, MoodFalling]),
    ]


def test_reasons_carry_the_facts_behind_them(records: DigestRecords) -> None:
    digest = supervisor_digest(records, 1, W43)
    lee, sam, ana, mo = digest.needs_a_look
    assert lee.reasons[1] == NoContact(days=11, since=uk(10, 14, 18))
    assert sam.reasons[1] == MissedStreak(2)
    assert ana.reasons == (Unreachable(uk(10, 24, 9)),)
    assert mo.reasons == (OptedOut(uk(10, 22, 15)), MoodFalling(earlier=4.0, this_week=2.0))


def test_alerts_show_time_to_acknowledge_lateness_and_the_ladder(records: DigestRecords) -> None:
    """A1 (urgent, 15 min target) took 40 min; A2 (concern, 4 h target) was never acknowledged."""
    a1, a2 = supervisor_digest(records, 1, W43).alerts
    assert (a1.code, a1.time_to_ack, a1.late, a1.state, a1.ladder_fired) == (
        "A1", timedelta(minutes=40), True, "closed", True)
    assert (a2.code, a2.time_to_ack, a2.late, a2.state, a2.ladder_fired) == (
        "A2", None, True, "unacknowledged", True)


def test_an_old_alert_handled_on_time_is_not_news(records: DigestRecords) -> None:
    ana = _mentee(supervisor_digest(records, 1, W43), ANA)
    assert ana.alerts_raised == 0
    assert not any(isinstance(r, AlertConcern) for r in ana.reasons)


def test_an_alert_acknowledged_within_its_target_is_not_late(records: DigestRecords) -> None:
    quick = replace(records.alerts[0], acknowledged_at=uk(10, 20, 14, 15))
    records = replace(records, alerts=(quick, *records.alerts[1:]))
    sam = _mentee(supervisor_digest(records, 1, W43), SAM)
    assert [type(r) for r in sam.reasons] == [MissedStreak]


def test_the_mood_row_covers_eight_weeks_oldest_first(records: DigestRecords) -> None:
    digest = supervisor_digest(records, 1, W43)
    assert [w.label for w in digest.mood_weeks][0::7] == ["2026-W36", "2026-W43"]
    sam = _mentee(digest, SAM)
    assert [c.mean for c in sam.mood_row] == [None, None, None, 4.0, 4.0, 4.0, 4.0, 3.5]
    assert not any(c.before_joining for c in sam.mood_row)
    assert [c.answers for c in sam.mood_row][-2:] == [2, 2]


def test_a_later_cut_off_sees_acknowledgements_made_after_the_week(records: DigestRecords) -> None:
    """Run at 08:00 Monday: A2 was acknowledged at 07:00, so it is late but no longer unacknowledged."""
    acked = replace(records.alerts[1], acknowledged_at=uk(10, 26, 7))
    records = replace(records, alerts=(records.alerts[0], acked, *records.alerts[2:]))
    at_end = supervisor_digest(records, 1, W43)
    at_eight = supervisor_digest(records, 1, W43, as_of=uk(10, 26, 8))
    assert next(a for a in at_end.alerts if a.code == "A2").state == "unacknowledged"
    a2 = next(a for a in at_eight.alerts if a.code == "A2")
    assert (a2.state, a2.late) == ("acknowledged", True)
    # Monday 26th's check-in is known by then but belongs to next week.
    assert _counts(_mentee(at_eight, SAM).engagement) == (4, 2, 2, 0)


def test_thresholds_are_configurable(records: DigestRecords) -> None:
    relaxed = DigestRules(no_contact_days=12, missed_streak=3, mood_drop=2.5)
    digest = supervisor_digest(records, 1, W43, relaxed)
    flagged = {m.name: [type(r) for r in m.reasons] for m in digest.needs_a_look}
    assert flagged == {
        "Lee D.": [AlertConcern],
        "Sam K.": [AlertConcern],
        "Ana B.": [Unreachable],
        "Mo R.": [OptedOut],
    }


def test_an_unknown_severity_gets_the_strictest_acknowledgement_target(records: DigestRecords) -> None:
    """A1 with a severity nobody configured: 40 min to acknowledge is still late (15 min target)."""
    odd = replace(records.alerts[0], severity="something-new")
    records = replace(records, alerts=(odd, *records.alerts[1:]))
    a1 = next(a for a in supervisor_digest(records, 1, W43).alerts if a.code == "A1")
    assert a1.late


def test_acknowledgement_targets_are_configurable(records: DigestRecords) -> None:
    relaxed = DigestRules(ack_targets={"urgent": timedelta(hours=1), "concern": timedelta(days=7)})
    a1, a2 = supervisor_digest(records, 1, W43, relaxed).alerts
    assert (a1.late, a2.late) == (False, False)


def test_a_mentee_who_never_wrote_is_silent_since_joining(records: DigestRecords) -> None:
    records = replace(records, checkins=(), contacts=())
    lee = _mentee(supervisor_digest(records, 1, W43), LEE)
    assert NoContact(days=(W43.end - uk(6, 1, 9)) // timedelta(days=1), since=None) in lee.reasons


def test_an_opted_out_mentee_is_not_also_chased_for_silence(records: DigestRecords) -> None:
    records = replace(records, contacts=(), checkins=())
    mo = _mentee(supervisor_digest(records, 1, W43), MO)
    assert not any(isinstance(r, NoContact) for r in mo.reasons)


def test_a_mentor_digest_covers_only_their_own_mentees(records: DigestRecords) -> None:
    digest = mentor_digest(records, 11, W43)
    assert (digest.audience, digest.recipient_name, digest.recipient_email) == (
        "mentor", "Bea Khan", "bea@example.org")
    assert [m.name for m in digest.mentors] == ["Bea Khan"]
    assert [m.name for m in digest.needs_a_look] == ["Lee D.", "Ana B.", "Mo R."]
    assert {a.code for a in digest.alerts} == {"A2"}


def test_the_same_records_always_give_the_same_digest(records: DigestRecords) -> None:
    assert supervisor_digest(records, 1, W43) == supervisor_digest(records, 1, W43)


def test_an_unknown_supervisor_or_mentor_is_an_error(records: DigestRecords) -> None:
    with pytest.raises(LookupError, match="supervisor with id 99"):
        supervisor_digest(records, 99, W43)
    with pytest.raises(LookupError, match="mentor with id 99"):
        mentor_digest(records, 99, W43)


def test_a_quiet_week_with_no_history_has_no_rates_and_nobody_flagged() -> None:
    joined = datetime(2026, 11, 25, 12, tzinfo=UTC)
    records = DigestRecords(
        (Supervisor(1, "S", "s@example.org"),), (Mentor(2, "M", 1),),
        (Mentee(3, "New", "Person", 2, joined, "active"),),
    )
    digest = supervisor_digest(records, 1, parse_week("2026-W48"))
    assert digest.totals.rate is None and digest.mentors[0].trend_points is None
    assert digest.totals.median_reply is None
    assert digest.needs_a_look == ()
