"""Who may see and do what: every access rule of the application, in one place, pure.

- A mentor sees their own mentees; a supervisor the mentees of the mentors they supervise.
- The coordinator, the operator at the shell and the service itself see everything and may use
  the admin operations (staff, imports, adding mentees, the audit log).
- The duty contact (the one alerts climb to) also sees any mentee with an alert that is not
  closed: they are paged for it.
- Acknowledging or closing an alert: the mentee's mentor, their supervisor, the duty contact or
  anyone with full rights (escalation.acks.may_acknowledge, which also admits coordinators).
- Changing a mentee's details, plan or status: their mentor, supervisor or full rights (seeing
  a mentee because of an alert, as the duty contact, is not enough). Moving a mentee to another
  mentor: full rights, or a supervisor moving them within their own team.

The unit of work loads `Rights` and `Case` from the database; these functions only decide.
"""

from __future__ import annotations

from dataclasses import dataclass

from escalation.acks import may_acknowledge


@dataclass(frozen=True)
class Rights:
    """The acting person as the rules need them, loaded afresh for every unit of work."""

    staff_id: int | None
    role: str | None  # mentor | supervisor | coordinator; None for the operator and the service
    is_duty: bool = False  # the duty contact alerts climb to
    full: bool = False  # the coordinator, the operator and the service

    @classmethod
    def everything(cls) -> Rights:
        return cls(staff_id=None, role=None, full=True)


@dataclass(frozen=True)
class Case:
    """What the rules need to know of one mentee."""

    mentor_id: int
    supervisor_id: int | None  # the mentor's supervisor
    live_alert: bool  # the mentee has an alert that is not closed


def _own_or_team(rights: Rights, case: Case) -> bool:
    me = rights.staff_id
    return me is not None and me in (case.mentor_id, case.supervisor_id)


def may_see(rights: Rights, case: Case) -> bool:
    """May this person see the mentee's record (timeline, alerts) and write to them?"""
    return rights.full or _own_or_team(rights, case) or (rights.is_duty and case.live_alert)


def may_manage(rights: Rights, case: Case) -> bool:
    """May this person change the mentee's details, plan or status?"""
    return rights.full or _own_or_team(rights, case)


def may_handle_alert(rights: Rights, case: Case) -> bool:
    """May this person acknowledge, annotate or close an alert about the mentee?"""
    if rights.full:
        return True
    duty_id = rights.staff_id if rights.is_duty else None
    return may_acknowledge(rights.staff_id, case.mentor_id, case.supervisor_id, duty_id,
                           coordinator=rights.role == "coordinator")


def may_assign(rights: Rights, new_mentor_supervisor_id: int | None) -> bool:
    """May this person give a mentee to a mentor with this supervisor?"""
    if rights.full:
        return True
    return rights.role == "supervisor" and rights.staff_id == new_mentor_supervisor_id


def may_administer(rights: Rights) -> bool:
    """Staff records, imports, adding mentees and reading the audit log."""
    return rights.full
