"""Why a mentee "needs a look": one small fact type per reason, most urgent first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from escalation.digest.results import AlertFigure


@dataclass(frozen=True)
class AlertConcern:
    """An alert still open at the cut-off, or one raised this week and acknowledged late."""

    alert: AlertFigure


@dataclass(frozen=True)
class Unreachable:
    since: datetime


@dataclass(frozen=True)
class OptedOut:
    at: datetime


@dataclass(frozen=True)
class MissedStreak:
    count: int


@dataclass(frozen=True)
class NoContact:
    """Whole days without a message; `since` is None if they have not written since joining."""

    days: int
    since: datetime | None


@dataclass(frozen=True)
class MoodFalling:
    earlier: float
    this_week: float


Reason = AlertConcern | Unreachable | OptedOut | MissedStreak | NoContact | MoodFalling

_ORDER: dict[type, int] = {
    AlertConcern: 0,
    Unreachable: 2,
    OptedOut: 3,
    MissedStreak: 4,
    NoContact: 5,
    MoodFalling: 6,
}


def urgency(reason: Reason) -> int:
    """Sort key: lower is more urgent. An unacknowledged alert outranks everything."""
    if isinstance(reason, AlertConcern):
        return 0 if reason.alert.state == "unacknowledged" else 1
    return _ORDER[type(reason)]
