"""The commands for flows, safe contact and mentor matching (issue 13): `checkins flow ...`,
`checkins match`, `checkins mentee safety`, `checkins mentee facts`, `checkins staff facts`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli import CliError, _config


def register(sub: Any) -> None:
    flow = sub.add_parser("flow", help="check-in flows: check, preview and list flow files").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    p = flow.add_parser("check", help="check flow files (one line per bad file, naming its line)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--all", action="store_true", help="list every problem, one per line")
    p.set_defaults(func=cmd_flow_check)
    p = flow.add_parser("preview", help="run a flow in the terminal, as a mentee would see it")
    p.add_argument("file", metavar="FILE", help="a flow file, or the name of a flow the service has")
    p.add_argument("--name", default="Sam", help="the mentee's first name in the texts")
    p.add_argument("--script", default="", help="read the replies from this file")
    p.set_defaults(func=cmd_flow_preview)
    p = flow.add_parser("list", help="the flows the service runs (shipped and your folder)")
    p.set_defaults(func=cmd_flow_list)

    p = sub.add_parser("safety", help="safe contact for a mentee at risk of abuse: windows, "
                                      "discreet mode, code word")
    p.add_argument("mentee")
    p.add_argument("--windows", default=None,
                   help='when texting is safe, e.g. "mon-fri 10:00-14:00" ("" = any time)')
    p.add_argument("--discreet", choices=["yes", "no"], default=None,
                   help="no organisation name and no words about probation, mentoring or safety")
    p.add_argument("--code-word", default=None,
                   help='a word they text for "I can\'t talk, someone is here" ("" = none)')
    p.add_argument("--safe-to-text", choices=["yes", "no", "ask"], default=None,
                   help="whether texting this number is safe (ask: at the next contact)")
    p.set_defaults(func=cmd_safety)


def cmd_flow_check(args: argparse.Namespace) -> int:
    from bot.flows import FlowError, load_flow_file

    from bot.flows.files import read_flow_text

    bad = 0
    for name in args.files:
        try:
            flow = load_flow_file(name)
        except FlowError as exc:
            bad += 1
            if args.all and getattr(exc, "line", 0):
                with open(name, encoding="utf-8") as handle:
                    for problem in read_flow_text(handle.read(), name)[1]:
                        print(problem, file=sys.stderr)
            else:
                print(f"{exc}", file=sys.stderr)
            continue
        print(f"{name}: ok: flow {flow.name}, {len(flow.questions)} questions, version {flow.digest}")
    return 1 if bad else 0


def _library(args: argparse.Namespace) -> Any:
    from bot.flows import build_library

    cfg = _config(args)
    return build_library(cfg.flows.folder or None)


def cmd_flow_preview(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.flows import load_flow_file
    from bot.flows.preview import run_preview

    flow = load_flow_file(args.file) if Path(args.file).suffix == ".toml" or Path(args.file).exists() \
        else _library(args).get(args.file)
    if args.script:
        try:
            with open(args.script, encoding="utf-8") as handle:
                return run_preview(flow, handle, sys.stdout, first_name=args.name)
        except FileNotFoundError:
            raise CliError(f"script file not found: {args.script}") from None
    return run_preview(flow, sys.stdin, sys.stdout, first_name=args.name, interactive=sys.stdin.isatty())


def cmd_flow_list(args: argparse.Namespace) -> int:
    lib = _library(args)
    for name in lib.names:
        flow = lib.get(name)
        print(f"{flow.name:<14} version {flow.digest}  {len(flow.questions)} questions  {flow.source}")
        if flow.description:
            print(f"{'':<14} {flow.description}")
    return 0


def cmd_safety(args: argparse.Namespace) -> int:
    from bot.app import safety
    from bot.cli_commands import _me, _services, _when

    svc = _services(args)
    got = safety.change(svc, _me(), args.mentee, safety.SafetyChanges(
        windows=args.windows, discreet=None if args.discreet is None else args.discreet == "yes",
        code_word=args.code_word, safe_to_text=args.safe_to_text))
    print(f"{got.name}: safe-to-text {got.windows or 'any time (outside quiet hours)'}; "
          f"discreet {'on' if got.discreet else 'off'}; code word {'set' if got.has_code_word else 'none'}; "
          f"safe to text at this number: {got.safe_to_text}")
    if got.hold_until is not None and got.hold_until > svc.clock.now():
        print(f"  on hold after their code word until {_when(svc, got.hold_until)}")
    return 0
