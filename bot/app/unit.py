"""One unit of work: one actor, one transaction, one `now`, the access checks and the audit entry.

Every operation in bot.app is `run(svc, actor, work)`: the actor's rights are loaded afresh, the
work finds its records through the unit (which refuses what the actor may not see with NotFound,
exactly as if it did not exist) and records what it did with `unit.audit(...)`. Everything,
the audit entry included, commits together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.app.access import Case, Rights, may_administer, may_manage, may_see
from bot.app.actor import Actor
from bot.app.errors import InvalidInput, NotAllowed, NotFound
from bot.people import InvalidDetails, as_id
from bot.service import admin
from bot.service.runtime import Services
from bot.storage.alerts import AlertRepo
from bot.storage.audit import AuditRepo
from bot.storage.models import Alert, AuditEntry, Mentee, Staff
from bot.storage.people import MenteeRepo, StaffRepo

T = TypeVar("T")
MenteeRef = int | str  # an id (from a form or URL), or what a person typed: id, phone, name


@dataclass
class Unit:
    """What one operation works with; built by `run`, never kept after it."""

    svc: Services
    session: Session
    now: datetime
    actor: Actor
    rights: Rights
    _live: set[int] | None = field(default=None, repr=False)

    # ---- access ---------------------------------------------------------------------------------
    def require_admin(self, doing: str) -> None:
        if not may_administer(self.rights):
            raise NotAllowed(f"only a coordinator can {doing}")

    def case_of(self, mentee: Mentee) -> Case:
        mentor = StaffRepo(self.session).get(mentee.mentor_id)
        return Case(mentor_id=mentee.mentor_id,
                    supervisor_id=mentor.supervisor_id if mentor else None,
                    live_alert=mentee.id in self.live_alert_mentees())

    def live_alert_mentees(self) -> set[int]:
        if self._live is None:
            self._live = AlertRepo(self.session).live_mentee_ids()
        return self._live

    def sees(self, mentee: Mentee) -> bool:
        return self.rights.full or may_see(self.rights, self.case_of(mentee))

    def visible_mentees(self) -> list[Mentee]:
        """Every mentee this actor may see, by id."""
        repo = MenteeRepo(self.session)
        if self.rights.full:
            return list(repo.list())
        me = self.rights.staff_id
        assert me is not None
        # The query only narrows the candidates; may_see decides.
        mentors = [me, *(s.id for s in StaffRepo(self.session).supervised_by(me))]
        extra = sorted(self.live_alert_mentees()) if self.rights.is_duty else []
        return [m for m in repo.list(mentor_ids=mentors, ids=extra) if self.sees(m)]

    # ---- finding records ------------------------------------------------------------------------
    def mentee(self, ref: MenteeRef, *, manage: bool = False) -> Mentee:
        """The mentee `ref` names among those this actor may see; NotFound otherwise. With
        `manage`, the actor must also be allowed to change the mentee (NotAllowed)."""
        repo = MenteeRepo(self.session)
        mentee_id = ref if isinstance(ref, int) else as_id(ref)
        by_id = repo.get(mentee_id) if mentee_id is not None else None
        if isinstance(ref, int) or (by_id is not None and self.sees(by_id)):
            candidates = [by_id] if by_id is not None else []  # an id wins over other matches
        else:
            candidates = list(repo.matching(ref, phone=admin.phone_or_none(ref)))
        visible = [m for m in candidates if self.sees(m)]
        if not visible:
            raise NotFound(f"no mentee {ref!r} (use an id, phone number or full name)")
        if len(visible) > 1:
            ids = ", ".join(str(m.id) for m in visible)
            raise InvalidInput(f"{ref!r} fits more than one mentee (ids {ids}): use the id")
        mentee = visible[0]
        if manage and not may_manage(self.rights, self.case_of(mentee)):
            raise NotAllowed(f"only {mentee.display_name}'s mentor, their supervisor or a "
                             "coordinator can change this")
        return mentee

    def alert(self, code: str, *, lock: bool = False) -> Alert:
        """The alert with this code, if this actor may see its mentee; NotFound otherwise."""
        alert = AlertRepo(self.session).by_code(code.strip(), lock=lock)
        if alert is None or not self.sees(alert.mentee):
            raise NotFound(f"no alert {code.strip().upper()!r}")
        return alert

    def staff(self, ref: str) -> Staff:
        """A staff member by id, phone, email or exact name (admin operations only)."""
        found = admin.find_staff(self.session, ref)
        if found is None:
            raise NotFound(f"no staff member {ref!r} (use an id, phone, email or name)")
        return found

    # ---- the audit log --------------------------------------------------------------------------
    def audit(self, action: str, *, mentee_id: int | None = None, alert_id: int | None = None,
              staff_id: int | None = None, target: str = "", detail: str = "") -> None:
        """Record what this unit did (or looked at); never a message body in `detail`."""
        AuditRepo(self.session).add(AuditEntry(
            at=self.now, actor_kind=self.actor.kind, actor_staff_id=self.actor.staff_id,
            actor_label=self.actor.label, action=action, mentee_id=mentee_id, alert_id=alert_id,
            staff_id=staff_id, target=target, detail=detail))


def written(text: str, what: str, limit: int) -> str:
    """A person's text (a note, an outcome, a reply) trimmed, or InvalidInput if it is empty
    or longer than `limit` characters."""
    text = text.strip()
    if not text:
        raise InvalidInput(f"the {what} is empty")
    if len(text) > limit:
        raise InvalidInput(f"the {what} is {len(text)} characters; the most is {limit}")
    return text


def rights_of(session: Session, actor: Actor) -> Rights:
    """The actor's rights now: a staff member's row is read again, so a change applies at once."""
    if actor.kind != "staff":
        return Rights.everything()
    assert actor.staff_id is not None
    staff = StaffRepo(session).get(actor.staff_id)
    if staff is None or not staff.active:
        raise NotAllowed("your staff record is paused or has been removed; ask the coordinator")
    duty = StaffRepo(session).duty()
    return Rights(staff_id=staff.id, role=staff.role, is_duty=duty is not None and duty.id == staff.id,
                  full=staff.role == "coordinator")


def run(svc: Services, actor: Actor, work: Callable[[Unit], T]) -> T:
    """Run `work` as one unit of work for `actor`; a detail the domain refuses, or a phone or
    chat that is someone else's, is InvalidInput."""
    def attempt() -> T:
        with svc.sessions() as session, session.begin():
            unit = Unit(svc, session, svc.clock.now(), actor, rights_of(session, actor))
            return work(unit)

    try:
        return svc.retrying(attempt, "a unit of work")  # a locked database: run it again
    except InvalidDetails as exc:
        raise InvalidInput(str(exc)) from None
    except IntegrityError as exc:
        if not _is_duplicate(exc):
            raise
        raise InvalidInput("that phone number or Telegram chat already belongs to someone else") from None


def _is_duplicate(exc: IntegrityError) -> bool:
    """A unique key refused the row (SQLite's message, PostgreSQL's SQLSTATE 23505)."""
    return getattr(exc.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(exc.orig)
