"""Needs attention: what a staff member should look at first (the staff app's home page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.app.actor import Actor
from bot.app.unit import Unit, run
from bot.app.views import AlertSummary, MenteeSummary, alert_summary, mentee_summary
from bot.service.runtime import Services
from bot.storage.alerts import AlertRepo
from bot.storage.messages import MessageRepo


@dataclass(frozen=True)
class OpenAlert:
    alert: AlertSummary
    raised_ago: timedelta
    acknowledged: bool


@dataclass(frozen=True)
class NeedsAttention:
    alerts: tuple[OpenAlert, ...]  # urgent first, then not yet acknowledged, then oldest
    unread: tuple[MenteeSummary, ...]  # mentees with messages this person has not read
    missed: tuple[MenteeSummary, ...]  # missed check-ins in a row, at least [digest] missed_streak
    unreachable: tuple[MenteeSummary, ...]  # opted out, or no channel takes our messages
    no_plan: tuple[MenteeSummary, ...]  # active, but no check-ins planned


def needs_attention(svc: Services, actor: Actor) -> NeedsAttention:
    def work(unit: Unit) -> NeedsAttention:
        mentees = unit.visible_mentees()
        ids = [m.id for m in mentees]
        unread = (MessageRepo(unit.session).unread_counts(unit.actor.staff_id, ids)
                  if unit.actor.staff_id is not None else {})
        people = [mentee_summary(unit.session, m, unread.get(m.id, 0)) for m in mentees]
        live = AlertRepo(unit.session).list(mentee_ids=ids)
        live = sorted(live, key=lambda a: (a.severity != "urgent", a.status != "open", a.created_at))
        streak = unit.svc.config.digest.missed_streak
        return NeedsAttention(
            alerts=tuple(OpenAlert(alert_summary(unit.session, a), unit.now - a.created_at,
                                   a.status == "acknowledged") for a in live),
            unread=tuple(p for p in people if p.unread),
            missed=tuple(p for p in people if p.status == "active" and p.missed_streak >= streak),
            unreachable=tuple(p for p in people if p.status == "opted_out" or not p.reachable),
            no_plan=tuple(p for p in people if p.status == "active" and not p.plan))

    return run(svc, actor, work)
