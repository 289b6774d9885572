"""Who is acting: a staff member, the operator at the server's shell, or the service itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ActorKind = Literal["staff", "operator", "system"]


@dataclass(frozen=True)
class Actor:
    """The person (or loop) an operation runs for; `label` is how the audit log names them.

    A staff actor is only a claim: every unit of work reloads the staff row, so a role, duty or
    pause changed since sign-in applies at once.
    """

    kind: ActorKind
    label: str
    staff_id: int | None = None

    @property
    def via(self) -> str:
        """How this actor reaches the service, as alert histories record it."""
        return {"staff": "web", "operator": "cli", "system": "system"}[self.kind]

    @classmethod
    def staff(cls, staff_id: int, name: str) -> Actor:
        return cls("staff", name, staff_id)

    @classmethod
    def operator(cls, user: str) -> Actor:
        """Whoever runs `checkins` at the server's shell: full rights (they hold the database)."""
        return cls("operator", f"shell:{user or 'unknown'}")

    @classmethod
    def system(cls) -> Actor:
        """The service's own loops (turns, sending, schedules, retention, digests)."""
        return cls("system", "system")
