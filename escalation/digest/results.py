"""What the digest figures come out as: frozen values the renderers read, and the rules behind them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

from escalation.digest.reasons import Reason
from escalation.digest.week import Week

# Acknowledgement targets per severity; an alert not acknowledged within its target is "late".
# They mirror the ladder's defaults ([escalation] urgent_reack_minutes, concern_supervisor_minutes).
DEFAULT_ACK_TARGETS: Mapping[str, timedelta] = MappingProxyType(
    {"urgent": timedelta(minutes=15), "concern": timedelta(hours=1)}
)


@dataclass(frozen=True)
class DigestRules:
    """The thresholds that decide who "needs a look"; all configurable."""

    no_contact_days: int = 7
    missed_streak: int = 2
    # A falling mood: this week's average at least this far below the previous weeks' average.
    mood_drop: float = 1.0
    mood_min_earlier_answers: int = 2
    mood_weeks: int = 8
    trend_weeks: int = 4
    ack_targets: Mapping[str, timedelta] = field(default_factory=lambda: DEFAULT_ACK_TARGETS)
    # A severity missing from `ack_targets` gets the strictest usual target, so none escapes "late".
    default_ack_target: timedelta = timedelta(minutes=15)

    def ack_target(self, severity: str) -> timedelta:
        return self.ack_targets.get(severity, self.default_ack_target)


@dataclass(frozen=True)
class Engagement:
    """Check-in counts for one mentee, mentor or caseload over one or more weeks.

    Answered means the mentee replied at all; missed means the check-in closed with no reply;
    pending check-ins are still open and count in neither the rate nor the streak.
    """

    sent: int = 0
    answered: int = 0
    missed: int = 0
    pending: int = 0
    reply_times: tuple[timedelta, ...] = ()

    @property
    def rate(self) -> float | None:
        """Share of settled check-ins that were answered, 0..1; None when none settled."""
        settled = self.answered + self.missed
        return self.answered / settled if settled else None

    @property
    def median_reply(self) -> timedelta | None:
        if not self.reply_times:
            return None
        times = sorted(self.reply_times)
        middle = len(times) // 2
        return times[middle] if len(times) % 2 else (times[middle - 1] + times[middle]) / 2

    @staticmethod
    def combine(parts: Iterable[Engagement]) -> Engagement:
        total = Engagement()
        for p in parts:
            total = Engagement(
                total.sent + p.sent,
                total.answered + p.answered,
                total.missed + p.missed,
                total.pending + p.pending,
                total.reply_times + p.reply_times,
            )
        return total


def trend_points(now: Engagement, before: Engagement) -> int | None:
    """Change in response rate in percentage points against `before`; None if either is unknown."""
    if now.rate is None or before.rate is None:
        return None
    return round((now.rate - before.rate) * 100)


@dataclass(frozen=True)
class MoodCell:
    """A mentee's average mood (1-5) in one week; None if they gave no mood answer."""

    week: Week
    mean: float | None
    answers: int
    before_joining: bool


@dataclass(frozen=True)
class AlertFigure:
    code: str
    mentee_id: int
    mentee_name: str
    mentor_name: str
    category: str
    severity: str
    created_at: datetime
    time_to_ack: timedelta | None
    state: Literal["unacknowledged", "acknowledged", "closed"]
    late: bool
    ladder_fired: bool


@dataclass(frozen=True)
class MenteeFigures:
    id: int
    name: str
    mentor_id: int
    mentor_name: str
    joined_at: datetime
    status: str
    # Joining mid-week: only the part of the week after joining counts.
    counted_from: datetime
    engagement: Engagement
    last_contact: datetime | None
    days_since_contact: int
    mood_row: tuple[MoodCell, ...]
    alerts_raised: int
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class MentorFigures:
    id: int
    name: str
    mentees: tuple[MenteeFigures, ...]
    engagement: Engagement
    previous: Engagement
    alerts: tuple[AlertFigure, ...]

    @property
    def trend_points(self) -> int | None:
        return trend_points(self.engagement, self.previous)


@dataclass(frozen=True)
class Digest:
    audience: Literal["supervisor", "mentor"]
    recipient_name: str
    recipient_email: str | None
    week: Week
    as_of: datetime
    rules: DigestRules
    mood_weeks: tuple[Week, ...]
    mentors: tuple[MentorFigures, ...]
    needs_a_look: tuple[MenteeFigures, ...]
    totals: Engagement
    previous_totals: Engagement

    @property
    def mentees(self) -> tuple[MenteeFigures, ...]:
        return tuple(m for mentor in self.mentors for m in mentor.mentees)

    @property
    def alerts(self) -> tuple[AlertFigure, ...]:
        return tuple(a for mentor in self.mentors for a in mentor.alerts)
