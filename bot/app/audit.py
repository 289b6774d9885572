"""Reading the audit log (coordinator): who did or looked at what, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.app.actor import Actor
from bot.app.errors import InvalidInput
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


# What the staff app's audit page filters by: plain groups of the actions bot.app records.
ACTION_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "signin": ("Sign-ins and sign-outs", ("signin", "signin.code", "signin.failed", "signout",
                                          "signout.everywhere")),
    "view": ("Record views", ("mentee.view", "mentee.read", "alert.view", "digest.view")),
    "acknowledge": ("Alerts taken", ("alert.acknowledge",)),
    "note": ("Notes", ("alert.note",)),
    "close": ("Alerts closed", ("alert.close",)),
    "reply": ("Replies to mentees", ("mentee.reply",)),
    "edit": ("Changes to mentees and staff", (
        "mentee.add", "mentee.edit", "mentee.plan", "mentee.pause", "mentee.resume", "mentee.link",
        "mentee.oneoff", "mentee.checkin", "staff.add", "staff.edit", "staff.pause",
        "staff.resume", "staff.link")),
    "import": ("Imports", ("mentees.import", "staff.import")),
    "export": ("Exports and digests sent", ("digest.export", "digest.send", "audit.export")),
    "audit": ("Audit log read", ("audit.view",)),
}


@dataclass(frozen=True)
class AuditPage:
    lines: tuple[AuditLine, ...]
    page: int  # from 1
    more: bool  # there is an older page


def search(svc: Services, actor: Actor, *, person: int | None = None, action: str = "",
           mentee_id: int | None = None, since: str = "", until: str = "", page: int = 1,
           per_page: int = 50) -> AuditPage:
    """One page of the log for the coordinator, newest first: by one staff member, one group of
    actions (ACTION_GROUPS), one mentee, between two local dates (both included). Reading it
    is itself recorded."""
    if action and action not in ACTION_GROUPS:
        raise InvalidInput(f"action {action!r} is not one of the choices")
    page = max(1, page)

    def work(unit: Unit) -> AuditPage:
        unit.require_admin("read the audit log")
        zone = ZoneInfo(unit.svc.config.service.timezone)
        first, last = parse_date(since, "from date"), parse_date(until, "to date")
        if first and last and last < first:
            raise InvalidInput("the 'to' date is before the 'from' date")
        start = datetime.combine(first, time(0), tzinfo=zone) if first else None
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone) if last else None
        rows = AuditRepo(unit.session).search(
            since=start, before=end, actor_staff_id=person,
            actions=ACTION_GROUPS[action][1] if action else (), mentee_id=mentee_id,
            offset=(page - 1) * per_page, limit=per_page + 1)
        unit.audit("audit.view", detail=_filters(person, action, mentee_id, since, until, page))
        lines = tuple(AuditLine(r.at, r.actor_kind, r.actor_label, r.actor_staff_id, r.action,
                                r.mentee_id, r.alert_id, r.staff_id, r.target, r.detail)
                      for r in rows[:per_page])
        return AuditPage(lines, page, len(rows) > per_page)

    return run(svc, actor, work)


def _filters(person: int | None, action: str, mentee_id: int | None, since: str, until: str,
             page: int) -> str:
    parts = [f"person {person}" if person else "", f"action {action}" if action else "",
             f"mentee {mentee_id}" if mentee_id else "", f"from {since}" if since else "",
             f"to {until}" if until else "", f"page {page}" if page > 1 else ""]
    return ", ".join(p for p in parts if p) or "all"
