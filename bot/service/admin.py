"""Managing people and plans: what the CLI (and the demo) do, without any printing."""

from __future__ import annotations

import csv
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.people import (
    InvalidDetails,
    normalise_phone,
    parse_channel,
    parse_channel_list,
    parse_date,
    require_name,
)
from bot.schedule import PlanError, parse_plan
from bot.service import checkins
from bot.service.runtime import Services
from bot.storage.models import Mentee, Staff
from bot.storage.people import MenteeRepo, StaffRepo

LINK_CODE_LIFETIME = timedelta(days=7)


def add_staff(session: Session, now: datetime, *, name: str, role: str, phone: str = "",
              email: str = "", telegram_chat_id: str = "", channels: str = "sms,telegram,email",
              supervisor: str = "", duty: bool = False) -> Staff:
    if role not in ("mentor", "supervisor", "coordinator"):
        raise InvalidDetails(f"role {role!r} must be mentor, supervisor or coordinator")
    sup_id = None
    if supervisor:
        sup = StaffRepo(session).find(supervisor)
        if sup is None:
            raise InvalidDetails(f"no staff member {supervisor!r} to supervise")
        sup_id = sup.id
    if email and "@" not in email:
        raise InvalidDetails(f"email {email!r} is not an email address")
    if not (phone or email or telegram_chat_id):
        raise InvalidDetails("staff need a phone, email or Telegram chat to receive alerts")
    staff = Staff(
        name=require_name(name, "name"), role=role, phone=normalise_phone(phone) if phone else None,
        email=email or None, telegram_chat_id=telegram_chat_id or None,
        channels=parse_channel_list(channels), supervisor_id=sup_id, is_duty=duty, active=True,
        created_at=now,
    )
    return StaffRepo(session).add(staff)


def add_mentee(session: Session, svc: Services, now: datetime, *, first_name: str, mentor: str,
               last_name: str = "", phone: str = "", telegram_chat_id: str = "",
               preferred_channel: str = "sms", timezone: str = "", release_date: str = "",
               plan: str = "") -> Mentee:
    found = StaffRepo(session).find(mentor)
    if found is None:
        raise InvalidDetails(f"no mentor {mentor!r}")
    if found.role != "mentor":
        raise InvalidDetails(f"{found.name} is a {found.role}, not a mentor")
    channel = parse_channel(preferred_channel)
    e164 = normalise_phone(phone) if phone else None
    if channel == "sms" and not e164:
        raise InvalidDetails("a phone number is needed for SMS check-ins")
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


def import_mentees(svc: Services, rows: Iterable[Mapping[str, str]], *, partial: bool = False,
                   progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import mentees from CSV rows in one transaction.

    Every row is checked; by default one bad row means nothing is imported (no half-import), and
    the report lists each rejected row and why. With `partial`, the good rows are imported.
    """
    report = ImportReport()
    seen_phones: set[str] = set()

    def one(session: Session, now: datetime, values: dict[str, str]) -> None:
        phone = normalise_phone(values["phone"]) if values["phone"] else ""
        if phone and phone in seen_phones:
            raise InvalidDetails(f"phone {values['phone']} appears twice in the file")
        seen_phones.add(phone)
        add_mentee(session, svc, now, first_name=values["first_name"], last_name=values["last_name"],
                   phone=values["phone"], telegram_chat_id=values["telegram_chat_id"],
                   preferred_channel=values["preferred_channel"] or "sms", mentor=values["mentor"],
                   timezone=values["timezone"], release_date=values["release_date"],
                   plan=values["plan"])

    try:
        _import_generic(svc, rows, report, partial, progress, MENTEE_COLUMNS, one)
    except _NothingImported:
        report.imported = 0
    return report


class _NothingImported(Exception):
    pass


def import_staff(svc: Services, rows: Iterable[Mapping[str, str]], *, partial: bool = False,
                 progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import staff from CSV rows in one transaction; same all-or-nothing rule as mentees.

    Supervisors may be named by later rows' `supervisor` column: rows are taken in file order,
    so list supervisors first.
    """
    report = ImportReport()

    def one(session: Session, now: datetime, values: dict[str, str]) -> None:
        add_staff(session, now, name=values["name"], role=values["role"] or "mentor",
                  phone=values["phone"], email=values["email"],
                  telegram_chat_id=values["telegram_chat_id"],
                  channels=values["channels"] or "sms,telegram,email",
                  supervisor=values["supervisor"],
                  duty=values["duty"].lower() in {"yes", "y", "true", "1"})

    try:
        _import_generic(svc, rows, report, partial, progress, STAFF_COLUMNS, one)
    except _NothingImported:
        report.imported = 0
    return report


def _import_generic(svc: Services, rows: Iterable[Mapping[str, str]], report: ImportReport,
                    partial: bool, progress: Callable[[int], None] | None,
                    columns: tuple[str, ...],
                    add_one: Callable[[Session, datetime, dict[str, str]], None]) -> None:
    with svc.sessions() as session, session.begin():
        now = svc.clock.now()
        for index, row in enumerate(rows, start=2):  # line 1 is the header
            if progress:
                progress(index - 1)
            try:
                with session.begin_nested():
                    unknown = set(row) - set(columns) - {""}
                    if unknown:
                        raise InvalidDetails(f"unknown column(s): {', '.join(sorted(unknown))}")
                    add_one(session, now, {k: (row.get(k) or "").strip() for k in columns})
                    report.imported += 1
            except InvalidDetails as exc:
                report.rejected.append((index, str(exc)))
            except IntegrityError:
                report.rejected.append((index, "phone or Telegram chat already belongs to someone"))
        if report.rejected and not partial:
            raise _NothingImported  # rolls the whole transaction back


def read_csv(path: str, required: tuple[str, ...] = ("first_name", "mentor")) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            raise InvalidDetails(f"{path} is empty")
        missing = set(required) - set(reader.fieldnames)
        if missing:
            raise InvalidDetails(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return list(reader)
