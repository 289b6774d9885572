"""Every number in the digest, computed purely from records, a week and a cut-off instant.

Nothing here reads the clock or the database: the same records, week and `as_of` always give the
same digest, so a re-run or a late run reports exactly what the first one did.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from escalation.digest.reasons import (
    AlertConcern,
    MissedStreak,
    MoodFalling,
    NoContact,
    OptedOut,
    Reason,
    Unreachable,
    urgency,
)
from escalation.digest.records import AlertRecord, CheckinRecord, DigestRecords, Mentee, Mentor
from escalation.digest.results import (
    AlertFigure,
    Digest,
    DigestRules,
    Engagement,
    MenteeFigures,
    MentorFigures,
    MoodCell,
    trend_points,
)
from escalation.digest.week import Week


def supervisor_digest(
    records: DigestRecords,
    supervisor_id: int,
    week: Week,
    rules: DigestRules = DigestRules(),
    as_of: datetime | None = None,
) -> Digest:
    """The digest for one supervisor: every mentor they supervise and those mentors' mentees.

    `as_of` (default: the end of the week) is when open alerts, silence and streaks are judged;
    anything recorded after it is ignored.
    """
    supervisor = next((s for s in records.supervisors if s.id == supervisor_id), None)
    if supervisor is None:
        raise LookupError(f"no supervisor with id {supervisor_id} in the digest records")
    mentors = [m for m in records.mentors if m.supervisor_id == supervisor_id]
    return _digest(
        "supervisor", supervisor.name, supervisor.email, mentors, records, week, rules, as_of
    )


def mentor_digest(
    records: DigestRecords,
    mentor_id: int,
    week: Week,
    rules: DigestRules = DigestRules(),
    as_of: datetime | None = None,
) -> Digest:
    """The digest for one mentor: their own mentees only."""
    mentor = next((m for m in records.mentors if m.id == mentor_id), None)
    if mentor is None:
        raise LookupError(f"no mentor with id {mentor_id} in the digest records")
    return _digest("mentor", mentor.name, mentor.email, [mentor], records, week, rules, as_of)


@dataclass(frozen=True)
class _History:
    """The records indexed by mentee, cut off at `as_of`."""

    checkins: Mapping[int, tuple[CheckinRecord, ...]]
    alerts: Mapping[int, tuple[AlertRecord, ...]]
    last_inbound: Mapping[int, datetime]


def _digest(
    audience: Literal["supervisor", "mentor"],
    name: str,
    email: str | None,
    mentors: list[Mentor],
    records: DigestRecords,
    week: Week,
    rules: DigestRules,
    as_of: datetime | None,
) -> Digest:
    cutoff = max(as_of or week.end, week.end)
    history = _index(records, cutoff)
    figures = tuple(
        _mentor_figures(mentor, records.mentees, history, week, rules, cutoff)
        for mentor in sorted(mentors, key=lambda m: (m.name.casefold(), m.id))
    )
    flagged = [m for mentor in figures for m in mentor.mentees if m.reasons]
    flagged.sort(key=lambda m: (min(urgency(r) for r in m.reasons), m.name.casefold(), m.id))
    return Digest(
        audience=audience,
        recipient_name=name,
        recipient_email=email,
        week=week,
        as_of=cutoff,
        rules=rules,
        mood_weeks=_mood_weeks(week, rules),
        mentors=figures,
        needs_a_look=tuple(flagged),
        totals=Engagement.combine(m.engagement for m in figures),
        previous_totals=Engagement.combine(m.previous for m in figures),
    )


def _index(records: DigestRecords, cutoff: datetime) -> _History:
    checkins: dict[int, list[CheckinRecord]] = defaultdict(list)
    for c in records.checkins:
        if c.started_at <= cutoff:
            checkins[c.mentee_id].append(c)
    alerts: dict[int, list[AlertRecord]] = defaultdict(list)
    for a in records.alerts:
        if a.created_at <= cutoff:
            alerts[a.mentee_id].append(a)
    last_inbound: dict[int, datetime] = {}
    for contact in records.contacts:
        seen = _known(contact.last_inbound_at, cutoff)
        if seen is not None:
            last_inbound[contact.mentee_id] = max(seen, last_inbound.get(contact.mentee_id, seen))
    return _History(
        {k: tuple(sorted(v, key=lambda c: c.started_at)) for k, v in checkins.items()},
        {k: tuple(sorted(v, key=lambda a: a.created_at)) for k, v in alerts.items()},
        last_inbound,
    )


def _mentor_figures(
    mentor: Mentor,
    all_mentees: Iterable[Mentee],
    history: _History,
    week: Week,
    rules: DigestRules,
    cutoff: datetime,
) -> MentorFigures:
    own = [m for m in all_mentees if m.mentor_id == mentor.id]
    caseload = sorted(
        (m for m in own if _on_caseload(m, week)), key=lambda m: (m.display_name.casefold(), m.id)
    )
    mentees = tuple(_mentee_figures(m, mentor, history, week, rules, cutoff) for m in caseload)
    earlier_weeks = [week.shifted(-k) for k in range(1, rules.trend_weeks + 1)]
    previous = Engagement.combine(
        _engagement(history.checkins.get(m.id, ()), m, w, cutoff)
        for w in earlier_weeks
        for m in own
        if _on_caseload(m, w)
    )
    alerts = tuple(
        sorted(
            (
                _alert_figure(a, m, mentor, rules, cutoff)
                for m in caseload
                for a in history.alerts.get(m.id, ())
                if week.contains(a.created_at)
            ),
            key=lambda a: (a.created_at, a.code),
        )
    )
    return MentorFigures(
        id=mentor.id,
        name=mentor.name,
        mentees=mentees,
        engagement=Engagement.combine(m.engagement for m in mentees),
        previous=previous,
        alerts=alerts,
    )


def _mentee_figures(
    mentee: Mentee,
    mentor: Mentor,
    history: _History,
    week: Week,
    rules: DigestRules,
    cutoff: datetime,
) -> MenteeFigures:
    checkins = history.checkins.get(mentee.id, ())
    last_contact = _last_contact(mentee, checkins, history.last_inbound.get(mentee.id), cutoff)
    days_silent = max(0, (cutoff - (last_contact or mentee.joined_at)) // timedelta(days=1))
    alerts = [
        _alert_figure(a, mentee, mentor, rules, cutoff) for a in history.alerts.get(mentee.id, ())
    ]
    return MenteeFigures(
        id=mentee.id,
        name=mentee.display_name,
        mentor_id=mentor.id,
        mentor_name=mentor.name,
        joined_at=mentee.joined_at,
        status=mentee.status,
        counted_from=max(mentee.joined_at, week.start),
        engagement=_engagement(checkins, mentee, week, cutoff),
        last_contact=last_contact,
        days_since_contact=days_silent,
        mood_row=tuple(_mood_cell(checkins, mentee, w) for w in _mood_weeks(week, rules)),
        alerts_raised=sum(1 for a in alerts if week.contains(a.created_at)),
        reasons=_reasons(
            mentee, checkins, alerts, NoContact(days_silent, last_contact), week, rules, cutoff
        ),
    )


def _reasons(
    mentee: Mentee,
    checkins: tuple[CheckinRecord, ...],
    alerts: list[AlertFigure],
    silence: NoContact,
    week: Week,
    rules: DigestRules,
    cutoff: datetime,
) -> tuple[Reason, ...]:
    """Everything that makes this mentee need a look, most urgent first."""
    reasons: list[Reason] = [
        AlertConcern(a)
        for a in alerts
        if a.state != "closed" or (a.late and week.contains(a.created_at))
    ]
    unreachable = _known(mentee.unreachable_since, cutoff)
    if unreachable is not None:
        reasons.append(Unreachable(unreachable))
    opted_out = _known(mentee.opted_out_at, cutoff)
    if opted_out is not None and week.contains(opted_out):
        reasons.append(OptedOut(opted_out))
    streak = _missed_streak(checkins, mentee, min(week.end, cutoff), cutoff)
    if streak >= rules.missed_streak:
        reasons.append(MissedStreak(streak))
    # Someone who has opted out is not chased for going quiet.
    if opted_out is None and silence.days >= rules.no_contact_days:
        reasons.append(silence)
    falling = _falling_mood(checkins, mentee, week, rules)
    if falling is not None:
        reasons.append(falling)
    return tuple(sorted(reasons, key=urgency))


def _mood_weeks(week: Week, rules: DigestRules) -> tuple[Week, ...]:
    """The weeks of the mood row, oldest first, ending with `week`."""
    return tuple(week.shifted(-k) for k in reversed(range(rules.mood_weeks)))


def _on_caseload(mentee: Mentee, week: Week) -> bool:
    """Joined before the week ended and had not opted out before it began."""
    left_before = mentee.opted_out_at is not None and mentee.opted_out_at < week.start
    return mentee.joined_at < week.end and not left_before


def _known(instant: datetime | None, cutoff: datetime) -> datetime | None:
    """The instant if it had happened by the cut-off; later facts are not yet known."""
    return instant if instant is not None and instant <= cutoff else None


def _replied(checkin: CheckinRecord, cutoff: datetime) -> bool:
    return _known(checkin.first_reply_at, cutoff) is not None


def _counts(checkin: CheckinRecord, mentee: Mentee, cutoff: datetime) -> bool:
    return mentee.joined_at <= checkin.started_at <= cutoff


def _engagement(
    checkins: Iterable[CheckinRecord], mentee: Mentee, week: Week, cutoff: datetime
) -> Engagement:
    counted = [c for c in checkins if week.contains(c.started_at) and _counts(c, mentee, cutoff)]
    answered = [c for c in counted if _replied(c, cutoff)]
    missed = [c for c in counted if not _replied(c, cutoff) and c.outcome in ("missed", "expired")]
    return Engagement(
        sent=len(counted),
        answered=len(answered),
        missed=len(missed),
        pending=len(counted) - len(answered) - len(missed),
        reply_times=tuple(c.first_reply_at - c.started_at for c in answered if c.first_reply_at),
    )


def _last_contact(
    mentee: Mentee, checkins: Iterable[CheckinRecord], inbound: datetime | None, cutoff: datetime
) -> datetime | None:
    # A check-in reply is contact even if the message log that feeds `inbound` lags behind.
    replies = [c.first_reply_at for c in checkins if c.first_reply_at and c.first_reply_at <= cutoff]
    seen = [t for t in [inbound, *replies] if t is not None and t >= mentee.joined_at]
    return max(seen) if seen else None


def _missed_streak(
    checkins: Iterable[CheckinRecord], mentee: Mentee, before: datetime, cutoff: datetime
) -> int:
    """How many of the latest settled check-ins in a row went unanswered."""
    streak = 0
    for c in sorted(checkins, key=lambda c: c.started_at, reverse=True):
        if c.started_at >= before or not _counts(c, mentee, cutoff):
            continue
        if _replied(c, cutoff):
            break
        if c.outcome in ("missed", "expired"):
            streak += 1
    return streak


def _moods(checkins: Iterable[CheckinRecord], mentee: Mentee, week: Week) -> list[int]:
    return [
        c.mood
        for c in checkins
        if c.mood is not None and week.contains(c.started_at) and c.started_at >= mentee.joined_at
    ]


def _mood_cell(checkins: Iterable[CheckinRecord], mentee: Mentee, week: Week) -> MoodCell:
    moods = _moods(checkins, mentee, week)
    return MoodCell(
        week=week,
        mean=sum(moods) / len(moods) if moods else None,
        answers=len(moods),
        before_joining=mentee.joined_at >= week.end,
    )


def _falling_mood(
    checkins: tuple[CheckinRecord, ...], mentee: Mentee, week: Week, rules: DigestRules
) -> MoodFalling | None:
    now = _moods(checkins, mentee, week)
    earlier = [
        m for k in range(1, rules.trend_weeks + 1) for m in _moods(checkins, mentee, week.shifted(-k))
    ]
    if not now or len(earlier) < rules.mood_min_earlier_answers:
        return None
    now_mean, earlier_mean = sum(now) / len(now), sum(earlier) / len(earlier)
    # Small tolerance so a drop of exactly `mood_drop` is not lost to float rounding.
    if earlier_mean - now_mean + 1e-9 >= rules.mood_drop:
        return MoodFalling(earlier=earlier_mean, this_week=now_mean)
    return None


def _alert_figure(
    alert: AlertRecord, mentee: Mentee, mentor: Mentor, rules: DigestRules, cutoff: datetime
) -> AlertFigure:
    closed = _known(alert.closed_at, cutoff)
    # Closing an alert is also acknowledging it, even if nobody pressed "acknowledge" first.
    acknowledged = _known(alert.acknowledged_at, cutoff) or closed
    time_to_ack = acknowledged - alert.created_at if acknowledged else None
    waited = time_to_ack if time_to_ack is not None else cutoff - alert.created_at
    state: Literal["unacknowledged", "acknowledged", "closed"] = (
        "closed" if closed else "acknowledged" if acknowledged else "unacknowledged"
    )
    return AlertFigure(
        code=alert.code,
        mentee_id=mentee.id,
        mentee_name=mentee.display_name,
        mentor_name=mentor.name,
        category=alert.category,
        severity=alert.severity,
        created_at=alert.created_at,
        time_to_ack=time_to_ack,
        state=state,
        late=waited > rules.ack_target(alert.severity),
        ladder_fired=alert.ladder_fired,
    )


__all__ = [
    "AlertFigure",
    "Digest",
    "DigestRules",
    "Engagement",
    "MenteeFigures",
    "MentorFigures",
    "MoodCell",
    "mentor_digest",
    "supervisor_digest",
    "trend_points",
]
