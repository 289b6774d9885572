"""Mentee operations: list, add, edit, pause, resume, plans, one-offs, a check-in now, Telegram links."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from bot.app.access import may_assign
from bot.app.actor import Actor
from bot.app.errors import InvalidInput, NotAllowed
from bot.app.unit import MenteeRef, Unit, run
from bot.app.views import MenteeSummary, mentee_summary
from bot.people import parse_channel, parse_date, require_name, sms_number
from bot.schedule import PlanError, describe_local, resolve_local
from bot.schedule.quiet_hours import QuietHours
from bot.service import admin, checkins
from bot.service.quiet import has_safe_contact_limits, quiet_hours_for, tz_for
from bot.service.runtime import Services
from bot.storage.messages import MessageRepo
from bot.storage.models import Mentee
from bot.storage.schedule import DueEventRepo


@dataclass(frozen=True)
class NewMentee:
    first_name: str
    mentor: str  # id, phone, email or name
    last_name: str = ""
    phone: str = ""
    telegram_chat_id: str = ""
    channel: str = "sms"
    timezone: str = ""  # "" = the service's
    release_date: str = ""
    plan: str = ""  # "" = the configured default plan; "none" = no plan


@dataclass(frozen=True)
class TelegramLink:
    """A one-time link that connects a Telegram chat when its owner presses Start."""

    code: str
    url: str
    expires_at: datetime | None


@dataclass(frozen=True)
class Added:
    mentee: MenteeSummary
    plan_is_default: bool  # no plan was given, so the configured default applies
    link: TelegramLink | None  # for a mentee who will use Telegram


@dataclass(frozen=True)
class MenteeChanges:
    """What to change; None leaves a detail as it is, "" clears it where that makes sense."""

    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    mentor: str | None = None
    channel: str | None = None
    timezone: str | None = None
    release_date: str | None = None
    quiet_hours: str | None = None  # "" = the service's quiet hours


@dataclass(frozen=True)
class Planned:
    when: datetime
    local: str  # in the mentee's time zone, e.g. "Thu 3 Dec 10:00 GMT"
    kind: str  # checkin | oneoff | reminder | expiry | ladder
    note: str


@dataclass(frozen=True)
class Schedule:
    mentee: MenteeSummary
    upcoming: tuple[Planned, ...]
    flow: str = ""  # the flow their planned check-ins use
    warnings: tuple[str, ...] = ()  # e.g. a planned time inside quiet hours, and when it really goes


@dataclass(frozen=True)
class CheckinStarted:
    mentee: MenteeSummary
    started: bool  # False: one was already in progress, nothing new sent
    waits_until: datetime | None = None  # held for quiet hours until then


def list_mentees(svc: Services, actor: Actor, *, mentor: str = "") -> list[MenteeSummary]:
    """The mentees this actor may see (optionally one mentor's), with their unread counts."""
    def work(unit: Unit) -> list[MenteeSummary]:
        rows = unit.visible_mentees()
        if mentor:
            mentor_id = unit.staff(mentor).id
            rows = [m for m in rows if m.mentor_id == mentor_id]
        unread = _unread(unit, [m.id for m in rows])
        return [mentee_summary(unit.session, m, unread.get(m.id, 0)) for m in rows]

    return run(svc, actor, work)


def _unread(unit: Unit, mentee_ids: list[int]) -> dict[int, int]:
    """Read markers are per staff member; the operator and the service have none."""
    if unit.actor.staff_id is None:
        return {}
    return MessageRepo(unit.session).unread_counts(unit.actor.staff_id, mentee_ids)


def add(svc: Services, actor: Actor, new: NewMentee) -> Added:
    """Add a mentee (coordinator). Without a plan they get the configured default plan, so
    nobody is added and then silently never checked in with; "none" says no plan on purpose."""
    def work(unit: Unit) -> Added:
        unit.require_admin("add a mentee")
        default = unit.svc.config.checkins.default_plan
        plan = admin.plan_or_default(new.plan, default)
        mentee = admin.add_mentee(
            unit.session, unit.svc, unit.now, first_name=new.first_name, last_name=new.last_name,
            phone=new.phone, telegram_chat_id=new.telegram_chat_id, mentor=new.mentor,
            preferred_channel=new.channel, timezone=new.timezone, release_date=new.release_date,
            plan=plan)
        link = None
        if mentee.preferred_channel == "telegram" and mentee.telegram_chat_id is None:
            link = _link(unit, mentee, admin.new_link_code(unit.session, mentee, unit.now))
        unit.audit("mentee.add", mentee_id=mentee.id, detail=f"plan {mentee.plan or 'none'}")
        return Added(mentee_summary(unit.session, mentee), bool(plan) and not new.plan.strip(), link)

    return run(svc, actor, work)


def edit(svc: Services, actor: Actor, ref: MenteeRef, changes: MenteeChanges) -> MenteeSummary:
    """Change a mentee's details; their future check-ins are planned again."""
    def work(unit: Unit) -> MenteeSummary:
        m = unit.mentee(ref, manage=True)
        changed = _apply(unit, m, changes)
        checkins.replan(unit.session, unit.svc, m, unit.now)
        unit.audit("mentee.edit", mentee_id=m.id, detail=", ".join(changed) or "nothing")
        return mentee_summary(unit.session, m)

    return run(svc, actor, work)


def _apply(unit: Unit, m: Mentee, c: MenteeChanges) -> list[str]:
    """Apply the changes; returns the names of the details changed (for the audit log)."""
    changed = [name for name, value in vars(c).items() if value is not None]
    if c.first_name:
        m.first_name = require_name(c.first_name)
    if c.last_name is not None:
        m.last_name = " ".join(c.last_name.split())
    if c.phone is not None:
        phone = sms_number(c.phone, admin.sms_regions(unit.svc)) if c.phone else None
        if phone:  # checked before it is set: a lookup would flush the change first
            admin.phone_free(unit.session, phone, mentee_id=m.id)
        m.phone = phone
    if c.mentor:
        m.mentor_id = _new_mentor(unit, c.mentor)
    if c.channel:
        m.preferred_channel = parse_channel(c.channel)
    if c.timezone:
        m.timezone = _known_zone(c.timezone)
    if c.release_date is not None:
        m.release_date = parse_date(c.release_date, "release date")
    if c.quiet_hours is not None:
        m.quiet_start, m.quiet_end = _quiet_hours(c.quiet_hours)
    return changed


def _new_mentor(unit: Unit, ref: str) -> int:
    mentor = unit.staff(ref)
    if mentor.role != "mentor":
        raise InvalidInput(f"{mentor.name} is a {mentor.role}, not a mentor")
    if not may_assign(unit.rights, mentor.supervisor_id):
        raise NotAllowed(f"only a coordinator, or {mentor.name}'s supervisor, can give them a mentee")
    return mentor.id


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"time zone {name!r} is not known (e.g. Europe/London)") from None
    return name


