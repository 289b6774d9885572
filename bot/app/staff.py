"""Staff operations (coordinator): add, edit, pause, resume, list, Telegram link; and who a
signed-in staff member is."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.actor import Actor
from bot.app.errors import InvalidInput, NotFound
from bot.app.mentees import telegram_url
from bot.app.unit import Unit, run
from bot.app.views import StaffSummary, staff_summary
from bot.people import InvalidDetails, check_alert_channels, parse_channel_list, sms_number
from bot.service import admin
from bot.service.runtime import Services
from bot.storage.people import StaffRepo


@dataclass(frozen=True)
class NewStaff:
    name: str
    role: str = "mentor"  # mentor | supervisor | coordinator
    phone: str = ""
    email: str = ""
    telegram_chat_id: str = ""
    channels: str = ""  # the order alerts try; "" for sms, telegram, email (what they have)
    supervisor: str = ""  # a mentor's supervisor: id, phone, email or name
    duty: bool = False


@dataclass(frozen=True)
class StaffChanges:
    """What to change; None leaves a detail as it is, "" clears a phone or email."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    channels: str | None = None
    supervisor: str | None = None
    duty: bool | None = None


@dataclass(frozen=True)
class StaffLink:
    code: str
    url: str


def actor_for(svc: Services, ref: str) -> Actor:
    """The Actor for a staff member (e.g. once signed in): by id, phone, email or exact name."""
    def work(unit: Unit) -> Actor:
        found = admin.find_staff(unit.session, ref)
        if found is None or not found.active:
            raise NotFound(f"no active staff member {ref!r}")
        return Actor.staff(found.id, found.name)

    return run(svc, Actor.system(), work)


def list_staff(svc: Services, actor: Actor) -> list[StaffSummary]:
    def work(unit: Unit) -> list[StaffSummary]:
        unit.require_admin("list staff")
        return [staff_summary(unit.session, s) for s in StaffRepo(unit.session).list()]

    return run(svc, actor, work)


def add(svc: Services, actor: Actor, new: NewStaff) -> StaffSummary:
    def work(unit: Unit) -> StaffSummary:
        unit.require_admin("add staff")
        st = admin.add_staff(unit.session, unit.now, name=new.name, role=new.role, phone=new.phone,
                             email=new.email, telegram_chat_id=new.telegram_chat_id,
                             channels=new.channels, supervisor=new.supervisor, duty=new.duty,
                             regions=admin.sms_regions(unit.svc))
        unit.audit("staff.add", staff_id=st.id, detail=st.role + (", duty" if st.is_duty else ""))
        return staff_summary(unit.session, st)

    return run(svc, actor, work)


def edit(svc: Services, actor: Actor, ref: str, changes: StaffChanges) -> StaffSummary:
    def work(unit: Unit) -> StaffSummary:
        unit.require_admin("change staff details")
        st = unit.staff(ref)
        c = changes
        if c.name:
            st.name = admin.unique_staff_name(unit.session, c.name, st.id)
        if c.phone is not None:
            phone = sms_number(c.phone, admin.sms_regions(unit.svc)) if c.phone else None
            if phone:  # checked before it is set: a lookup would flush the change first
                admin.phone_free(unit.session, phone, staff_id=st.id)
            st.phone = phone
        if c.email is not None:
            if c.email and "@" not in c.email:
                raise InvalidDetails(f"email {c.email!r} is not an email address")
            st.email = c.email or None
        if c.channels:  # chosen now, so each must reach them (phone or email changes above count)
            st.channels = parse_channel_list(c.channels)
            check_alert_channels(st.channels, phone=st.phone, email=st.email,
                                 telegram_chat_id=st.telegram_chat_id)
        if c.supervisor:
            st.supervisor_id = admin.supervisor_named(unit.session, c.supervisor, st.id).id
        if c.duty is not None:
            st.is_duty = c.duty
        if not (st.phone or st.email or st.telegram_chat_id):
            raise InvalidInput("staff need a phone, email or Telegram chat to receive alerts")
        changed = [name for name, value in vars(c).items() if value is not None]
        unit.audit("staff.edit", staff_id=st.id, detail=", ".join(changed) or "nothing")
        return staff_summary(unit.session, st)

    return run(svc, actor, work)


def pause(svc: Services, actor: Actor, ref: str) -> StaffSummary:
    """On leave (or gone): no alerts go to them; their mentees' alerts go to the supervisor and
    the duty contact."""
    return _set_active(svc, actor, ref, False)


def resume(svc: Services, actor: Actor, ref: str) -> StaffSummary:
    return _set_active(svc, actor, ref, True)


def _set_active(svc: Services, actor: Actor, ref: str, active: bool) -> StaffSummary:
    def work(unit: Unit) -> StaffSummary:
        unit.require_admin("pause or resume staff")
        st = unit.staff(ref)
        admin.set_staff_active(unit.session, st, active)
        unit.audit("staff.resume" if active else "staff.pause", staff_id=st.id)
        return staff_summary(unit.session, st)

    return run(svc, actor, work)


def link_code(svc: Services, actor: Actor, ref: str, *, new: bool = False) -> StaffLink:
    """The staff member's Telegram link: the one already given unless `new` is asked for."""
    def work(unit: Unit) -> StaffLink:
        unit.require_admin("link a staff member's Telegram")
        st = unit.staff(ref)
        fresh = new or st.telegram_link_code is None
        code = admin.new_staff_link_code(st) if fresh else st.telegram_link_code
        assert code is not None
        unit.audit("staff.link", staff_id=st.id, detail="new code" if fresh else "same code")
        return StaffLink(code, telegram_url(unit.svc, code))

    return run(svc, actor, work)
