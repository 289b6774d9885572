"""Alerts in the world: raise or fold a finding, page staff, climb the ladder, acknowledge, close.

The decisions are pure (`escalation.ladder`, `escalation.acks`, `escalation.alert_text`,
`escalation.replies`); this module stores them in the caller's transaction. The ladder's only
memory is the alert row and a due-event row, so it survives restarts.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.service.outbox import _queue, queue_to_mentee, queue_to_staff, route_to_staff
from bot.service.runtime import Services
from bot.staff_links import alert_link
from bot.storage.alerts import AlertRepo
from bot.storage.later import LaterId
from bot.storage.messages import MessageRepo
from bot.storage.models import Alert, Mentee, Message, RiskFlag, Staff
from bot.storage.people import StaffRepo
from bot.storage.schedule import DueEventRepo
from escalation.acks import (
    ack_confirmed_text,
    ack_refused_text,
    may_acknowledge,
    parse_ack,
)
from escalation.alert_text import (
    new_alert_code,
    no_contact_summary,
    unreachable_summary,
    staff_alert_email,
    staff_alert_sms,
    staff_text,
    stranger_alert_email,
    stranger_alert_sms,
    taken_text,
)
from escalation.alert_view import AlertView, FindingView
from escalation.detect import Assessment
from escalation.ladder import (
    AlertPeople,
    FoldAction,
    LadderDecision,
    LadderSettings,
    Notification,
    climb_ladder,
    fold_action,
)
from escalation.replies import (
    mentee_ack_reply,
    mentee_concern_reply,
    mentee_safety_reply,
    stranger_safety_reply,
)

log = logging.getLogger("checkins.alerts")
_rng = random.SystemRandom()


def ladder_settings(svc: Services) -> LadderSettings:
    e = svc.config.escalation
    return LadderSettings(
        urgent_reack_after=timedelta(minutes=e.urgent_reack_minutes),
        repeat_every=timedelta(minutes=e.repeat_minutes),
        concern_supervisor_after=timedelta(minutes=e.concern_supervisor_minutes),
        concern_duty_after=max(timedelta(hours=24), timedelta(minutes=e.concern_supervisor_minutes * 2)),
        fold_window=timedelta(hours=e.fold_hours),
    )


def view_of(alert: Alert, session: Session, svc: Services | None = None, *,
            flags: Sequence[RiskFlag] | None = None) -> AlertView:
    """`flags`: the alert's risk flags when the caller has them all in hand (a new alert's one)."""
    mentee = alert.mentee
    mentor = StaffRepo(session).get(mentee.mentor_id)
    if flags is None:
        flags = AlertRepo(session).flags(alert.id) if alert.id else []
    return AlertView(
        code=alert.code, mentee_id=alert.mentee_id, mentee_first_name=mentee.first_name,
        mentee_last_name=mentee.last_name, category=alert.category,
        severity=alert.severity,  # type: ignore[arg-type]
        created_at=alert.created_at, excerpt=alert.evidence, acknowledged_at=alert.acknowledged_at,
        closed_at=alert.closed_at, step=alert.ladder_step, ladder_started_at=alert.ladder_started_at,
        last_finding_at=alert.last_finding_at,
        evidence_ids=frozenset(f.message_id for f in flags if f.message_id is not None),
        mentor_name=mentor.name if mentor else "",
        link=alert_link(svc.config.service.public_base_url, svc.config.staff.link_secret, alert.code)
        if svc is not None and svc.config.staff.enabled else "",
    )


def people_for(session: Session, mentee: Mentee) -> AlertPeople:
    """Who an alert about this mentee reaches. A paused staff member (on leave, left) is skipped,
    so the ladder goes to whoever is left: the supervisor, then the duty contact."""
    staff = StaffRepo(session)
    mentor = staff.get(mentee.mentor_id)
    supervisor = staff.get(mentor.supervisor_id) if mentor and mentor.supervisor_id else None
    duty = staff.duty()
    return AlertPeople(
        mentor_id=mentor.id if mentor and mentor.active else None,
        supervisor_id=supervisor.id if supervisor and supervisor.active else None,
        duty_id=duty.id if duty else None,
    )


def mentor_or_cover(session: Session, mentee: Mentee) -> Staff | None:
    """Who gets routine notes about a mentee (a message arrived, STOP, a call asked for): their
    mentor, or while the mentor is paused (on leave, unavailable) their supervisor; a paused
    person gets nothing."""
    staff = StaffRepo(session)
    mentor = staff.get(mentee.mentor_id)
    if mentor is not None and mentor.active:
        return mentor
    supervisor = staff.get(mentor.supervisor_id) if mentor and mentor.supervisor_id else None
    return supervisor if supervisor is not None and supervisor.active else None


# ---- raising ------------------------------------------------------------------------------------
def note_later_message(session: Session, mentee: Mentee, row: Message, assessment: Assessment,
                       now: datetime, *, open_alerts: Sequence[Alert] | None = None) -> None:
    """A message from a mentee with open alerts joins each alert's record ("I'm fine" included):
    it never closes one; only a human does that. `open_alerts`: the mentee's, if already read."""
    flagged = {f.category for f in assessment.findings}
    if open_alerts is None:
        open_alerts = AlertRepo(session).open_for_mentee(mentee.id)
    for alert in open_alerts:
        if alert.category in flagged:
            continue  # recorded as a flag on the alert instead
        AlertRepo(session).record(alert, "mentee wrote", now, channel=row.channel,
                                  message_id=row.id, detail=(row.body or "")[:120])



