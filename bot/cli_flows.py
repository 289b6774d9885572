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
    p.set_defaults(func=cmd_flow_check)
    p = flow.add_parser("preview", help="run a flow in the terminal, as a mentee would see it")
    p.add_argument("file", metavar="FILE", help="a flow file, or the name of a flow the service has")
    p.add_argument("--name", default="Sam", help="the mentee's first name in the texts")
    p.add_argument("--script", default="", help="read the replies from this file")
    p.set_defaults(func=cmd_flow_preview)
    p = flow.add_parser("list", help="the flows the service runs (shipped and your folder)")
    p.set_defaults(func=cmd_flow_list)


def cmd_flow_check(args: argparse.Namespace) -> int:
    from bot.flows import FlowError, load_flow_file

    bad = 0
    for name in args.files:
        try:
            flow = load_flow_file(name)
        except FlowError as exc:
            print(f"{exc}", file=sys.stderr)
            bad += 1
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
