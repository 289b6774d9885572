"""What the pure escalation decisions need to know about an alert, and about a new finding.

Storage maps its alert row onto an `AlertView`; nothing here touches the database. Severity is
"urgent" (T1: same-day action) or "concern" (T2, and `no_contact`: next working day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args

Severity = Literal["urgent", "concern"]
Role = Literal["mentor", "supervisor", "duty"]
StaffId = int | str
MenteeId = int | str
EvidenceId = int | str

SEVERITIES: frozenset[str] = frozenset(get_args(Severity))


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True)
class AlertView:
    """One alert as the ladder, fold rules and alert texts see it.

    `step` counts the ladder rungs already notified (0 = nobody told yet). `ladder_started_at`
    is when the current ladder began (the creation time, or the moment a concern was upgraded to
    urgent); `last_finding_at` is the latest flag folded into the alert.
    """

    code: str
    mentee_id: MenteeId
    mentee_first_name: str
    mentee_last_name: str
    category: str
    severity: Severity
    created_at: datetime
    excerpt: str = ""
    acknowledged_at: datetime | None = None
    closed_at: datetime | None = None
    step: int = 0
    ladder_started_at: datetime | None = None
    last_finding_at: datetime | None = None
    evidence_ids: frozenset[EvidenceId] = field(default_factory=frozenset)
    reasons: tuple[str, ...] = ()  # matched phrases and modifiers, for the email body
    mentor_name: str = ""  # tells a duty contact whom to chase
    link: str = ""  # a signed link to the alert's page in the staff app ("" = none)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {sorted(SEVERITIES)}, not {self.severity!r}")
        if self.step < 0:
            raise ValueError("step cannot be negative")
        for name in ("created_at", "acknowledged_at", "closed_at", "ladder_started_at",
                     "last_finding_at"):
            _require_aware(name, getattr(self, name))

    @property
    def ladder_start(self) -> datetime:
        """The instant the ladder's rung times are counted from."""
        return self.ladder_started_at or self.created_at

    @property
    def last_activity(self) -> datetime:
        """The latest flag that created or was folded into this alert."""
        return self.last_finding_at or self.created_at

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def mentee_label(self) -> str:
        """First name and initial only ("Jo B."): enough to act on, little to leak."""
        first = " ".join(self.mentee_first_name.split())
        initial = self.mentee_last_name.strip()[:1].upper()
        return f"{first} {initial}." if initial else first


@dataclass(frozen=True)
class FindingView:
    """A new risk flag for a mentee, before it becomes (or folds into) an alert."""

    mentee_id: MenteeId
    category: str
    severity: Severity
    evidence_ids: frozenset[EvidenceId] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {sorted(SEVERITIES)}, not {self.severity!r}")