def raise_findings(session: Session, svc: Services, mentee: Mentee, assessment: Assessment,
                   now: datetime, *, message_id: int | None = None,
                   open_alerts: Sequence[Alert] | None = None) -> bool:
    """Raise every finding of a message and answer the mentee safely; True if any was urgent.
    `open_alerts`: the mentee's open alerts, if already read in this turn (see raise_finding)."""
    if not assessment.findings:
        return False
    worst: dict[str, tuple[str, str, str]] = {}
    for f in assessment.findings:
        if f.category not in worst or (f.severity == "urgent" and worst[f.category][0] != "urgent"):
            worst[f.category] = (f.severity, f.evidence, f.rule_id)
    if assessment.emergency and "crisis" in worst:  # an overdose already taken is never a concern
        worst["crisis"] = ("urgent", *worst["crisis"][1:])
    for category, (severity, evidence, rule_id) in worst.items():
        raise_finding(session, svc, mentee, category, severity, evidence, rule_id, now,
                      message_id=message_id, open_alerts=open_alerts)
    urgent = {c for c, (sev, _, _) in worst.items() if sev == "urgent"}
    if mentee.status == "opted_out":
        return bool(urgent)
    language = mentee.language or "en"
    texts = (safety_reply_texts(svc, urgent, emergency=assessment.emergency, language=language)
             if urgent else mentee_concern_reply(set(worst), svc.config.replies, language))
    for text in texts:
        # Safety replies answer a message the mentee has just sent: quiet hours do not apply.
        queue_to_mentee(session, svc, mentee, text, now, purpose="safety", respect_quiet_hours=False,
                        flush=False)
    return bool(urgent)


def safety_reply_texts(svc: Services, categories: set[str], *, emergency: bool = False,
                       language: str = "en") -> list[str]:
    return mentee_safety_reply(categories, svc.config.replies, emergency=emergency,
                               language=language)


def stranger_reply_texts(svc: Services, assessment: Assessment) -> list[str]:
    """Helplines for someone not registered who wrote something urgent (no "your mentor"). In
    English: we do not know their language."""
    categories = {f.category for f in assessment.findings}
    return stranger_safety_reply(categories, svc.config.replies, emergency=assessment.emergency)


