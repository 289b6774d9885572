"""The digest's input: plain, frozen copies of stored rows, holding no more personal data than it shows.

The storage layer loads these (bot/storage/digest_records.py); the figures never see the ORM.
Every datetime is timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

CheckinOutcome = Literal["completed", "missed", "open", "expired"]


@dataclass(frozen=True)
class Supervisor:
    id: int
    name: str
    email: str | None


@dataclass(frozen=True)
class Mentor:
    id: int
    name: str
    supervisor_id: int | None
    # Only needed when mentors get their own digest.
    email: str | None = None


@dataclass(frozen=True)
class Mentee:
    """A mentee as the digest may show them: first name and last initial only."""

    id: int
    first_name: str
    last_initial: str
    mentor_id: int
    joined_at: datetime
    status: str
    opted_out_at: datetime | None = None
    unreachable_since: datetime | None = None

    @property
    def display_name(self) -> str:
        initial = self.last_initial.strip()[:1]
        return f"{self.first_name} {initial}." if initial else self.first_name


@dataclass(frozen=True)
class CheckinRecord:
    """One check-in sent to a mentee.

    `first_reply_at` is the mentee's first reply to it (that is what "answered" means in the
    digest); `answered_at` is when the last question was answered; `mood` is their 1-5 answer.
    """

    mentee_id: int
    started_at: datetime
    outcome: CheckinOutcome
    answered_at: datetime | None = None
    mood: int | None = None
    first_reply_at: datetime | None = None


@dataclass(frozen=True)
class AlertRecord:
    """A risk or welfare alert raised about a mentee; `code` is the reference staff quote."""

    mentee_id: int
    code: str
    category: str
    severity: str
    created_at: datetime
    acknowledged_at: datetime | None = None
    closed_at: datetime | None = None
    ladder_fired: bool = False


@dataclass(frozen=True)
class LastContact:
    """The latest inbound message from a mentee (any channel), without its text."""

    mentee_id: int
    last_inbound_at: datetime


@dataclass(frozen=True)
class DigestRecords:
    """Everything one digest run needs: the staff, their mentees and the mentees' history.

    Check-ins and alerts should reach back at least nine weeks before the reported week's end
    (eight mood weeks, four trend weeks, and the missed-check-in streak); older ones are harmless.
    """

    supervisors: tuple[Supervisor, ...]
    mentors: tuple[Mentor, ...]
    mentees: tuple[Mentee, ...]
    checkins: tuple[CheckinRecord, ...] = ()
    alerts: tuple[AlertRecord, ...] = ()
    contacts: tuple[LastContact, ...] = ()
