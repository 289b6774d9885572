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
    p = sub.add_parser("wording", help="the wording catalogues (texts outside the flow files)").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    w = p.add_parser("check", help="check catalogue files: placeholders, GSM-7, SMS segments")
    w.add_argument("files", nargs="+", metavar="FILE")
    w.set_defaults(func=cmd_wording_check)
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

    p = sub.add_parser("match", help="suggest mentors for a mentee, with reasons (never over a caseload)")
    p.add_argument("mentee")
    p.add_argument("--assign", default="", metavar="MENTOR", help="give the mentee to this mentor")
    p.add_argument("--reason", default="", help="why (recorded; default: the matching reasons)")
    p.set_defaults(func=cmd_match)

    facts = sub.add_parser("facts", help="what matching and wording need to know").add_subparsers(
        dest="action", metavar="WHO", required=True)
    p = facts.add_parser("mentee", help="a mentee's gender, preference, area, languages, needs, language")
    p.add_argument("mentee")
    p.add_argument("--gender")
    p.add_argument("--wants-mentor", help='the mentor gender they asked for, e.g. woman ("" = no preference)')
    p.add_argument("--area")
    p.add_argument("--languages", help="languages they speak, e.g. en,cy")
    p.add_argument("--needs", help="e.g. prison,addiction,housing,domestic abuse")
    p.add_argument("--language", help="the language their texts are in (en, cy)")
    p.set_defaults(func=cmd_facts_mentee)
    p = facts.add_parser("staff", help="a mentor's gender, area, languages, lived experience, skills, caseload limit")
    p.add_argument("staff")
    p.add_argument("--gender")
    p.add_argument("--area")
    p.add_argument("--languages")
    p.add_argument("--lived-experience", help="e.g. prison,addiction")
    p.add_argument("--skills", help="e.g. housing,benefits")
    p.add_argument("--caseload-limit", help='most mentees at once ("" = no limit)')
    p.set_defaults(func=cmd_facts_staff)


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
    for (name, language), flow in sorted(lib.translations.items()):
        print(f"{name + ' (' + language + ')':<14} version {flow.digest}  {len(flow.questions)} questions  {flow.source}")
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


def cmd_match(args: argparse.Namespace) -> int:
    from bot.app import matching
    from bot.cli_commands import _me, _services

    svc = _services(args)
    if args.assign:
        done = matching.assign(svc, _me(), args.mentee, args.assign, args.reason)
        print(f"{done.mentee} now has {done.mentor} as mentor ({done.reason})")
        return 0
    found = matching.suggestions(svc, _me(), args.mentee)
    if not found.suggestions:
        print("no mentor can take this mentee now")
    for n, s in enumerate(found.suggestions, 1):
        print(f"{n}. {s.mentor.name} (id {s.mentor.staff_id}): {'; '.join(s.reasons)}")
    for out in found.left_out:
        print(f"   not {out.mentor.name}: {out.reason}")
    return 0


def cmd_facts_mentee(args: argparse.Namespace) -> int:
    from bot.app import matching
    from bot.cli_commands import _me, _services

    name = matching.set_mentee_facts(_services(args), _me(), args.mentee, matching.MenteeFactChanges(
        gender=args.gender, wants_mentor_gender=args.wants_mentor, area=args.area,
        languages=args.languages, needs=args.needs, language=args.language))
    print(f"updated {name}")
    return 0


def cmd_facts_staff(args: argparse.Namespace) -> int:
    from bot.app import matching
    from bot.cli_commands import _me, _services

    name = matching.set_staff_facts(_services(args), _me(), args.staff, matching.StaffFactChanges(
        gender=args.gender, area=args.area, languages=args.languages,
        lived_experience=args.lived_experience, skills=args.skills, caseload_limit=args.caseload_limit))
    print(f"updated {name}")
    return 0


def cmd_wording_check(args: argparse.Namespace) -> int:
    import tomllib
    from pathlib import Path

    from bot.wording.catalogue import CATALOGUES, problems

    english = tomllib.loads((CATALOGUES / "en.toml").read_text(encoding="utf-8")).get("texts", {})
    bad = 0
    for name in args.files:
        try:
            text = Path(name).read_text(encoding="utf-8")
        except FileNotFoundError:
            print(f"{name}:0: file not found", file=sys.stderr)
            bad += 1
            continue
        found = problems(text, name, None if Path(name).name == "en.toml" else english)
        for line in found:
            print(line, file=sys.stderr)
        if found:
            bad += 1
        else:
            print(f"{name}: ok")
    return 1 if bad else 0
