"""What the service's loops run, one pass each (the Runner, `checkins worker` and the demo call
these). They act as the service itself; each pass is its own unit(s) of work in bot.service.

Turns, sends and ticks are recorded where they happen (messages, alert histories, due events),
not in the audit log; retention runs and digests sent are, since a data protection lead asks
after them.
"""

from __future__ import annotations

from datetime import datetime

from bot.app.actor import Actor
from bot.channels.base import InboundMessage
from bot.app.digests import DigestSent
from bot.app.unit import Unit, run
from bot.service import digests, outbox, ticker, turns
from bot.service.runtime import Services
from bot.service.retention import apply_retention
from bot.service.sink import DatabaseSink
from bot.storage.db import scrub_wal
from bot.storage.schedule import DueEventRepo


def receive(svc: Services, message: InboundMessage) -> bool:
    """Store one inbound message as a webhook does (once per provider id); True if new."""
    return DatabaseSink(svc).store_inbound_sync(message)


def handle_inbound(svc: Services, worker: int | None = None) -> int:
    """Handle stored inbound messages (one turn each); returns how many. `worker`: which of
    several turn workers in this process runs the pass (None: the only one)."""
    return turns.process_inbound(svc, worker=worker)


async def send_pass(svc: Services, *, urgent_only: bool = False) -> int:
    """Hand one batch of the outbox to the channels; returns how many sends were tried.
    `urgent_only`: helpline replies and staff alerts only (the sender's urgent lane)."""
    return await outbox.send_pass(svc, urgent_only=urgent_only)


def tick(svc: Services) -> int:
    """Fire one batch of due events (check-ins, reminders, expiries, ladder steps)."""
    return ticker.tick(svc)


def plan(svc: Services) -> int:
    """Top up every active mentee's planned check-ins (daily, and at start-up)."""
    return ticker.plan_all(svc)


def next_due(svc: Services) -> datetime | None:
    """When the ticker next has work (a simulation moves its clock there: the demo, tests)."""
    with svc.sessions() as session:
        return DueEventRepo(session).next_due_at()


def retention(svc: Services, actor: Actor | None = None) -> dict[str, int]:
    """Blank free text older than `[service] retention_days` (0 keeps everything)."""
    def work(unit: Unit) -> dict[str, int]:
        unit.require_admin("run retention")
        counts = apply_retention(unit.session, unit.svc, unit.now)
        unit.audit("retention.run", detail=", ".join(f"{k} {v}" for k, v in counts.items())
                   + f" (kept {unit.svc.config.service.retention_days} days)")
        return counts

    counts = run(svc, actor or Actor.system(), work)
    # Always, not only when this pass blanked something: a stranger's words blanked by a turn
    # whose checkpoint found a busy reader are still in the WAL until one succeeds.
    scrub_wal(svc.engine)
    return counts


def weekly_digest(svc: Services) -> list[DigestSent]:
    """Last week's digest to every supervisor (and mentor, if enabled), once each."""
    outcomes = digests.send_weekly(svc)
    sent = [o for o in outcomes if o.status == "sent"]
    if sent:
        def record(unit: Unit) -> None:
            for o in sent:
                unit.audit("digest.send", target=o.week, detail=f"to {o.recipient}")

        run(svc, Actor.system(), record)
    return [DigestSent(o.recipient, o.week, o.status) for o in outcomes]