def page_duty_about_stranger(session: Session, svc: Services, channel: str, address: str,
                             words: str, assessment: Assessment, now: datetime) -> Message | None:
    """Tell the duty contact that someone not registered wrote something urgent: their number
    and words. The page (purpose "stranger") is the only copy of the words, and retention blanks
    it after `[service] stranger_retention_days`. No duty contact: that reaches a human through
    the critical log instead."""
    duty = StaffRepo(session).duty()
    categories = {f.category for f in assessment.findings}
    if duty is None:
        log.critical("an unknown %s sender wrote something urgent and there is no duty contact",
                     channel)
        return None
    route = route_to_staff(svc, duty, set())
    if route is None:
        log.critical("an unknown %s sender wrote something urgent; the duty contact has no "
                     "working channel", channel)
        return None
    shown = address if channel == "sms" else f"Telegram chat {address}"
    if route[0] == "email":
        email = stranger_alert_email(shown, categories, words)
        text = f"{email.subject}\n{email.body}"  # the email channel takes line 1 as subject
    else:
        text = stranger_alert_sms(shown, categories, words)
    message = _queue(session, channel=route[0], address=route[1], text=text, now=now,
                     purpose="stranger", staff_id=duty.id, respect_quiet_hours=False)
    svc.poke_outbox()
    return message


def answer_helpline_texts(svc: Services, category: str, language: str = "en") -> list[str]:
    """Helplines for an urgent risk raised by a check-in answer (no lead: the flow speaks)."""
    template = {"crisis": "urgent_crisis", "housing": "urgent_housing",
                "domestic_abuse": "urgent_domestic_abuse"}.get(category)
    return [svc.config.replies.render(template, language)] if template else []


def ack_reply_text(svc: Services, language: str = "en") -> str:
    return mentee_ack_reply(svc.config.replies, language)[0]


def raise_finding(session: Session, svc: Services, mentee: Mentee, category: str, severity: str,
                  evidence: str, rule_id: str, now: datetime, *, message_id: int | None = None,
                  conversation_id: int | None = None,
                  open_alerts: Sequence[Alert] | None = None) -> Alert:
    """Store a risk flag and create, fold into or upgrade the mentee's alert for that category.

    `open_alerts`: the mentee's open alerts as this turn read them (their row locked, so only
    their own turn raises alerts about them); with none of this category among them, there is
    none to fold into and it is not looked up again. Categories differ between the findings of
    one message, so an alert raised for one of them leaves the list good for the others."""
    if category == "domestic_abuse":
        from bot.service.safe_contact import after_domestic_abuse_flag

        after_domestic_abuse_flag(svc, mentee)  # the next contact asks if texting is safe
    alerts = AlertRepo(session)
    flag = RiskFlag(mentee_id=mentee.id, message_id=message_id, conversation_id=conversation_id,
                    category=category, severity=severity, evidence=evidence[:300],
                    rule_id=rule_id[:60], created_at=now)
    if open_alerts is not None and not any(a.category == category for a in open_alerts):
        existing = None
    else:
        existing = alerts.open_for(mentee.id, category, lock=True)
    finding = FindingView(mentee.id, category, severity,  # type: ignore[arg-type]
                          frozenset({message_id}) if message_id is not None else frozenset())
    action = fold_action(view_of(existing, session) if existing else None, finding, now,
                         ladder_settings(svc))
    if action is FoldAction.NEW_ALERT or existing is None:
        # Decided before it is stored, so the alert is written once, with its first rung's step;
        # its one flag is this one, and it has no earlier messages: neither is read back.
        alert = _new_alert(session, mentee, category, severity, evidence, now)
        climbed = _climb(session, svc, alert, now, flags=[flag])
        alert.ladder_step = climbed[1].step
        alerts.add(alert)
        flag.alert_id = alert.id
        alerts.add_flag(flag)
        alerts.record(alert, "raised", now, detail=f"{severity} {category}: {rule_id}")
        run_ladder(session, svc, alert, now, climbed=climbed)
        return alert
    flag.alert_id = existing.id
    alerts.add_flag(flag)
    existing.last_finding_at = now
    if action is FoldAction.UPGRADE:
        existing.severity = "urgent"
        existing.ladder_step = 0
        existing.ladder_started_at = now
        existing.evidence = evidence[:300]
        alerts.record(existing, "upgraded", now, detail=f"now urgent: {rule_id}")
        DueEventRepo(session).cancel(alert_id=existing.id, kinds=("ladder",))
        session.flush()
        run_ladder(session, svc, existing, now)
    else:
        if category == "no_contact":  # the summary says how many missed so far, not the first
            existing.evidence = evidence[:300]
        alerts.record(existing, "folded", now, detail=f"another {severity} flag: {rule_id}")
    return existing


