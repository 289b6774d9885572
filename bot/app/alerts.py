"""Alert operations: list, read the whole story, acknowledge, add a note, close."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.access import may_handle_alert
from bot.app.actor import Actor
from bot.app.errors import InvalidInput, NotAllowed
from bot.app.unit import Unit, rights_of, run, written
from bot.app.views import (
    AlertDetail,
    AlertSummary,
    Flag,
    HistoryItem,
    Said,
    alert_summary,
    event_item,
    note_item,
)
from bot.service import alerting, checkins
from bot.service.runtime import Services
from bot.storage.alerts import AlertRepo
from bot.storage.messages import MessageRepo
from bot.storage.models import Alert, AlertNote, Staff

NOTE_LIMIT = 1000
OUTCOME_LIMIT = 1000


@dataclass(frozen=True)
class Acknowledged:
    alert: AlertSummary
    already: bool  # someone had acknowledged it before
    text: str  # what to tell the person, as an ACK by text would be answered


def list_alerts(svc: Services, actor: Actor, *, include_closed: bool = False) -> list[AlertSummary]:
    """Alerts about the mentees this actor may see, newest first (open ones unless asked)."""
    def work(unit: Unit) -> list[AlertSummary]:
        repo = AlertRepo(unit.session)
        ids = None if unit.rights.full else [m.id for m in unit.visible_mentees()]
        return [alert_summary(unit.session, a) for a in repo.list(include_closed, mentee_ids=ids)]

    return run(svc, actor, work)


def detail(svc: Services, actor: Actor, code: str) -> AlertDetail:
    """An alert's whole story: flags, every step, every note (recorded as a view)."""
    def work(unit: Unit) -> AlertDetail:
        alert = unit.alert(code)
        unit.audit("alert.view", mentee_id=alert.mentee_id, alert_id=alert.id, target=alert.code)
        return alert_detail(unit, alert)

    return run(svc, actor, work)


def alert_detail(unit: Unit, alert: Alert) -> AlertDetail:
    repo = AlertRepo(unit.session)
    events = repo.events(alert.id)
    sent = MessageRepo(unit.session).get_many([e.message_id for e in events if e.message_id])
    # Each note has a "note" step in the events, written with it: the steps give the order,
    # the note its words (kept apart, as they may be long and retention blanks them).
    notes = iter(repo.notes(alert.id))
    history = tuple(
        note_item(next(notes)) if e.kind == "note"
        else event_item(unit.session, e, sent[e.message_id].status if e.message_id in sent else "")
        for e in events)
    flag_rows = repo.flags(alert.id)
    flags = tuple(Flag(f.created_at, f.category, f.severity, f.evidence, f.rule_id) for f in flag_rows)
    said_ids = {f.message_id for f in flag_rows if f.message_id} | {
        e.message_id for e in events if e.kind == "mentee wrote" and e.message_id}
    said_rows = MessageRepo(unit.session).get_many(sorted(said_ids))
    said = tuple(Said(m.created_at, m.channel, m.body) for m in sorted(said_rows.values(), key=lambda m: m.id)
                 if m.direction == "in" and m.mentee_id == alert.mentee_id)
    return AlertDetail(
        alert=alert_summary(unit.session, alert), evidence=alert.evidence, outcome=alert.outcome,
        closed_by=alert.closed_by, housing_consent=alert.housing_consent,
        housing_council=alert.housing_council, flags=flags, history=history, said=said)


def _handled_alert(unit: Unit, code: str) -> Alert:
    alert = unit.alert(code, lock=True)
    if not may_handle_alert(unit.rights, unit.case_of(alert.mentee)):
        raise NotAllowed(f"only {alert.mentee.display_name}'s mentor, their supervisor or the duty "
                         "contact can act on this alert")
    return alert


def acknowledge(svc: Services, actor: Actor, code: str, *, on_behalf_of: str = "") -> Acknowledged:
    """Take an alert (stops the ladder). The operator or a coordinator may record that a named
    staff member took it (`on_behalf_of`, e.g. after a phone call); they must be allowed to."""
    def work(unit: Unit) -> Acknowledged:
        alert = _handled_alert(unit, code)
        if alert.status == "closed":
            raise InvalidInput(f"alert {alert.code} is already closed")
        taker = _taker(unit, alert, on_behalf_of)
        already = alert.status != "open"
        text = alerting.acknowledge(unit.session, unit.svc, alert.code, taker, unit.now,
                                    via=unit.actor.via, who=unit.actor.label)
        detail = "already acknowledged" if already else (f"for {taker.name}" if taker and on_behalf_of else "")
        unit.audit("alert.acknowledge", mentee_id=alert.mentee_id, alert_id=alert.id,
                   target=alert.code, detail=detail)
        return Acknowledged(alert_summary(unit.session, alert), already, text)

    return run(svc, actor, work)


def _taker(unit: Unit, alert: Alert, on_behalf_of: str) -> Staff | None:
    """Whom the acknowledgement is recorded for: the named person, the acting staff member, or
    nobody in particular (the operator)."""
    if on_behalf_of:
        unit.require_admin("record an acknowledgement for someone else")
        person = unit.staff(on_behalf_of)
        rights = rights_of(unit.session, Actor.staff(person.id, person.name))
        if not may_handle_alert(rights, unit.case_of(alert.mentee)):
            raise InvalidInput(f"{person.name} is not {alert.mentee.display_name}'s mentor, "
                               "supervisor or the duty contact")
        return person
    if unit.actor.staff_id is None:
        return None
    return unit.session.get(Staff, unit.actor.staff_id)


def add_note(svc: Services, actor: Actor, code: str, text: str) -> HistoryItem:
    """A staff note on an alert (what was done, who was spoken to); it joins the history."""
    text = written(text, "note", NOTE_LIMIT)

    def work(unit: Unit) -> HistoryItem:
        alert = _handled_alert(unit, code)
        repo = AlertRepo(unit.session)
        note = repo.add_note(AlertNote(alert_id=alert.id, staff_id=unit.actor.staff_id,
                                       author=unit.actor.label, text=text, created_at=unit.now))
        repo.record(alert, "note", unit.now, staff_id=unit.actor.staff_id, channel=unit.actor.via,
                    detail=f"note by {unit.actor.label}")
        unit.audit("alert.note", mentee_id=alert.mentee_id, alert_id=alert.id, target=alert.code,
                   detail=f"{len(text)} characters")
        return note_item(note)

    return run(svc, actor, work)


def close(svc: Services, actor: Actor, code: str, outcome: str) -> AlertSummary:
    """Close an alert with its outcome, recorded as closed by the acting person; only a human
    closes an alert, and only once."""
    outcome = written(" ".join(outcome.split()), "outcome", OUTCOME_LIMIT)

    def work(unit: Unit) -> AlertSummary:
        alert = _handled_alert(unit, code)
        if alert.status == "closed":
            when = alert.closed_at.date().isoformat() if alert.closed_at else "before"
            raise InvalidInput(f"alert {alert.code} was already closed by {alert.closed_by} on {when}")
        alerting.close(unit.session, alert.code, outcome, unit.actor.label, unit.now, via=unit.actor.via)
        unit.audit("alert.close", mentee_id=alert.mentee_id, alert_id=alert.id, target=alert.code)
        checkins.book_welfare_follow_up(unit.session, unit.svc, alert, unit.now)
        return alert_summary(unit.session, alert)

    return run(svc, actor, work)

