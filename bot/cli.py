"""The `checkins` command line: thin over the same services the running service uses."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from bot.config import Config, ConfigError, load_config


class CliError(Exception):
    """A problem the person at the keyboard can fix; printed as one line."""


def _config(args: argparse.Namespace, *, providers: bool = False) -> Config:
    """The config; provider secrets are checked only for the commands that send (`providers`)."""
    path = args.config or os.environ.get("CHECKINS_CONFIG")
    cfg = load_config(path, providers=providers)
    if getattr(args, "database", None):
        cfg = cfg.with_database(args.database)
    _logging(cfg)
    return cfg


def _logging(cfg: Config | None) -> None:
    """Commands log warnings and worse (serve and worker use `[service] log_level`), redacted."""
    from bot.logs import configure

    level = "error" if cfg is not None and cfg.service.log_level.lower() == "error" else "warning"
    configure(cfg, level=level)


def _services(args: argparse.Namespace) -> Any:
    from bot.service.runtime import build_services

    return build_services(_config(args))


def _database_failure(args: argparse.Namespace, exc: Exception) -> str | None:
    """One line for a database that cannot be opened or reached (not 100 lines of traceback);
    None if `exc` is something else."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from bot.storage.db import DatabaseUnavailable, describe_failure

    if isinstance(exc, DatabaseUnavailable):
        return str(exc)
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return None
    url = getattr(args, "database", None) or os.environ.get("CHECKINS_DATABASE_URL") or ""
    if not url:
        try:
            url = load_config(args.config or os.environ.get("CHECKINS_CONFIG"), providers=False).service.database_url
        except Exception:
            url = ""
    return describe_failure(url, exc)  # the password is hidden; the driver's reason names none


