"""The command functions behind `checkins ...`: each parses its arguments, calls one bot.app
operation as the operator at the shell, and prints plain lines for a coordinator."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.app import alerts, audit, digests, imports, mentees, messages, staff, timeline
from bot.app.actor import Actor
from bot.cli import CliError, _config, _services
from bot.schedule import describe_local


def _me() -> Actor:
    """The operator: whoever runs the command on the server (full rights; audited by name)."""
    try:
        user = os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = f"uid{os.getuid()}"
    return Actor.operator(user)


def _when(svc, instant) -> str:  # type: ignore[no-untyped-def]
    return describe_local(instant, svc.config.service.timezone)


# ---- service ------------------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    from bot.storage.db import current_revision

    svc = _services(args)
    print(f"database ready at revision {current_revision(svc.engine)}: {svc.engine.url.render_as_string()}")
    from bot.storage.sealed import keyring_of  # data protection: say where the keys are

    print(f"encryption keys: {keyring_of(svc.engine.dialect).source} (back them up, apart from the database)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.service.server import serve

    return serve(_config(args, providers=True), role="web" if args.web_only else "all")


def cmd_worker(args: argparse.Namespace) -> int:
    from bot.service.server import serve

    return serve(_config(args, providers=True), role="worker")


def _demo_time(text: str) -> datetime:
    from zoneinfo import ZoneInfo

    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(f"--at {text!r} is not a time; write it like 2026-12-04T10:00") from None
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo("Europe/London"))


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    web = getattr(args, "web", None)
    if web is not None and not 0 <= web <= 65535:
        raise CliError(f"--web port {web} is not a port number (1-65535)")
    now = _demo_time(args.at) if getattr(args, "at", None) else None
    handle = sys.stdin
    if args.script:
        try:
            handle = open(args.script, encoding="utf-8")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise CliError(f"script file not found: {args.script}") from None
    try:
        return run_demo(handle, sys.stdout, interactive=not args.script and sys.stdin.isatty(),
                        web_port=web, now=now)
    except OSError as exc:
        if web is None:
            raise
        raise CliError(f"--web: cannot listen on 127.0.0.1:{web} ({exc.strerror}); try another port") from None
    finally:
        if handle is not sys.stdin:
            handle.close()


def cmd_assess(args: argparse.Namespace) -> int:
    from escalation.assess_cli import run

    return run(sys.stdin, sys.stdout, explain=args.explain)


def cmd_risk_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from escalation.risk_cli import TrainingUnavailable, default_paths, run_train

    data, out = default_paths()
    try:
        return run_train(Path(args.data) if args.data else data, Path(args.out) if args.out else out,
                         search=args.search, check=args.check)
    except TrainingUnavailable as exc:
        raise CliError(str(exc)) from None


# ---- staff --------------------------------------------------------------------------------------
def cmd_staff_add(args: argparse.Namespace) -> int:
    st = staff.add(_services(args), _me(), staff.NewStaff(
        name=args.name, role=args.role, phone=args.phone, email=args.email,
        telegram_chat_id=args.telegram_chat_id, channels=args.channels,
        supervisor=args.supervisor, duty=args.duty))
    print(f"added {st.role} {st.name} (id {st.id})")
    return 0


def cmd_staff_list(args: argparse.Namespace) -> int:
    rows = staff.list_staff(_services(args), _me())
    if not rows:
        print("no staff yet: add one with `checkins staff add NAME --role supervisor`")
    for st in rows:
        extras = [f"supervisor: {st.supervisor_name}" if st.supervisor_name else "",
                  "DUTY" if st.is_duty else "", "" if st.active else "PAUSED",
                  "telegram linked" if st.telegram_linked else ""]
        print(f"{st.id:>4}  {st.role:<11} {st.name:<24} {st.phone or '-':<14} "
              f"{st.email or '-':<28} alerts by {st.channels}  {'  '.join(e for e in extras if e)}")
    return 0


def cmd_staff_edit(args: argparse.Namespace) -> int:
    st = staff.edit(_services(args), _me(), args.staff, staff.StaffChanges(
        name=args.name, phone=args.phone, email=args.email, channels=args.channels,
        supervisor=args.supervisor, duty=None if args.duty is None else args.duty == "yes"))
    print(f"updated {st.name}")
    return 0


def cmd_staff_pause(args: argparse.Namespace) -> int:
    st = staff.pause(_services(args), _me(), args.staff)
    print(f"paused {st.name}: no alerts go to them; their mentees' alerts go to the supervisor "
          "and duty contact")
    return 0


def cmd_staff_resume(args: argparse.Namespace) -> int:
    st = staff.resume(_services(args), _me(), args.staff)
    print(f"resumed {st.name}: alerts reach them again")
    return 0


def cmd_staff_link(args: argparse.Namespace) -> int:
    link = staff.link_code(_services(args), _me(), args.staff, new=args.new)
    _print_link(link.code, link.url)
    return 0


def _print_link(code: str, url: str) -> None:
    print(f"one-time code: {code}")
    print(f"Telegram link: {url}")


def cmd_staff_import(args: argparse.Namespace) -> int:
    return _import(args, "staff", imports.import_staff)


# ---- mentees ------------------------------------------------------------------------------------
def cmd_mentee_add(args: argparse.Namespace) -> int:
    svc = _services(args)
    added = mentees.add(svc, _me(), mentees.NewMentee(
        first_name=args.first_name, last_name=args.last_name, phone=args.phone, mentor=args.mentor,
        channel=args.channel, timezone=args.timezone, release_date=args.release_date,
        plan=args.plan))
    m = added.mentee
    print(f"added mentee {m.name} (id {m.id})")
    if m.plan:
        print(f"plan: {m.plan}" + (" (the default; change it with `checkins schedule set`)"
                                   if added.plan_is_default else ""))
    else:
        print("no plan: no check-ins are scheduled until you set one with `checkins schedule set`")
    if m.plan:
        for warning in mentees.schedule(svc, _me(), m.id).warnings:
            print(f"warning: {warning}")
    if added.link is not None:
        _print_link(added.link.code, added.link.url)
    return 0


def cmd_mentee_list(args: argparse.Namespace) -> int:
    rows = mentees.list_mentees(_services(args), _me(), mentor=args.mentor)
    if not rows:
        print("no mentees yet: add one with `checkins mentee add NAME --mentor MENTOR`")
    for m in rows:
        print(f"{m.id:>4}  {m.name:<20} {m.phone or '-':<14} {m.channel:<9} "
              f"{m.status:<10} mentor: {m.mentor_name:<16} plan: {m.plan or '-'}")
    return 0


def cmd_mentee_edit(args: argparse.Namespace) -> int:
    m = mentees.edit(_services(args), _me(), args.mentee, mentees.MenteeChanges(
        first_name=args.first_name, last_name=args.last_name, phone=args.phone,
        mentor=args.mentor, channel=args.channel, timezone=args.timezone,
        release_date=args.release_date, quiet_hours=args.quiet_hours))
    print(f"updated {m.name}")
    return 0


def cmd_mentee_pause(args: argparse.Namespace) -> int:
    m = mentees.pause(_services(args), _me(), args.mentee)
    print(f"paused check-ins for {m.name}")
    return 0


def cmd_mentee_resume(args: argparse.Namespace) -> int:
    m = mentees.resume(_services(args), _me(), args.mentee)
    print(f"resumed check-ins for {m.name}")
    return 0


def cmd_mentee_link(args: argparse.Namespace) -> int:
    link = mentees.link_code(_services(args), _me(), args.mentee, new=args.new)
    _print_link(link.code, link.url)
    return 0


def cmd_mentee_import(args: argparse.Namespace) -> int:
    return _import(args, "mentees", imports.import_mentees)


def cmd_mentee_show(args: argparse.Namespace) -> int:
    svc = _services(args)
    r = timeline.record(svc, _me(), args.mentee)
    m, s = r.mentee, r.status
    print(f"{m.name} (id {m.id}): {m.status}, mentor {m.mentor_name}, plan {m.plan or 'none'}, "
          f"{m.channel}{'' if m.reachable else ', UNREACHABLE'}")
    if s.missed_streak:
        print(f"  missed check-ins in a row: {s.missed_streak}")
    print("  mood by week: " + "  ".join(f"{w.week[-3:]} {'-' if w.mood is None else f'{w.mood:.1f}'}"
                                         for w in r.mood))
    for msg in r.messages:
        who = "mentee" if msg.direction == "in" else (msg.sent_by or msg.purpose)
        print(f"  {_when(svc, msg.at)}  {msg.direction:<3} {msg.channel:<8} {msg.status:<10} "
              f"{who:<14} {msg.body}")
    for a in r.alerts:
        print(f"  alert {a.alert.code}: {a.alert.severity} {a.alert.category} - {a.alert.status}")
    return 0


def cmd_mentee_reply(args: argparse.Namespace) -> int:
    svc = _services(args)
    queued = messages.reply_to_mentee(svc, _me(), args.mentee, args.text, send_now_anyway=args.now)
    when = f"after quiet hours, at {_when(svc, queued.waits_until)}" if queued.waits_until else "now"
    print(f"queued on {queued.channel} as {queued.segments} text(s); `checkins serve` sends it {when}")
    return 0


def _import(args: argparse.Namespace, what: str, importer: Callable[..., imports.Imported]) -> int:
    try:
        text = Path(args.csv_file).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CliError(f"file not found: {args.csv_file}") from None
    done = importer(_services(args), _me(), text, source=Path(args.csv_file).name,
                    partial=args.partial, progress=_progress_bar())
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    for line, reason in done.rejected:
        print(f"rejected line {line}: {reason}")
    if done.rejected and not args.partial:
        print(f"nothing imported: {len(done.rejected)} of {done.total} rows need fixing "
              "(or use --partial to import the good rows)")
        return 1
    print(f"imported {done.imported} of {done.total} {what}")
    return 1 if done.rejected else 0


def _progress_bar() -> Callable[[int], None] | None:
    if not sys.stderr.isatty():
        return None

    def progress(done: int) -> None:
        sys.stderr.write(f"\r{done} rows checked")
        sys.stderr.flush()

    return progress


# ---- check-ins and schedules --------------------------------------------------------------------
def cmd_checkin_send(args: argparse.Namespace) -> int:
    svc = _services(args)
    started = mentees.start_checkin(svc, _me(), args.mentee, now_anyway=getattr(args, "now", False),
                                    flow=getattr(args, "flow", "") or "")
    if started.started and started.waits_until is not None:
        print(f"check-in started with {started.mentee.name}; it waits for their quiet hours and "
              f"goes at {_when(svc, started.waits_until)} (--now to send it at once)")
    elif started.started:
        print(f"check-in started with {started.mentee.name}; `checkins serve` sends it")
    else:
        print(f"{started.mentee.name} already has a check-in in progress; nothing new sent")
    return 0


def cmd_schedule_show(args: argparse.Namespace) -> int:
    plan = mentees.schedule(_services(args), _me(), args.mentee)
    m = plan.mentee
    print(f"{m.name}: plan {m.plan or 'none'} ({m.timezone}), flow {plan.flow}, status {m.status}")
    if not plan.upcoming:
        print("  nothing scheduled")
    for e in plan.upcoming:
        print(f"  {e.local}  {e.kind}{'  ' + e.note if e.note else ''}")
    for warning in plan.warnings:
        print(f"  warning: {warning}")
    return 0


def cmd_schedule_set(args: argparse.Namespace) -> int:
    svc = _services(args)
    m = mentees.set_plan(svc, _me(), args.mentee, args.plan, start=args.start,
                         end=args.end, flow=getattr(args, "flow", None))
    plan = mentees.schedule(svc, _me(), args.mentee)
    print(f"{m.name}: plan is now {m.plan or 'none'}, flow {plan.flow}; future check-ins replaced")
    for warning in plan.warnings:
        print(f"warning: {warning}")
    return 0


def cmd_schedule_once(args: argparse.Namespace) -> int:
    booked = mentees.schedule_oneoff(_services(args), _me(), args.mentee, args.when)
    print(f"one-off check-in for {booked.mentee.name} at {booked.upcoming[0].local}")
    return 0


# ---- alerts -------------------------------------------------------------------------------------
def cmd_alerts_list(args: argparse.Namespace) -> int:
    svc = _services(args)
    rows = alerts.list_alerts(svc, _me(), include_closed=args.all)
    if not rows:
        print("no open alerts")
    for a in rows:
        print(f"{a.code}  {a.status:<12} {a.severity:<7} {a.category:<15} "
              f"{a.mentee_name:<14} raised {_when(svc, a.raised_at)}")
    return 0


def cmd_alerts_show(args: argparse.Namespace) -> int:
    svc = _services(args)
    d = alerts.detail(svc, _me(), args.code)
    a = d.alert
    print(f"alert {a.code}: {a.severity} {a.category} for {a.mentee_name} - {a.status}")
    print(f"  evidence: {d.evidence}")
    if d.housing_consent is not None or d.housing_council:
        print(f"  duty to refer: consent {d.housing_consent}, council {d.housing_council or '-'}")
    if d.outcome:
        print(f"  outcome: {d.outcome} (closed by {d.closed_by})")
    for h in d.history:
        delivery = f" [{h.delivery}]" if h.delivery else ""
        print(f"  {_when(svc, h.at)}  {h.kind:<13} {h.who:<16} {h.channel:<9} {h.detail}{delivery}")
    return 0


def cmd_alerts_ack(args: argparse.Namespace) -> int:
    print(alerts.acknowledge(_services(args), _me(), args.code, on_behalf_of=args.by).text)
    return 0


def cmd_alerts_note(args: argparse.Namespace) -> int:
    alerts.add_note(_services(args), _me(), args.code, args.text)
    print(f"note added to alert {args.code.strip().upper()}")
    return 0


def cmd_alerts_close(args: argparse.Namespace) -> int:
    a = alerts.close(_services(args), _me(), args.code, args.outcome)
    print(f"closed alert {a.code}: {' '.join(args.outcome.split())}")
    return 0


# ---- digest and audit ---------------------------------------------------------------------------
def cmd_digest(args: argparse.Namespace) -> int:
    if args.again and not args.send:
        raise CliError("--again only goes with --send")
    svc = _services(args)
    pages = digests.digest(svc, _me(), week=args.week, of=args.supervisor, export=bool(args.out))
    if not pages:
        print("no supervisors yet: add one with `checkins staff add NAME --role supervisor`")
        return 0
    for page in pages:
        if args.out:
            stem = f"digest-{page.week}-{page.staff_name.lower().replace(' ', '-')}"
            for path in _write_digest(page, Path(args.out), stem):
                print(f"wrote {path}")
        elif not args.send:
            print(page.text)
    if args.send:
        for sent in digests.send(svc, _me(), week=args.week, of=args.supervisor, again=args.again):
            print(f"{sent.staff_name}: {sent.status}")
    return 0


def _write_digest(page: digests.DigestPage, out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.html", out / f"{stem}.txt", out / f"{stem}.csv"]
    for path, content in zip(paths, (page.html, page.text, page.csv), strict=True):
        path.write_text(content, encoding="utf-8")
    return paths


def cmd_audit(args: argparse.Namespace) -> int:
    svc = _services(args)
    rows = audit.entries(svc, _me(), since=args.since, by=args.actor,
                         mentee=args.mentee or None, limit=args.limit)
    if not rows:
        print("nothing in the audit log" + (" for that" if args.since or args.actor or args.mentee else ""))
    for e in rows:
        target = " ".join(t for t in (
            f"mentee {e.mentee_id}" if e.mentee_id else "", f"staff {e.staff_id}" if e.staff_id else "",
            e.target) if t)
        print(f"{_when(svc, e.at)}  {e.actor:<20} {e.action:<18} {target:<24} {e.detail}")
    return 0
