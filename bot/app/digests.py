"""The weekly engagement digest for a person and a week: rendered (HTML, text, CSV) or emailed."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.actor import Actor
from bot.app.errors import InvalidInput, NotAllowed
from bot.app.unit import Unit, run
from bot.service import digests
from bot.service.runtime import Services
from bot.storage.digest_records import sent_already
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


def send(svc: Services, actor: Actor, *, week: str = "", of: str = "",
         again: bool = False) -> list[DigestSent]:
    """Email the digest now (coordinator). A week already sent to someone is refused, naming
    them, unless `again`: a second copy of a digest is a mistake more often than a wish."""
    def people(unit: Unit) -> tuple[Week, list[Staff], set[int]]:
        unit.require_admin("send digests")
        if not unit.svc.config.email.enabled:
            raise InvalidInput("[email] is not enabled in config: cannot send")
        which, recipients = _week(unit, week), _whose(unit, of)
        before = sent_already(unit.session, which.label, [p.id for p in recipients])
        if before and not again:
            names = ", ".join(p.name for p in recipients if p.id in before)
            raise InvalidInput(f"the digest for {which.label} was already sent to {names}; "
                               "add --again to send it again")
        return which, recipients, set(before)

    which, recipients, sent_before = run(svc, actor, people)
    # Sending happens outside any transaction: an SMTP server can take its time. A first send is
    # recorded (so the weekly job will not send it again); a repeat was recorded the first time.
    outcomes = [digests.send_one(svc, person, which, force=person.id in sent_before)
                for person in recipients]

    def record(unit: Unit) -> None:
        for person, outcome in zip(recipients, outcomes, strict=True):
            unit.audit("digest.send", staff_id=person.id, target=which.label,
                       detail=outcome.status + (" (again)" if person.id in sent_before else ""))

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
