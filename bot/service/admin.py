"""Managing people and plans: what the CLI (and the demo) do, without any printing."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.people import (
    InvalidDetails,
    as_id,
    check_alert_channels,
    normalise_phone,
    parse_channel,
    parse_channel_list,
    parse_date,
    parse_regions,
    parse_yes_no,
    require_name,
    sms_number,
)
from bot.schedule import PlanError, parse_plan
from bot.service import checkins
from bot.service.runtime import Services
from bot.storage.models import Mentee, Staff
from bot.storage.people import MenteeRepo, StaffRepo

LINK_CODE_LIFETIME = timedelta(days=7)


def find_staff(session: Session, ref: str) -> Staff | None:
    """A staff member by id, phone, email or exact name (any case); None if nobody matches.

    A ref that fits several people (two staff with one name, from before names were unique) is
    InvalidDetails listing their ids, never a silent pick.
    """
    ref = ref.strip()
    repo = StaffRepo(session)
    staff_id = as_id(ref)
    if staff_id is not None and (by_id := repo.get(staff_id)) is not None:
        return by_id
    matches = repo.matching(ref, phone=phone_or_none(ref))
    if len(matches) > 1:
        ids = ", ".join(str(m.id) for m in matches)
        raise InvalidDetails(f"{ref!r} fits more than one staff member (ids {ids}): use the id")
    return matches[0] if matches else None


def phone_or_none(ref: str) -> str | None:
    try:
        return normalise_phone(ref)
    except InvalidDetails:
        return None


def unique_staff_name(session: Session, name: str, staff_id: int | None = None) -> str:
    """`name` tidied, or InvalidDetails if another staff member is already called that (any case):
    alerts, digests and every --mentor/--supervisor ref name staff by it."""
    name = require_name(name, "name")
    taken = [s for s in StaffRepo(session).named(name) if s.id != staff_id]
    if taken:
        raise InvalidDetails(f"a staff member is already called {taken[0].name} (id {taken[0].id}); "
                             "add an initial or use another name")
    return name


def supervisor_named(session: Session, ref: str, staff_id: int | None = None) -> Staff:
    """The supervisor `ref` names, or InvalidDetails: the role graph routes urgent alerts and
    builds every digest, so a supervisor must have the supervisor role (and not be themselves)."""
    sup = find_staff(session, ref)
    if sup is None:
        raise InvalidDetails(f"no staff member {ref!r} to supervise")
    if sup.role != "supervisor":
        raise InvalidDetails(f"{sup.name} is a {sup.role}, not a supervisor")
    if sup.id == staff_id:
        raise InvalidDetails(f"{sup.name} cannot supervise themselves")
    return sup


DEFAULT_STAFF_CHANNELS = "sms,telegram,email"


def sms_regions(svc: Services | None) -> tuple[str, ...]:
    """Where SMS may go (`[service] sms_regions`); GB without a config."""
    return parse_regions(svc.config.service.sms_regions) if svc is not None else ("GB",)


def phone_free(session: Session, e164: str, *, mentee_id: int | None = None,
               staff_id: int | None = None) -> None:
    """InvalidDetails if the number is already someone else's (a mentee's or a staff member's):
    an inbound text must map to one person."""
    mentee = MenteeRepo(session).by_address("sms", e164)
    if mentee is not None and mentee.id != mentee_id:
        raise InvalidDetails(f"phone {e164} already belongs to mentee {mentee.id}")
    staff = StaffRepo(session).by_address("sms", e164)
    if staff is not None and staff.id != staff_id:
        raise InvalidDetails(f"phone {e164} already belongs to staff member {staff.name}")


def add_staff(session: Session, now: datetime, *, name: str, role: str, phone: str = "",
              email: str = "", telegram_chat_id: str = "", channels: str = "",
              supervisor: str = "", duty: bool = False,
              regions: tuple[str, ...] = ("GB",)) -> Staff:
    """`channels` empty: the usual order (sms, telegram, email), skipping what they lack;
    channels named explicitly must each have an address (Telegram may be linked later)."""
    if role not in ("mentor", "supervisor", "coordinator"):
        raise InvalidDetails(f"role {role!r} must be mentor, supervisor or coordinator")
    name = unique_staff_name(session, name)
    sup_id = supervisor_named(session, supervisor).id if supervisor else None
    if email and "@" not in email:
        raise InvalidDetails(f"email {email!r} is not an email address")
    if not (phone or email or telegram_chat_id):
        raise InvalidDetails("staff need a phone, email or Telegram chat to receive alerts")
    e164 = sms_number(phone, regions) if phone else None
    order = parse_channel_list(channels or DEFAULT_STAFF_CHANNELS)
    if channels:
        check_alert_channels(order, phone=e164, email=email, telegram_chat_id=telegram_chat_id)
    if e164:
        phone_free(session, e164)
    staff = Staff(
        name=name, role=role, phone=e164,
        email=email or None, telegram_chat_id=telegram_chat_id or None,
        channels=order, supervisor_id=sup_id, is_duty=duty, active=True,
        created_at=now,
    )
    return StaffRepo(session).add(staff)


NO_PLAN = "none"  # said instead of a plan: this mentee gets no scheduled check-ins


def plan_or_default(plan: str, default: str) -> str:
    """The plan a new mentee starts on: the one given, else the configured default; "none"
    means deliberately no plan."""
    plan = plan.strip()
    if plan.lower() == NO_PLAN:
        return ""
    return plan or default


def add_mentee(session: Session, svc: Services, now: datetime, *, first_name: str, mentor: str,
               last_name: str = "", phone: str = "", telegram_chat_id: str = "",
               preferred_channel: str = "sms", timezone: str = "", release_date: str = "",
               plan: str = "") -> Mentee:
    found = find_staff(session, mentor)
    if found is None:
        raise InvalidDetails(f"no mentor {mentor!r}")
    if found.role != "mentor":
        raise InvalidDetails(f"{found.name} is a {found.role}, not a mentor")
    channel = parse_channel(preferred_channel)
    e164 = sms_number(phone, sms_regions(svc)) if phone else None
    if channel == "sms" and not e164:
        raise InvalidDetails("a phone number is needed for SMS check-ins")
    if e164:
        phone_free(session, e164)
    tz = timezone or svc.config.service.timezone
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidDetails(f"time zone {tz!r} is not known") from None
    if plan:
        try:
            plan = str(parse_plan(plan))
        except PlanError as exc:
            raise InvalidDetails(f"plan: {exc}") from None
    mentee = Mentee(
        first_name=require_name(first_name), last_name=" ".join(last_name.split()), phone=e164,
        telegram_chat_id=telegram_chat_id or None, preferred_channel=channel, mentor_id=found.id,
        timezone=tz, status="active", release_date=parse_date(release_date, "release date"),
        plan=plan or None, created_at=now,
    )
    MenteeRepo(session).add(mentee)
    if mentee.plan:
        checkins.plan_mentee(session, svc, mentee, now)
    return mentee


def new_link_code(session: Session, mentee: Mentee, now: datetime) -> str:
    """A one-time code for Telegram's /start deep link; it says nothing about the person."""
    code = secrets.token_urlsafe(9)
    mentee.telegram_link_code = code
    mentee.telegram_link_expires = now + LINK_CODE_LIFETIME
    return code