def build_parser() -> argparse.ArgumentParser:
    from bot import cli_commands as c

    parser = argparse.ArgumentParser(
        prog="checkins",
        description="Between-session check-ins for mentees on probation and their peer mentors.",
    )
    parser.add_argument("--config", help="path to config.toml (or set CHECKINS_CONFIG)")
    parser.add_argument("--database", help="database URL (overrides config and CHECKINS_DATABASE_URL)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("init", help="create or upgrade the database")
    p.set_defaults(func=c.cmd_init)

    p = sub.add_parser("serve", help="run the service: webhooks, scheduler, sender, escalation")
    p.add_argument("--web-only", action="store_true",
                   help="webhooks only; run `checkins worker` processes for the rest")
    p.set_defaults(func=c.cmd_serve)

    p = sub.add_parser("worker", help="the service without webhooks: turns, sender, scheduler")
    p.set_defaults(func=c.cmd_worker)

    p = sub.add_parser("demo", help="try it in the terminal: no credentials, a simulated phone")
    p.add_argument("--script", help="read the mentee's replies and demo commands from this file")
    p.add_argument("--web", nargs="?", type=int, const=8099, default=None, metavar="PORT",
                   help="also serve the staff web app on 127.0.0.1 (default port 8099), signed in as the mentor")
    p.add_argument("--at", metavar="TIME",
                   help="start from this time instead of now, e.g. 2026-12-04T10:00 (UK time unless it names its zone)")
    p.set_defaults(func=c.cmd_demo)

    p = sub.add_parser("assess", help="check messages for risk: one per line (or JSON lines) on stdin")
    p.add_argument("--explain", action="store_true",
                   help="also list every rule match, what context did to it, and the model's scores")
    p.set_defaults(func=c.cmd_assess)

    risk = sub.add_parser("risk", help="the risk detector's learned layer").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = risk.add_parser("train", help="train it from the labelled sets (needs the `train` extra)")
    p.add_argument("--data", default="", help="folder of labelled *.jsonl sources (default: the shipped ones)")
    p.add_argument("--out", default="", help="model file to write (default: the shipped one)")
    p.add_argument("--search", action="store_true",
                   help="also search the regularisation strength (slower; prints each one's score)")
    p.add_argument("--check", action="store_true", help="only say whether the model file is up to date")
    p.set_defaults(func=c.cmd_risk_train)

    # staff
    staff = sub.add_parser("staff", help="mentors, supervisors and the duty contact").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = staff.add_parser("add", help="add a mentor, supervisor or coordinator")
    p.add_argument("name")
    p.add_argument("--role", choices=["mentor", "supervisor", "coordinator"], default="mentor")
    p.add_argument("--phone", default="")
    p.add_argument("--email", default="")
    p.add_argument("--telegram-chat-id", default="")
    p.add_argument("--channels", default="",
                   help="order alerts try, e.g. sms,email (default: sms,telegram,email, what they have)")
    p.add_argument("--supervisor", default="", help="the mentor's supervisor (name, id or phone)")
    p.add_argument("--duty", action="store_true", help="the duty contact alerts climb to")
    p.set_defaults(func=c.cmd_staff_add)
    p = staff.add_parser("list", help="list staff")
    p.set_defaults(func=c.cmd_staff_list)
    p = staff.add_parser("edit", help="change a staff member's details")
    p.add_argument("staff")
    for flag in ("--phone", "--email", "--channels", "--supervisor", "--name"):
        p.add_argument(flag)
    p.add_argument("--duty", choices=["yes", "no"])
    p.set_defaults(func=c.cmd_staff_edit)
    for name, helptext in (("pause", "no alerts to this person for now (leave); the ladder skips them"),
                           ("resume", "alerts reach this person again")):
        p = staff.add_parser(name, help=helptext)
        p.add_argument("staff")
        p.set_defaults(func=c.cmd_staff_pause if name == "pause" else c.cmd_staff_resume)
    p = staff.add_parser("import", help="import staff from CSV (nothing imported if a row is bad)")
    p.add_argument("csv_file")
    p.add_argument("--partial", action="store_true", help="import the good rows even if some are bad")
    p.set_defaults(func=c.cmd_staff_import)
    p = staff.add_parser("link", help="print a Telegram link that connects a staff member's chat")
    p.add_argument("staff")
    p.add_argument("--new", action="store_true", help="replace the link given before")
    p.set_defaults(func=c.cmd_staff_link)

    # mentees
    mentee = sub.add_parser("mentee", help="people taking part in check-ins").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = mentee.add_parser("add", help="add a mentee")
    p.add_argument("first_name")
    p.add_argument("--last-name", default="")
    p.add_argument("--phone", default="")
    p.add_argument("--mentor", required=True, help="their mentor (name, id or phone)")
    p.add_argument("--channel", default="sms", choices=["sms", "telegram"])
    p.add_argument("--timezone", default="")
    p.add_argument("--release-date", default="", help="YYYY-MM-DD: daily check-ins the week after")
    p.add_argument("--plan", default="",
                   help='e.g. "mon,thu 10:00" (default: [checkins] default_plan; "none": no plan)')
    p.set_defaults(func=c.cmd_mentee_add)
    p = mentee.add_parser("list", help="list mentees")
    p.add_argument("--mentor", default="")
    p.set_defaults(func=c.cmd_mentee_list)
    p = mentee.add_parser("edit", help="change a mentee's details")
    p.add_argument("mentee")
    for flag in ("--first-name", "--last-name", "--phone", "--mentor", "--channel", "--timezone",
                 "--release-date", "--quiet-hours"):
        p.add_argument(flag)
    p.set_defaults(func=c.cmd_mentee_edit)
    for name, helptext in (("pause", "stop check-ins for now (custody, hospital)"),
                           ("resume", "start check-ins again")):
        p = mentee.add_parser(name, help=helptext)
        p.add_argument("mentee")
        p.set_defaults(func=c.cmd_mentee_pause if name == "pause" else c.cmd_mentee_resume)
    p = mentee.add_parser("link", help="print a one-time Telegram link for a mentee")
    p.add_argument("mentee")
    p.add_argument("--new", action="store_true", help="replace the link given before")
    p.set_defaults(func=c.cmd_mentee_link)
    p = mentee.add_parser("show", help="a mentee's record: messages, answers, alerts, mood")
    p.add_argument("mentee")
    p.set_defaults(func=c.cmd_mentee_show)
    p = mentee.add_parser("reply", help="send a mentee a message (waits for their quiet hours)")
    p.add_argument("mentee")
    p.add_argument("text")
    p.add_argument("--now", action="store_true", help="send now even in their quiet hours")
    p.set_defaults(func=c.cmd_mentee_reply)
    p = mentee.add_parser("import", help="import mentees from CSV (nothing imported if a row is bad)")
    p.add_argument("csv_file")
    p.add_argument("--partial", action="store_true", help="import the good rows even if some are bad")
    p.set_defaults(func=c.cmd_mentee_import)

    from bot import cli_protect  # data protection: export, erase, purge, rotate-key, keygen

    cli_protect.register(sub, mentee)

    # check-ins and schedules
    checkin = sub.add_parser("checkin", help="check-ins").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = checkin.add_parser("send", help="start a check-in with a mentee now (waits for their quiet hours)")
    p.add_argument("mentee")
    p.add_argument("--now", action="store_true", help="send at once even in their quiet hours "
                   "(never outside their safe-to-text windows)")
    p.add_argument("--flow", default="", help="use this flow instead of the mentee's own")
    p.set_defaults(func=c.cmd_checkin_send)

    schedule = sub.add_parser("schedule", help="when check-ins go out").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = schedule.add_parser("show", help="a mentee's next check-ins, in their local time")
    p.add_argument("mentee")
    p.set_defaults(func=c.cmd_schedule_show)
    p = schedule.add_parser("set", help='set a mentee\'s plan, e.g. "mon,thu 10:00"')
    p.add_argument("mentee")
    p.add_argument("plan")
    p.add_argument("--start", default="", help="first date (YYYY-MM-DD)")
    p.add_argument("--end", default="", help="last date, e.g. end of licence (YYYY-MM-DD)")
    p.add_argument("--flow", default=None, help='the flow these check-ins use, e.g. monthly ("" = default)')
    p.set_defaults(func=c.cmd_schedule_set)
    p = schedule.add_parser("once", help="a one-off check-in, e.g. the day before court")
    p.add_argument("mentee")
    p.add_argument("when", help="local date and time: 2026-12-03 10:00")
    p.set_defaults(func=c.cmd_schedule_once)
    for name in ("pause", "resume"):
        p = schedule.add_parser(name, help=f"{name} a mentee's check-ins")
        p.add_argument("mentee")
        p.set_defaults(func=c.cmd_mentee_pause if name == "pause" else c.cmd_mentee_resume)

    # alerts
    alerts = sub.add_parser("alerts", help="risk alerts and acknowledgements").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = alerts.add_parser("list", help="open alerts (--all for closed too)")
    p.add_argument("--all", action="store_true")
    p.set_defaults(func=c.cmd_alerts_list)
    p = alerts.add_parser("show", help="every step of an alert's life")
    p.add_argument("code")
    p.set_defaults(func=c.cmd_alerts_show)
    p = alerts.add_parser("ack", help="acknowledge an alert (stops the ladder)")
    p.add_argument("code")
    p.add_argument("--by", default="", help="record it for this staff member (name, id or phone)")
    p.set_defaults(func=c.cmd_alerts_ack)
    p = alerts.add_parser("note", help="add a note to an alert's history")
    p.add_argument("code")
    p.add_argument("text")
    p.set_defaults(func=c.cmd_alerts_note)
    p = alerts.add_parser("close", help="close an alert with its outcome (recorded as closed by you)")
    p.add_argument("code")
    p.add_argument("--outcome", required=True)
    p.set_defaults(func=c.cmd_alerts_close)

    p = sub.add_parser("digest", help="weekly engagement digest for supervisors")
    p.add_argument("--week", default="", help="ISO week, e.g. 2026-W48 (default: last week)")
    p.add_argument("--supervisor", default="")
    p.add_argument("--out", default="", help="write HTML, text and CSV to this folder")
    p.add_argument("--send", action="store_true", help="email it now")
    p.add_argument("--again", action="store_true", help="with --send: even to those already sent it")
    p.set_defaults(func=c.cmd_digest)

    _register_issue13(sub)

    p = sub.add_parser("audit", help="who did or looked at what, and when (newest first)")
    p.add_argument("--since", default="", help="from this local date (YYYY-MM-DD)")
    p.add_argument("--actor", default="", help="a staff name or shell:<user>")
    p.add_argument("--mentee", default="", help="one mentee (id, phone or name)")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(func=c.cmd_audit)
    return parser


def _register_issue13(sub: Any) -> None:
    """Flows, safe contact and mentor matching (issue 13): their commands, in one place."""
    from bot import cli_flows

    cli_flows.register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    from bot.app.errors import AppError

    try:
        parser = build_parser()
    except ValueError as exc:  # a shipped flow or catalogue file that does not pass its check
        print(f"checkins: error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    _logging(None)
    try:
        return int(args.func(args) or 0)
    except (AppError, CliError, ConfigError, ValueError) as exc:
        print(f"checkins: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`checkins staff list | head`): that is not an error. Point
        # stdout at /dev/null so the interpreter's last flush cannot raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        line = _database_failure(args, exc)
        if line is None:
            raise
        print(f"checkins: error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