def _quiet_hours(text: str) -> tuple[str | None, str | None]:
    if not text:
        return None, None
    try:
        q = QuietHours.parse(text)
    except PlanError as exc:
        raise InvalidInput(f"quiet hours: {exc}") from None
    return f"{q.start:%H:%M}", f"{q.end:%H:%M}"


def pause(svc: Services, actor: Actor, ref: MenteeRef) -> MenteeSummary:
    """No check-ins for now (custody, hospital); the open one is cancelled."""
    return _set_status(svc, actor, ref, "mentee.pause", admin.pause)


def resume(svc: Services, actor: Actor, ref: MenteeRef) -> MenteeSummary:
    """Check-ins again from the next planned time (not for a mentee who opted out)."""
    return _set_status(svc, actor, ref, "mentee.resume", admin.resume)


def _set_status(svc: Services, actor: Actor, ref: MenteeRef, action: str,
                change: Callable[[Session, Services, Mentee, datetime], None]) -> MenteeSummary:
    def work(unit: Unit) -> MenteeSummary:
        m = unit.mentee(ref, manage=True)
        change(unit.session, unit.svc, m, unit.now)
        unit.audit(action, mentee_id=m.id)
        return mentee_summary(unit.session, m)

    return run(svc, actor, work)


def set_plan(svc: Services, actor: Actor, ref: MenteeRef, plan: str, *, start: str = "",
             end: str = "", flow: str | None = None) -> MenteeSummary:
    """A new plan (e.g. "mon,thu 10:00", or "none") and optionally its flow ("" = the service's
    default): future check-ins are replaced. A planned time inside quiet hours or outside the
    mentee's safe-to-text windows is accepted; `schedule()` then warns when it really goes."""
    def work(unit: Unit) -> MenteeSummary:
        m = unit.mentee(ref, manage=True)
        if flow is not None:
            m.flow = _known_flow(unit, flow)
        m.plan_start = parse_date(start, "start date")
        m.plan_end = parse_date(end, "end date")
        if plan.strip().lower() == admin.NO_PLAN:
            m.plan = None
            checkins.replan(unit.session, unit.svc, m, unit.now)
        else:
            admin.set_plan(unit.session, unit.svc, m, plan, unit.now)
        unit.audit("mentee.plan", mentee_id=m.id,
                   detail=f"plan {m.plan or 'none'}, flow {m.flow or unit.svc.config.checkins.flow}")
        return mentee_summary(unit.session, m)

    return run(svc, actor, work)


def _known_flow(unit: Unit, name: str) -> str | None:
    from bot.flows import FlowError
    from bot.service.flows import library

    name = name.strip()
    if not name:
        return None
    try:
        return library(unit.svc).get(name).name
    except FlowError as exc:
        raise InvalidInput(str(exc)) from None