def new_staff_link_code(staff: Staff) -> str:
    code = "s" + secrets.token_urlsafe(9)
    staff.telegram_link_code = code
    return code


def set_plan(session: Session, svc: Services, mentee: Mentee, plan: str, now: datetime) -> int:
    try:
        mentee.plan = str(parse_plan(plan))
    except PlanError as exc:
        raise InvalidDetails(f"plan: {exc}") from None
    return checkins.replan(session, svc, mentee, now)


def pause(session: Session, svc: Services, mentee: Mentee, now: datetime) -> None:
    """In custody or in hospital: no check-ins until resumed; the open one is cancelled."""
    mentee.status = "paused"
    checkins.cancel_open(session, svc, mentee, now)
    checkins.replan(session, svc, mentee, now)


def resume(session: Session, svc: Services, mentee: Mentee, now: datetime) -> None:
    if mentee.status == "erased":  # data-protection
        raise InvalidDetails("this mentee's record was erased; add them again if they come back")
    if mentee.status == "opted_out":
        raise InvalidDetails("this mentee opted out; only they can restart by texting START")
    mentee.status = "active"
    checkins.replan(session, svc, mentee, now)


def set_staff_active(session: Session, staff: Staff, active: bool) -> None:
    """Pause (on leave, left) or resume a staff member; paused staff get no alerts."""
    staff.active = active


