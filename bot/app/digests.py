"""The weekly engagement digest for a person and a week: rendered (HTML, text, CSV) or emailed."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.actor import Actor
from bot.app.errors import InvalidInput, NotAllowed
from bot.app.unit import Unit, run
from bot.service import digests
from bot.service.runtime import Services
from bot.storage.models import Staff
from escalation.digest.week import Week


@dataclass(frozen=True)
class DigestPage:
    week: str  # e.g. 2026-W48
    staff_id: int
    staff_name: str
    html: str
    text: str
    csv: str
    page_html: str = ""  # the same digest for the staff web page
    role: str = ""  # the reader's role: a supervisor's digest is their team's


@dataclass(frozen=True)
class DigestSent:
    staff_name: str
    week: str
    status: str  # sent | no email address | failed: ...


def digest(svc: Services, actor: Actor, *, week: str = "", of: str = "",
           export: bool = False) -> list[DigestPage]:
    """The digest a person reads for `week` (default: last week): a mentor's own mentees, a
    supervisor's team; the coordinator chooses whose (`of`), or gets every supervisor's. Recorded
    in the audit log as a view, or as an export when it leaves the service as files."""
    def work(unit: Unit) -> list[DigestPage]:
        which = _week(unit, week)
        pages = []
        for person in _whose(unit, of):
            rendered = digests.render_in(unit.session, unit.svc, which, person)
            pages.append(DigestPage(which.label, person.id, person.name, rendered.html,
                                    rendered.text, rendered.csv, rendered.page, person.role))
            unit.audit("digest.export" if export else "digest.view", staff_id=person.id,
                       target=which.label)
        return pages

    return run(svc, actor, work)


def send(svc: Services, actor: Actor, *, week: str = "", of: str = "") -> list[DigestSent]:
    """Email the digest now (coordinator), even if the weekly job already sent it."""
    def people(unit: Unit) -> tuple[Week, list[Staff]]:
        unit.require_admin("send digests")
        if not unit.svc.config.email.enabled:
            raise InvalidInput("[email] is not enabled in config: cannot send")
        return _week(unit, week), _whose(unit, of)

    which, recipients = run(svc, actor, people)
    # Sending happens outside any transaction: an SMTP server can take its time.
    outcomes = [digests.send_one(svc, person, which, force=True) for person in recipients]

    def record(unit: Unit) -> None:
        for person, outcome in zip(recipients, outcomes, strict=True):
            unit.audit("digest.send", staff_id=person.id, target=which.label, detail=outcome.status)

    run(svc, actor, record)
    return [DigestSent(o.recipient, o.week, o.status) for o in outcomes]


def _week(unit: Unit, label: str) -> Week:
    try:
        return digests.week_of(unit.svc, label)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _whose(unit: Unit, of: str) -> list[Staff]:
    if unit.rights.full:
        return [unit.staff(of)] if of else digests.recipients_in(unit.session)
    me = unit.session.get(Staff, unit.actor.staff_id)
    assert me is not None  # rights_of has just loaded it
    if of and unit.staff(of).id != me.id:
        raise NotAllowed("you can read your own digest; a coordinator can read anyone's")
    return [me]