def _new_alert(session: Session, mentee: Mentee, category: str, severity: str, evidence: str,
               now: datetime) -> Alert:
    """A new alert with a free code, not yet in the session (the caller adds it)."""
    alerts = AlertRepo(session)
    code = new_alert_code(_rng)
    while alerts.code_exists(code):
        code = new_alert_code(_rng)
    alert = Alert(code=code, mentee_id=mentee.id, category=category, severity=severity,
                  evidence=evidence[:300], status="open", ladder_step=0,
                  created_at=now, ladder_started_at=now, last_finding_at=now)
    alert.mentee = mentee
    return alert


# ---- the ladder ---------------------------------------------------------------------------------
def _climb(session: Session, svc: Services, alert: Alert, now: datetime, *,
           flags: Sequence[RiskFlag] | None = None) -> tuple[AlertView, LadderDecision]:
    """The alert as staff see it, and the ladder's decision for it now (pure: nothing stored)."""
    view = view_of(alert, session, svc, flags=flags)
    return view, climb_ladder(view, people_for(session, alert.mentee), now, ladder_settings(svc))


def run_ladder(session: Session, svc: Services, alert: Alert, now: datetime, *,
               climbed: tuple[AlertView, LadderDecision] | None = None) -> None:
    """Send whatever rung is due now and book the next one as a due-event row. `climbed`: the
    view and decision (_climb) of an alert just raised, stored with its step; it has no
    earlier messages, so none are read."""
    view, decision = climbed if climbed is not None else _climb(session, svc, alert, now)
    if decision.unroutable:
        # Nobody to reach: that failure itself must reach a human by a second route.
        log.critical("ALERT %s for mentee %s has no staff to notify", alert.code, alert.mentee_id)
        AlertRepo(session).record(alert, "unroutable", now, detail="no mentor, supervisor or duty contact")
    if decision.step > 1 and decision.notifications:
        alert.ladder_fired = True
        AlertRepo(session).record(alert, "re-escalated", now, detail=f"step {decision.step}")
    if alert.ladder_step != decision.step:  # a new alert was stored with it
        alert.ladder_step = decision.step
    staff = StaffRepo(session)
    # One look at the alert's earlier messages for everyone paged on this rung (a new alert has
    # none): this runs on the urgent path between the mentee's text and the first page.
    earlier = (MessageRepo(session).for_alert(alert.id)
               if decision.notifications and climbed is None else [])
    for note in decision.notifications:
        person = staff.get(int(note.staff_id))
        if person is not None:
            failed = {m.channel for m in earlier if m.staff_id == person.id and m.status == "failed"}
            told = any(m.staff_id == person.id and m.status != "failed" for m in earlier)
            notify_staff(session, svc, alert, person, now, note, view=view, failed=failed,
                         told_before=told)
    if decision.next_due is not None:
        DueEventRepo(session).schedule_later(
            kind="ladder", dedupe_key=f"ladder:{alert.id}:{decision.step}:{alert.ladder_started_at.isoformat()}",
            due_at=decision.next_due, now=now, mentee_id=alert.mentee_id, alert_id=alert.id)


def failed_channels(session: Session, alert_id: int, staff_id: int) -> set[str]:
    """Channels that failed for good for this person on this alert: later rungs skip them."""
    return {m.channel for m in MessageRepo(session).for_alert(alert_id)
            if m.staff_id == staff_id and m.status == "failed"}