def schedule_oneoff(svc: Services, actor: Actor, ref: MenteeRef, when: str) -> Schedule:
    """A one-off check-in at a local date and time ("2026-12-03 10:00"), e.g. before court;
    returns the mentee and the one booking."""
    try:
        local = datetime.strptime(when.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise InvalidInput(f"when {when!r} must look like 2026-12-03 10:00") from None

    def work(unit: Unit) -> Schedule:
        m = unit.mentee(ref, manage=True)
        due = resolve_local(local.date(), local.time(), m.timezone)
        if due <= unit.now:
            raise InvalidInput("that time has already passed")
        checkins.schedule_oneoff(unit.session, unit.svc, m, due, unit.now)
        unit.audit("mentee.oneoff", mentee_id=m.id, detail=f"at {due.isoformat()}")
        booked = Planned(due, describe_local(due, m.timezone), "oneoff", "")
        return Schedule(mentee_summary(unit.session, m), (booked,))

    return run(svc, actor, work)


def schedule(svc: Services, actor: Actor, ref: MenteeRef, *, limit: int = 20) -> Schedule:
    """What is next for a mentee, in their local time, however far ahead: what is booked, then
    the plan's later check-ins (booked only 14 days ahead) up to `limit` in all."""
    def work(unit: Unit) -> Schedule:
        return _schedule_of(unit, unit.mentee(ref), limit)

    return run(svc, actor, work)


def _schedule_of(unit: Unit, m: Mentee, limit: int = 20) -> Schedule:
    from bot.app.plans import plan_warnings, upcoming_checkins

    booked = DueEventRepo(unit.session).pending_for(m.id, limit=limit)
    upcoming = [Planned(e.due_at, describe_local(e.due_at, m.timezone), e.kind,
                        e.note or (f"flow {e.flow}" if e.flow else "")) for e in booked]
    planned = {e.due_at for e in booked if e.kind == "checkin"}
    for due in upcoming_checkins(unit.svc, m, unit.now, limit):
        if due not in planned:
            upcoming.append(Planned(due, describe_local(due, m.timezone), "checkin", "planned"))
    upcoming.sort(key=lambda p: p.when)
    return Schedule(mentee_summary(unit.session, m), tuple(upcoming[:limit]),
                    m.flow or unit.svc.config.checkins.flow, tuple(plan_warnings(unit.svc, m, unit.now)))


def start_checkin(svc: Services, actor: Actor, ref: MenteeRef, *, now_anyway: bool = False,
                  flow: str = "") -> CheckinStarted:
    """A check-in now; never to a mentee who is paused or who texted STOP.

    The one rule ([checkins] manual_send_waits_for_quiet_hours, default true): it waits for the
    mentee's quiet hours unless `now_anyway`; safe-to-text windows and a code-word hold are
    never overridden (the outbox holds the text)."""
    def work(unit: Unit) -> CheckinStarted:
        m = unit.mentee(ref, manage=True)
        if m.status == "opted_out":
            raise InvalidInput(f"{m.display_name} opted out (texted STOP); no check-in sent")
        if m.status != "active":
            raise InvalidInput(f"{m.display_name} is {m.status}; no check-in sent")
        wait = (unit.svc.config.checkins.manual_send_waits_for_quiet_hours and not now_anyway) \
            or has_safe_contact_limits(m, unit.now)
        quiet, tz = quiet_hours_for(unit.svc.config, m), tz_for(m)
        waits = quiet.next_open(unit.now, tz) if wait and quiet and quiet.is_quiet(unit.now, tz) else None
        started = checkins.start(unit.session, unit.svc, m, unit.now, trigger="manual",
                                 flow_name=_known_flow(unit, flow), wait_for_quiet_hours=wait) is not None
        unit.audit("mentee.checkin", mentee_id=m.id, detail="" if started else "one already open")
        return CheckinStarted(mentee_summary(unit.session, m), started, waits if started else None)

    return run(svc, actor, work)


def link_code(svc: Services, actor: Actor, ref: MenteeRef, *, new: bool = False) -> TelegramLink:
    """The mentee's Telegram link: the one already given while it is valid (so every place that
    shows it shows the same), or a new one when asked or when it has expired."""
    def work(unit: Unit) -> TelegramLink:
        m = unit.mentee(ref, manage=True)
        code = m.telegram_link_code
        expires = m.telegram_link_expires
        fresh = new or code is None or expires is None or expires <= unit.now
        if fresh:
            code = admin.new_link_code(unit.session, m, unit.now)
        unit.audit("mentee.link", mentee_id=m.id, detail="new code" if fresh else "same code")
        assert code is not None
        return _link(unit, m, code)

    return run(svc, actor, work)


def _link(unit: Unit, mentee: Mentee, code: str) -> TelegramLink:
    return TelegramLink(code, telegram_url(unit.svc, code), mentee.telegram_link_expires)


def telegram_url(svc: Services, code: str) -> str:
    bot = svc.config.telegram.bot_username or "<your_bot>"
    return f"https://t.me/{bot}?start={code}"