# ---- CSV import ---------------------------------------------------------------------------------
STAFF_COLUMNS = ("name", "role", "phone", "email", "telegram_chat_id", "channels", "supervisor", "duty")
MENTEE_COLUMNS = ("first_name", "last_name", "phone", "telegram_chat_id", "preferred_channel",
                  "mentor", "timezone", "release_date", "plan")


@dataclass
class ImportReport:
    imported: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)

    @property
    def ok(self) -> bool:
        return not self.rejected


def import_mentees(session: Session, svc: Services, now: datetime, rows: Iterable[Mapping[str, str]],
                   *, partial: bool = False, default_plan: str = "",
                   progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import mentees from CSV rows in the caller's transaction.

    Every row is checked; by default one bad row means nothing is imported (no half-import), and
    the report lists each rejected row and why. With `partial`, the good rows are imported. A
    row without a plan gets `default_plan` (a plan of "none": no plan).
    """
    report = ImportReport()
    seen_phones: set[str] = set()

    def one(values: dict[str, str]) -> None:
        phone = normalise_phone(values["phone"]) if values["phone"] else ""
        if phone and phone in seen_phones:
            raise InvalidDetails(f"phone {values['phone']} appears twice in the file")
        seen_phones.add(phone)
        add_mentee(session, svc, now, first_name=values["first_name"], last_name=values["last_name"],
                   phone=values["phone"], telegram_chat_id=values["telegram_chat_id"],
                   preferred_channel=values["preferred_channel"] or "sms", mentor=values["mentor"],
                   timezone=values["timezone"], release_date=values["release_date"],
                   plan=plan_or_default(values["plan"], default_plan))

    _import_rows(session, rows, report, partial, progress, MENTEE_COLUMNS, one)
    return report


class _NothingImported(Exception):
    pass


def import_staff(session: Session, now: datetime, rows: Iterable[Mapping[str, str]], *,
                 partial: bool = False, progress: Callable[[int], None] | None = None,
                 regions: tuple[str, ...] = ("GB",)) -> ImportReport:
    """Import staff from CSV rows in the caller's transaction; same all-or-nothing rule as mentees.

    Supervisors may be named by later rows' `supervisor` column: rows are taken in file order,
    so list supervisors first.
    """
    report = ImportReport()

    def one(values: dict[str, str]) -> None:
        add_staff(session, now, name=values["name"], role=values["role"] or "mentor",
                  phone=values["phone"], email=values["email"],
                  telegram_chat_id=values["telegram_chat_id"],
                  channels=values["channels"], supervisor=values["supervisor"],
                  duty=parse_yes_no(values["duty"], "duty"), regions=regions)

    _import_rows(session, rows, report, partial, progress, STAFF_COLUMNS, one)
    return report


def _import_rows(session: Session, rows: Iterable[Mapping[str, str]], report: ImportReport,
                 partial: bool, progress: Callable[[int], None] | None, columns: tuple[str, ...],
                 add_one: Callable[[dict[str, str]], None]) -> None:
    """Each row in its own savepoint, all of them in one more: a bad row (without `partial`)
    rolls every row back, and the caller's transaction (its audit entry) still commits."""
    try:
        with session.begin_nested():
            for index, row in enumerate(rows, start=2):  # line 1 is the header
                if progress:
                    progress(index - 1)
                try:
                    with session.begin_nested():
                        unknown = set(row) - set(columns) - {""}
                        if unknown:
                            raise InvalidDetails(f"unknown column(s): {', '.join(sorted(unknown))}")
                        add_one({k: (row.get(k) or "").strip() for k in columns})
                        report.imported += 1
                except InvalidDetails as exc:
                    report.rejected.append((index, str(exc)))
                except IntegrityError:
                    report.rejected.append((index, "phone or Telegram chat already belongs to someone"))
            if report.rejected and not partial:
                raise _NothingImported
    except _NothingImported:
        report.imported = 0


def parse_csv(text: str, source: str, required: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a CSV file's text (`source` names it in errors); InvalidDetails if it has
    no header or lacks a required column."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    if reader.fieldnames is None:
        raise InvalidDetails(f"{source} is empty")
    missing = set(required) - set(reader.fieldnames)
    if missing:
        raise InvalidDetails(f"{source}: missing column(s) {', '.join(sorted(missing))}")
    return list(reader)
