"""Staff writing to a mentee: through the outbox, on the mentee's channel, recorded as theirs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.app.actor import Actor
from bot.app.errors import InvalidInput
from bot.app.unit import MenteeRef, Unit, run, written
from bot.gsm7 import sms_parts
from bot.service.outbox import queue_to_mentee, route_to_mentee
from bot.service.quiet import has_safe_contact_limits, quiet_hours_for, tz_for
from bot.service.runtime import Services

REPLY_LIMIT = 640  # four SMS: past that, a phone call serves the mentee better


@dataclass(frozen=True)
class ReplyQueued:
    message_id: int
    channel: str
    segments: int  # texts it goes as (SMS), 1 on Telegram
    waits_until: datetime | None  # quiet hours: held back until then; None = goes now


def reply_to_mentee(svc: Services, actor: Actor, ref: MenteeRef, text: str, *,
                    send_now_anyway: bool = False) -> ReplyQueued:
    """Queue a staff reply to a mentee. Refused if they opted out or cannot be reached; held
    for the end of their quiet hours unless `send_now_anyway` (the writer's call, e.g. they
    know the mentee is awake and waiting)."""
    text = written(text, "reply", REPLY_LIMIT)

    def work(unit: Unit) -> ReplyQueued:
        m = unit.mentee(ref)
        if m.status == "opted_out":
            raise InvalidInput(f"{m.display_name} opted out (texted STOP): nothing can be sent "
                               "until they text START")
        route = route_to_mentee(m, unit.svc.routes())
        if route is None:
            raise InvalidInput(f"{m.display_name} has no channel we can reach them on; "
                               "please phone them")
        # Safe-to-text windows and a code-word hold are never overridden, not even "now".
        now_anyway = send_now_anyway and not has_safe_contact_limits(m, unit.now)
        row = queue_to_mentee(unit.session, unit.svc, m, text, unit.now, purpose="staff_reply",
                              respect_quiet_hours=not now_anyway,
                              sent_by_staff_id=unit.actor.staff_id)
        assert row is not None  # the route was there a moment ago, in this transaction
        quiet = None if now_anyway else quiet_hours_for(unit.svc.config, m)
        tz = tz_for(m)
        waits = quiet.next_open(unit.now, tz) if quiet and quiet.is_quiet(unit.now, tz) else None
        segments = len(sms_parts(text)) if row.channel == "sms" else 1
        unit.audit("mentee.reply", mentee_id=m.id,
                   detail=f"{row.channel}, {segments} part(s)" + (", after quiet hours" if waits else ""))
        unit.svc.poke_outbox()
        return ReplyQueued(row.id, row.channel, segments, waits)

    return run(svc, actor, work)


@dataclass(frozen=True)
class ReplyWindow:
    """What a reply written now would do, for the form beside it."""

    channel: str | None  # where it would go; None: no channel reaches them
    opted_out: bool
    quiet_hours: str | None  # the quiet hours that apply to them, e.g. 21:00-08:00
    quiet_now: bool
    opens_at: datetime | None  # when their quiet hours end, if they are in them now


def reply_window(svc: Services, actor: Actor, ref: MenteeRef) -> ReplyWindow:
    def work(unit: Unit) -> ReplyWindow:
        m = unit.mentee(ref)
        route = route_to_mentee(m, unit.svc.routes())
        quiet = quiet_hours_for(unit.svc.config, m)
        tz = tz_for(m)
        now_quiet = bool(quiet and quiet.is_quiet(unit.now, tz))
        return ReplyWindow(channel=route[0] if route else None, opted_out=m.status == "opted_out",
                           quiet_hours=str(quiet) if quiet else None, quiet_now=now_quiet,
                           opens_at=quiet.next_open(unit.now, tz) if quiet and now_quiet else None)

    return run(svc, actor, work)
