"""The weekly digest in the world: load records, compute figures (pure), render, send once.

`send_weekly` is the Monday cron job (bot.app.loops runs it); bot.app.digests serves `checkins
digest` and the staff app. Each supervisor's
digest for a week is recorded in `digests_sent` before it is sent, in the same transaction that
claims it, so a re-run (or a second worker) never sends it twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.service.runtime import Services
from bot.storage.digest_records import claim_sent, load_digest_records, unclaim_sent
from bot.storage.models import Staff
from bot.storage.people import StaffRepo
from escalation.digest.email import DigestSendError, build_digest_email, send_email
from escalation.digest.figures import mentor_digest, supervisor_digest
from escalation.digest.render import RenderedDigest, render
from escalation.digest.results import DigestRules
from escalation.digest.week import Week, parse_week
from escalation.notify_email import SmtpSettings

log = logging.getLogger("checkins.digest")


@dataclass(frozen=True)
class DigestOutcome:
    recipient: str
    week: str
    status: str  # sent | already sent | no email address | failed: ...


def rules_for(svc: Services) -> DigestRules:
    d, e = svc.config.digest, svc.config.escalation
    return DigestRules(
        no_contact_days=d.no_contact_days, missed_streak=d.missed_streak,
        ack_targets={"urgent": timedelta(minutes=e.urgent_reack_minutes),
                     "concern": timedelta(minutes=e.concern_supervisor_minutes)},
    )


def smtp_settings(svc: Services) -> SmtpSettings:
    e = svc.config.email
    return SmtpSettings(host=e.host, port=e.port, sender=e.from_address, starttls=e.starttls,
                        username=e.username or None, password=e.password or None,
                        timeout=e.timeout_seconds)


def week_of(svc: Services, label: str) -> Week:
    return parse_week(label) if label else Week.last_complete(svc.clock.now())


def render_for(svc: Services, week: Week, staff: Staff, as_of: datetime | None = None) -> RenderedDigest:
    with svc.sessions() as session:
        return render_in(session, svc, week, staff, as_of)


def render_in(session: Session, svc: Services, week: Week, staff: Staff,
              as_of: datetime | None = None) -> RenderedDigest:
    """One staff member's digest: a supervisor's whole team, or a mentor's own mentees."""
    if staff.role == "mentor":
        records = load_digest_records(session, week, mentor_id=staff.id, as_of=as_of)
        return render(mentor_digest(records, staff.id, week, rules_for(svc), as_of))
    records = load_digest_records(session, week, supervisor_id=staff.id, as_of=as_of)
    return render(supervisor_digest(records, staff.id, week, rules_for(svc), as_of))


def recipients_in(session: Session, mentors: bool = False) -> list[Staff]:
    """Who gets the weekly digest: every supervisor (and every mentor, if enabled)."""
    staff = StaffRepo(session)
    return list(staff.list("supervisor")) + (list(staff.list("mentor")) if mentors else [])


def _claim(svc: Services, staff: Staff, week: Week, kind: str) -> bool:
    """Record the digest as sent; False if it already was (this week, this person)."""
    with svc.sessions() as session:
        return claim_sent(session, staff.id, week.label, kind, svc.clock.now())


def _unclaim(svc: Services, staff: Staff, week: Week, kind: str) -> None:
    with svc.sessions() as session:
        unclaim_sent(session, staff.id, week.label, kind)


def send_one(svc: Services, staff: Staff, week: Week, *, force: bool = False) -> DigestOutcome:
    kind = "mentor" if staff.role == "mentor" else "supervisor"
    if not staff.email:
        return DigestOutcome(staff.name, week.label, "no email address")
    if not force and not _claim(svc, staff, week, kind):
        return DigestOutcome(staff.name, week.label, "already sent")
    rendered = render_for(svc, week, staff)
    message = build_digest_email(rendered, sender=svc.config.email.from_address, to=staff.email,
                                 sent_at=svc.clock.now())
    try:
        send_email(message, smtp_settings(svc))
    except DigestSendError as exc:
        if not force:
            _unclaim(svc, staff, week, kind)  # let the next run try again
        log.error("digest for staff %s not sent: %s", staff.id, exc)
        return DigestOutcome(staff.name, week.label, f"failed: {exc}")
    return DigestOutcome(staff.name, week.label, "sent")


def send_weekly(svc: Services) -> list[DigestOutcome]:
    """The cron job: last week's digest to every supervisor (and mentor, if enabled), once."""
    if not svc.config.email.enabled:
        log.warning("weekly digest not sent: [email] is not enabled")
        return []
    week = Week.last_complete(svc.clock.now())
    with svc.sessions() as session:
        people = recipients_in(session, mentors=svc.config.digest.mentor_digest)
    return [send_one(svc, person, week) for person in people]

