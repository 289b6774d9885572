"""What the coordinator's pages need beyond the shared operations: the gate that makes them not
exist for anyone else (404, not 403: a mentor who guesses an admin address learns nothing), and
one mentee's details as the edit form shows them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.actor import Actor
from bot.app.errors import NotAllowed, NotFound
from bot.app.unit import Unit, run
from bot.app.views import MenteeStatus, MenteeSummary, mentee_status, mentee_summary
from bot.service.runtime import Services


@dataclass(frozen=True)
class MenteeDetails:
    mentee: MenteeSummary
    status: MenteeStatus


def require_coordinator(svc: Services, actor: Actor) -> None:
    """NotFound unless the actor may use the admin operations (access.may_administer)."""
    def work(unit: Unit) -> None:
        _admin(unit)

    run(svc, actor, work)


def _admin(unit: Unit) -> None:
    try:
        unit.require_admin("use the admin pages")
    except NotAllowed:
        raise NotFound("no such page") from None


def mentee_details(svc: Services, actor: Actor, mentee_id: int) -> MenteeDetails:
    """A mentee's details for the admin edit form (recorded as a view of their record)."""
    def work(unit: Unit) -> MenteeDetails:
        _admin(unit)
        m = unit.mentee(mentee_id)
        unit.audit("mentee.view", mentee_id=m.id, detail="admin")
        return MenteeDetails(mentee_summary(unit.session, m), mentee_status(m))

    return run(svc, actor, work)