def notify_staff(session: Session, svc: Services, alert: Alert, person: Staff, now: datetime,
                 note: Notification | None = None, exclude: set[str] = frozenset(), *,
                 reminder: bool | None = None, event: str = "queued", detail: str = "",
                 view: AlertView | None = None, failed: set[str] | None = None,
                 told_before: bool = True) -> Message | None:
    """Queue the alert to one staff member on their first working channel.

    `reminder` (default: from `note`) picks the STILL NOT ACKED wording; `event` and `detail`
    name the step in the alert's history ("queued", or "fallback" after a channel failed).
    `view` and `failed` (channels that failed for this person on this alert) are looked up
    when not given. `told_before` False: a re-page to someone new to the alert still carries
    the housing Duty to Refer advice.
    """
    if not person.active:  # paused (on leave, unavailable): gets nothing
        return None
    if failed is None:
        failed = failed_channels(session, alert.id, person.id)
    exclude = set(exclude) | failed
    route = route_to_staff(svc, person, exclude)
    if route is None:
        log.critical("ALERT %s: no working channel left for staff %s", alert.code, person.id)
        AlertRepo(session).record(alert, "failed", now, staff_id=person.id,
                                  detail="no working channel left for this person")
        return None
    channel, address = route
    view = view or view_of(alert, session, svc)
    if reminder is None:
        reminder = bool(note and note.reminder)
    reminder_at = now if reminder else None
    buttons: tuple[tuple[str, str], ...] = ()
    if channel == "email":
        email = staff_alert_email(view, reminder_at=reminder_at)
        texts = [f"{email.subject}\n{email.body}"]  # the email channel takes line 1 as subject
    else:
        texts = staff_alert_sms(view, reminder_at=reminder_at, told_before=told_before)
        if channel == "telegram":
            texts = ["\n\n".join(texts)]
            buttons = (("Acknowledge", f"ack:{alert.code}"),)
    first: Message | None = None
    # In a batch of turns the pages and their history are written with the batch's other rows
    # (then this returns None): the history names the first page by the id it will have.
    later = MessageRepo(session).writes_later()
    kept: list[LaterId] = []
    for text in texts:
        msg = _queue(session, channel=channel, address=address, text=text, now=now,
                     purpose="alert", staff_id=person.id, alert_id=alert.id,
                     mentee_id=alert.mentee_id, buttons=buttons, respect_quiet_hours=False,
                     flush=not later, kept=kept)
        first = first or msg
    why = detail or (note.role if note else "direct")
    AlertRepo(session).record(alert, event, now, staff_id=person.id, channel=channel,
                              message_id=first.id if first else (kept[0] if kept else None),
                              detail=f"{why}; trying {channel}" if event == "fallback" else f"{why} via {channel}")
    svc.poke_outbox()
    return first


# ---- acknowledgement and closure ----------------------------------------------------------------
def handle_staff_message(session: Session, svc: Services, staff: Staff, row: Message, now: datetime) -> None:
    """A message from staff: ACK <code>, or a hint about how to acknowledge."""
    code = parse_ack(row.body or "")
    if code is None:
        reply = staff_text("ack_hint")
    else:
        reply = acknowledge(session, svc, code, staff, now, via=row.channel)
    MessageRepo(session).add_outbound(Message(
        direction="out", channel=row.channel, address=row.address, body=reply, purpose="system",
        status="pending", respect_quiet_hours=False, staff_id=staff.id, created_at=now,
        updated_at=now))


def acknowledge(session: Session, svc: Services, code: str, staff: Staff | None, now: datetime,
                *, via: str, who: str | None = None) -> str:
    """Record an acknowledgement (stops the ladder); returns the text to tell the person."""
    alerts = AlertRepo(session)
    alert = alerts.by_code(code, lock=True)
    if alert is None:
        return ack_refused_text(code)
    if staff is not None:
        people = people_for(session, alert.mentee)
        if not may_acknowledge(staff.id, people.mentor_id, people.supervisor_id, people.duty_id,
                               coordinator=staff.role == "coordinator"):
            alerts.record(alert, "ack_refused", now, staff_id=staff.id, channel=via,
                          detail="not linked to this mentee")
            return ack_refused_text(code)
    label = alert.mentee.display_name
    if alert.status != "open":
        return staff_text("ack_already", code=alert.code, mentee=label)
    alert.status = "acknowledged"
    alert.acknowledged_at = now
    alert.acknowledged_by = staff.id if staff else None
    alert.ack_via = via
    alerts.record(alert, "acknowledged", now, staff_id=staff.id if staff else None, channel=via,
                  detail=f"by {staff.name if staff else who or 'coordinator'}")
    DueEventRepo(session).cancel(alert_id=alert.id, kinds=("ladder",))
    tell_others_taken(session, svc, alert, staff, now, who=who)
    return ack_confirmed_text(alert.code, label)


