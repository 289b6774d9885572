"""Reading the audit log (coordinator): who did or looked at what, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.app.actor import Actor
from bot.app.unit import MenteeRef, Unit, run
from bot.people import parse_date
from bot.service.runtime import Services
from bot.storage.audit import AuditRepo


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    actor_kind: str  # staff | operator | system
    actor: str  # a staff name, shell:<user>, system
    actor_staff_id: int | None
    action: str
    mentee_id: int | None
    alert_id: int | None
    staff_id: int | None
    target: str
    detail: str


def entries(svc: Services, actor: Actor, *, since: str = "", by: str = "",
            mentee: MenteeRef | None = None, limit: int = 100) -> list[AuditLine]:
    """The newest entries first; `since` is a local date, `by` an actor's label (a staff name
    or shell:<user>), `mentee` any ref to one mentee."""
    def work(unit: Unit) -> list[AuditLine]:
        unit.require_admin("read the audit log")
        mentee_id = unit.mentee(mentee).id if mentee is not None else None
        day = parse_date(since, "since")
        zone = ZoneInfo(unit.svc.config.service.timezone)
        start = datetime.combine(day, time(0), tzinfo=zone) if day else None
        rows = AuditRepo(unit.session).list(since=start, actor=by, mentee_id=mentee_id,
                                            limit=max(1, limit))
        return [AuditLine(r.at, r.actor_kind, r.actor_label, r.actor_staff_id, r.action, r.mentee_id,
                          r.alert_id, r.staff_id, r.target, r.detail) for r in rows]

    return run(svc, actor, work)
