"""The command functions behind `checkins ...`; each prints plain lines for a coordinator."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.cli import CliError, _config, _services
from bot.people import InvalidDetails, normalise_phone, parse_channel, parse_channel_list, parse_date
from bot.schedule import describe_local
from bot.service import admin, alerting, checkins
from bot.service.runtime import Services
from bot.storage.alerts import AlertRepo
from bot.storage.models import Mentee, Staff
from bot.storage.people import MenteeRepo, StaffRepo
from bot.storage.schedule import DueEventRepo


def _mentee(session, ref: str) -> Mentee:  # type: ignore[no-untyped-def]
    mentee = MenteeRepo(session).find(ref)
    if mentee is None:
        raise CliError(f"no mentee {ref!r} (use an id, phone number or full name)")
    return mentee


def _staff(session, ref: str) -> Staff:  # type: ignore[no-untyped-def]
    staff = StaffRepo(session).find(ref)
    if staff is None:
        raise CliError(f"no staff member {ref!r} (use an id, phone, email or name)")
    return staff


def _run(svc: Services, work):  # type: ignore[no-untyped-def]
    try:
        with svc.sessions() as session, session.begin():
            return work(session, svc.clock.now())
    except InvalidDetails as exc:
        raise CliError(str(exc)) from None


# ---- service ------------------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    from bot.storage.db import current_revision

    svc = _services(args)
    print(f"database ready at revision {current_revision(svc.engine)}: {svc.engine.url.render_as_string()}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.service.server import serve

    return serve(_config(args), role="web" if args.web_only else "all")


def cmd_worker(args: argparse.Namespace) -> int:
    from bot.service.server import serve

    return serve(_config(args), role="worker")


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    if args.script:
        try:
            with open(args.script, encoding="utf-8") as handle:
                return run_demo(handle, sys.stdout, interactive=False)
        except FileNotFoundError:
            raise CliError(f"script file not found: {args.script}") from None
    return run_demo(sys.stdin, sys.stdout, interactive=sys.stdin.isatty())


def cmd_assess(args: argparse.Namespace) -> int:
    from escalation.assess_cli import run

    return run(sys.stdin, sys.stdout)


# ---- staff --------------------------------------------------------------------------------------
def cmd_staff_add(args: argparse.Namespace) -> int:
    svc = _services(args)
    staff = _run(svc, lambda s, now: admin.add_staff(
        s, now, name=args.name, role=args.role, phone=args.phone, email=args.email,
        telegram_chat_id=args.telegram_chat_id, channels=args.channels,
        supervisor=args.supervisor, duty=args.duty))
    print(f"added {staff.role} {staff.name} (id {staff.id})")
    return 0


def cmd_staff_list(args: argparse.Namespace) -> int:
    svc = _services(args)

    def work(session, now):  # type: ignore[no-untyped-def]
        rows = StaffRepo(session).list()
        if not rows:
            print("no staff yet: add one with `checkins staff add NAME --role supervisor`")
        for st in rows:
            sup = StaffRepo(session).get(st.supervisor_id) if st.supervisor_id else None
            extras = [f"supervisor: {sup.name}" if sup else "", "DUTY" if st.is_duty else "",
                      "" if st.active else "PAUSED",
                      "telegram linked" if st.telegram_chat_id else ""]
            print(f"{st.id:>4}  {st.role:<11} {st.name:<24} {st.phone or '-':<14} "
                  f"{st.email or '-':<28} alerts by {st.channels}  {'  '.join(e for e in extras if e)}")

    _run(svc, work)
    return 0


def cmd_staff_edit(args: argparse.Namespace) -> int:
    svc = _services(args)

    def work(session, now):  # type: ignore[no-untyped-def]
        st = _staff(session, args.staff)
        if args.name:
            st.name = args.name
        if args.phone is not None:
            st.phone = normalise_phone(args.phone) if args.phone else None
        if args.email is not None:
            st.email = args.email or None
        if args.channels:
            st.channels = parse_channel_list(args.channels)
        if args.supervisor:
            st.supervisor_id = _staff(session, args.supervisor).id
        if args.duty:
            st.is_duty = args.duty == "yes"
        return st

    st = _run(svc, work)
    print(f"updated {st.name}")
    return 0


def cmd_staff_link(args: argparse.Namespace) -> int:
    svc = _services(args)
    code = _run(svc, lambda s, now: admin.new_staff_link_code(_staff(s, args.staff)))
    _print_link(svc, code)
    return 0


def _print_link(svc: Services, code: str) -> None:
    bot = svc.config.telegram.bot_username or "<your_bot>"
    print(f"one-time code: {code}")
    print(f"Telegram link: https://t.me/{bot}?start={code}")


# ---- mentees ------------------------------------------------------------------------------------
def cmd_mentee_add(args: argparse.Namespace) -> int:
    svc = _services(args)
    mentee = _run(svc, lambda s, now: admin.add_mentee(
        s, svc, now, first_name=args.first_name, last_name=args.last_name, phone=args.phone,
        mentor=args.mentor, preferred_channel=args.channel, timezone=args.timezone,
        release_date=args.release_date, plan=args.plan))
    print(f"added mentee {mentee.display_name} (id {mentee.id})")
    if args.channel == "telegram":
        code = _run(svc, lambda s, now: admin.new_link_code(s, _mentee(s, str(mentee.id)), now))
        _print_link(svc, code)
    return 0


def cmd_mentee_list(args: argparse.Namespace) -> int:
    svc = _services(args)

    def work(session, now):  # type: ignore[no-untyped-def]
        mentor_id = _staff(session, args.mentor).id if args.mentor else None
        rows = MenteeRepo(session).list(mentor_id)
        if not rows:
            print("no mentees yet: add one with `checkins mentee add NAME --mentor MENTOR`")
        for m in rows:
            mentor = StaffRepo(session).get(m.mentor_id)
            print(f"{m.id:>4}  {m.display_name:<20} {m.phone or '-':<14} {m.preferred_channel:<9} "
                  f"{m.status:<10} mentor: {mentor.name if mentor else '-':<16} plan: {m.plan or '-'}")

    _run(svc, work)
    return 0


def cmd_mentee_edit(args: argparse.Namespace) -> int:
    svc = _services(args)

    def work(session, now):  # type: ignore[no-untyped-def]
        m = _mentee(session, args.mentee)
        if args.first_name:
            m.first_name = args.first_name
        if args.last_name is not None:
            m.last_name = args.last_name
        if args.phone is not None:
            m.phone = normalise_phone(args.phone) if args.phone else None
        if args.mentor:
            mentor = _staff(session, args.mentor)
            if mentor.role != "mentor":
                raise InvalidDetails(f"{mentor.name} is not a mentor")
            m.mentor_id = mentor.id
        if args.channel:
            m.preferred_channel = parse_channel(args.channel)
        if args.timezone:
            ZoneInfo(args.timezone)
            m.timezone = args.timezone
        if args.release_date is not None:
            m.release_date = parse_date(args.release_date, "release date")
        if args.quiet_hours is not None:
            if args.quiet_hours:
                from bot.schedule.quiet_hours import QuietHours

                q = QuietHours.parse(args.quiet_hours)
                m.quiet_start, m.quiet_end = f"{q.start:%H:%M}", f"{q.end:%H:%M}"
            else:
                m.quiet_start = m.quiet_end = None
        checkins.replan(session, svc, m, now)
        return m

    m = _run(svc, work)
    print(f"updated {m.display_name}")
    return 0


def cmd_mentee_pause(args: argparse.Namespace) -> int:
    svc = _services(args)
    m = _run(svc, lambda s, now: (admin.pause(s, svc, _mentee(s, args.mentee), now), _mentee(s, args.mentee))[1])
    print(f"paused check-ins for {m.display_name}")
    return 0


def cmd_mentee_resume(args: argparse.Namespace) -> int:
    svc = _services(args)
    m = _run(svc, lambda s, now: (admin.resume(s, svc, _mentee(s, args.mentee), now), _mentee(s, args.mentee))[1])
    print(f"resumed check-ins for {m.display_name}")
    return 0


def cmd_mentee_link(args: argparse.Namespace) -> int:
    svc = _services(args)
    code = _run(svc, lambda s, now: admin.new_link_code(s, _mentee(s, args.mentee), now))
    _print_link(svc, code)
    return 0


def cmd_mentee_import(args: argparse.Namespace) -> int:
    return _import(args, "mentees", ("first_name", "mentor"), admin.import_mentees)


def cmd_staff_import(args: argparse.Namespace) -> int:
    return _import(args, "staff", ("name",), admin.import_staff)


def _import(args: argparse.Namespace, what: str, required: tuple[str, ...], importer) -> int:  # type: ignore[no-untyped-def]
    svc = _services(args)
    try:
        rows = admin.read_csv(args.csv_file, required)
    except FileNotFoundError:
        raise CliError(f"file not found: {args.csv_file}") from None
    except InvalidDetails as exc:
        raise CliError(str(exc)) from None
    total = len(rows)

    def progress(done: int) -> None:
        if sys.stderr.isatty() and total:
            width = 30
            filled = width * done // total
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            sys.stderr.flush()

    report = importer(svc, rows, partial=args.partial, progress=progress)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    for line, reason in report.rejected:
        print(f"rejected line {line}: {reason}")
    if report.rejected and not args.partial:
        print(f"nothing imported: {len(report.rejected)} of {total} rows need fixing "
              "(or use --partial to import the good rows)")
        return 1
    print(f"imported {report.imported} of {total} {what}")
    return 1 if report.rejected else 0


def cmd_staff_pause(args: argparse.Namespace) -> int:
    svc = _services(args)
    st = _run(svc, lambda s, now: _set_active(s, args.staff, False))
    print(f"paused {st.name}: no alerts go to them; their mentees' alerts go to the supervisor "
          "and duty contact")
    return 0


def cmd_staff_resume(args: argparse.Namespace) -> int:
    svc = _services(args)
    st = _run(svc, lambda s, now: _set_active(s, args.staff, True))
    print(f"resumed {st.name}: alerts reach them again")
    return 0


def _set_active(session, ref: str, active: bool) -> Staff:  # type: ignore[no-untyped-def]
    st = _staff(session, ref)
    admin.set_staff_active(session, st, active)
    return st


# ---- check-ins and schedules --------------------------------------------------------------------
def cmd_checkin_send(args: argparse.Namespace) -> int:
    svc = _services(args)

    def work(session, now):  # type: ignore[no-untyped-def]
        m = _mentee(session, args.mentee)
        if m.status != "active":
            raise CliError(f"{m.display_name} is {m.status}; no check-in sent")
        return m, checkins.start(session, svc, m, now, trigger="manual")

    m, conv = _run(svc, work)
    if conv is None:
        print(f"{m.display_name} already has a check-in in progress; nothing new sent")
    else:
        print(f"check-in started with {m.display_name}; `checkins serve` sends it")
    return 0


def cmd_schedule_show(args: argparse.Namespace) -> int:
    svc = _services(args)

    def work(session, now):  # type: ignore[no-untyped-def]
        m = _mentee(session, args.mentee)
        print(f"{m.display_name}: plan {m.plan or 'none'} ({m.timezone}), status {m.status}")
        events = DueEventRepo(session).pending_for(m.id)
        if not events:
            print("  nothing scheduled")
        for e in events:
            print(f"  {describe_local(e.due_at, m.timezone)}  {e.kind}{'  ' + e.note if e.note else ''}")

    _run(svc, work)
    return 0


def cmd_schedule_set(args: argparse.Namespace) -> int:
    svc = _services(args)

    def work(session, now):  # type: ignore[no-untyped-def]
        m = _mentee(session, args.mentee)
        m.plan_start = parse_date(args.start, "start date")
        m.plan_end = parse_date(args.end, "end date")
        admin.set_plan(session, svc, m, args.plan, now)
        return m

    m = _run(svc, work)
    print(f"{m.display_name}: plan is now {m.plan}; future check-ins replaced")
    return 0


def cmd_schedule_once(args: argparse.Namespace) -> int:
    from bot.schedule import resolve_local

    svc = _services(args)
    try:
        local = datetime.strptime(args.when, "%Y-%m-%d %H:%M")
    except ValueError:
        raise CliError(f"when {args.when!r} must look like 2026-12-03 10:00") from None

    def work(session, now):  # type: ignore[no-untyped-def]
        m = _mentee(session, args.mentee)
        due = resolve_local(local.date(), local.time(), m.timezone)
        if due <= now:
            raise CliError("that time has already passed")
        checkins.schedule_oneoff(session, svc, m, due, now)
        return m, due

    m, due = _run(svc, work)
    print(f"one-off check-in for {m.display_name} at {describe_local(due, m.timezone)}")
    return 0


# ---- alerts -------------------------------------------------------------------------------------
def cmd_alerts_list(args: argparse.Namespace) -> int:
    svc = _services(args)

    def work(session, now):  # type: ignore[no-untyped-def]
        rows = AlertRepo(session).list(include_closed=args.all)
        if not rows:
            print("no open alerts")
        for a in rows:
            print(f"{a.code}  {a.status:<12} {a.severity:<7} {a.category:<15} "
                  f"{a.mentee.display_name:<14} raised {describe_local(a.created_at, svc.config.service.timezone)}")

    _run(svc, work)
    return 0


def cmd_alerts_show(args: argparse.Namespace) -> int:
    svc = _services(args)
    tz = svc.config.service.timezone

    def work(session, now):  # type: ignore[no-untyped-def]
        alerts = AlertRepo(session)
        a = alerts.by_code(args.code)
        if a is None:
            raise CliError(f"no alert {args.code!r}")
        print(f"alert {a.code}: {a.severity} {a.category} for {a.mentee.display_name} - {a.status}")
        print(f"  evidence: {a.evidence}")
        if a.housing_consent is not None or a.housing_council:
            print(f"  duty to refer: consent {a.housing_consent}, council {a.housing_council or '-'}")
        if a.outcome:
            print(f"  outcome: {a.outcome} (closed by {a.closed_by})")
        staff = StaffRepo(session)
        for e in alerts.events(a.id):
            who = staff.get(e.staff_id).name if e.staff_id and staff.get(e.staff_id) else ""
            status = ""
            if e.message_id:
                from bot.storage.messages import MessageRepo

                msg = MessageRepo(session).get(e.message_id)
                status = f" [{msg.status}]" if msg else ""
            print(f"  {describe_local(e.at, tz)}  {e.kind:<13} {who:<16} {e.channel or '':<9} {e.detail}{status}")

    _run(svc, work)
    return 0


def cmd_alerts_ack(args: argparse.Namespace) -> int:
    svc = _services(args)

    def work(session, now):  # type: ignore[no-untyped-def]
        by = _staff(session, args.by) if args.by else None
        return alerting.acknowledge(session, svc, args.code.upper(), by, now, via="cli",
                                    who="coordinator")

    print(_run(svc, work))
    return 0


def cmd_alerts_close(args: argparse.Namespace) -> int:
    svc = _services(args)
    alert = _run(svc, lambda s, now: alerting.close(s, args.code.upper(), args.outcome, args.by, now))
    if alert is None:
        raise CliError(f"no alert {args.code!r}")
    print(f"closed alert {alert.code}: {args.outcome}")
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from bot.service.digests import digest_command

    return digest_command(_services(args), week=args.week, supervisor=args.supervisor,
                          out=args.out, send=args.send)