def tell_others_taken(session: Session, svc: Services, alert: Alert, taker: Staff | None,
                      now: datetime, *, who: str | None = None) -> list[Staff]:
    """Everyone else this alert was sent to hears who has it, so nobody rings the mentee twice
    and nobody keeps worrying. Returns whom it told."""
    alerts = AlertRepo(session)
    paged = []
    for event in alerts.events(alert.id):
        if event.kind in ("queued", "fallback") and event.staff_id is not None \
                and event.staff_id not in paged and (taker is None or event.staff_id != taker.id):
            paged.append(event.staff_id)
    name = taker.name if taker else (who if who and not who.startswith("shell:") else "the coordinator")
    text = taken_text(alert.code, alert.mentee.display_name, name)
    told = []
    for staff_id in paged:
        person = StaffRepo(session).get(staff_id)
        if person is None or not person.active:
            continue
        # No alert_id: a failed copy must fall back as a plain message, not page them again.
        if queue_to_staff(session, svc, person, text, now, mentee_id=alert.mentee_id) is not None:
            alerts.record(alert, "told taken", now, staff_id=person.id, detail=f"{person.name} told {name} has it")
            told.append(person)
    if told:
        svc.poke_outbox()
    return told


def close(session: Session, code: str, outcome: str, who: str, now: datetime,
          via: str = "cli") -> Alert | None:
    """A human closes an alert with a recorded outcome; only this ever closes one."""
    alerts = AlertRepo(session)
    alert = alerts.by_code(code, lock=True)
    if alert is None:
        return None
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now
        alert.ack_via = via
    alert.status = "closed"
    alert.closed_at = now
    alert.closed_by = who
    alert.outcome = outcome
    alerts.record(alert, "closed", now, detail=f"by {who}: {outcome}")
    DueEventRepo(session).cancel(alert_id=alert.id, kinds=("ladder",))
    return alert


# ---- answers and non-engagement -----------------------------------------------------------------
def record_housing_answer(session: Session, mentee: Mentee, question: str, value: str | None,
                          raw: str, now: datetime) -> None:
    """Duty to Refer: consent and chosen council from the flow go on the open housing alert."""
    if question not in ("housing_consent", "housing_council"):
        return
    alert = AlertRepo(session).open_for(mentee.id, "housing")
    if alert is None:
        return
    if question == "housing_consent":
        alert.housing_consent = value == "yes"
        detail = f"consent to Duty to Refer: {value}"
    else:
        alert.housing_council = raw.strip()[:120]
        detail = f"chosen council: {alert.housing_council}"
    AlertRepo(session).record(alert, "housing", now, detail=detail)


def missed_streak(session: Session, svc: Services, mentee: Mentee, now: datetime) -> None:
    """Missed check-ins in a row become a no-contact concern for the mentor, then the supervisor."""
    cfg = svc.config.checkins
    if mentee.missed_streak < cfg.missed_streak_mentor:
        return
    summary = no_contact_summary(mentee.missed_streak, mentee.last_inbound_at)
    severity = "concern"
    alert = raise_finding(session, svc, mentee, "no_contact", severity, summary,
                          f"missed_streak.{mentee.missed_streak}", now)
    if mentee.missed_streak >= cfg.missed_streak_supervisor:
        people = people_for(session, mentee)
        supervisor = StaffRepo(session).get(int(people.supervisor_id)) if people.supervisor_id else None
        already = any(e.kind == "queued" and e.staff_id == (supervisor.id if supervisor else None)
                      for e in AlertRepo(session).events(alert.id))
        if supervisor is not None and not already:
            notify_staff(session, svc, alert, supervisor, now)


def unreachable(session: Session, svc: Services, mentee: Mentee, channel: str, now: datetime) -> None:
    """We cannot reach the mentee on any channel: a welfare concern, not a silent failure."""
    raise_finding(session, svc, mentee, "no_contact", "concern",
                  unreachable_summary(channel)[:300], f"unreachable.{channel}", now)
