"""Flows as files: read a flow from TOML, check it, and say what is wrong in one line.

A flow file (see bot/flows/defaults/weekly.toml) holds the questions in the order written (the
first is where a check-in starts), each with its answer type, where each answer goes next, the
answers that raise a risk by themselves, and the closing text. The file's exact text is hashed:
a changed file is a new version, and a conversation keeps the version it started with.

A problem is reported as `FILE:LINE: problem`, the line being the key or table it is about.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any

from bot.config import MIN_EXPIRE_HOURS, MIN_REMINDER_HOURS
from bot.flows.model import (
    END,
    AnswerRisk,
    Flow,
    FlowError,
    Problem,
    Question,
    describe,
    flow_problems,
)

DEFAULTS = Path(__file__).parent / "defaults"
_FLOW_KEYS = {"name", "version", "description", "language", "closing", "missed", "reminder_prefix", "discreet_closing",
              "remind_after_hours", "expire_after_hours", "questions"}
_QUESTION_KEYS = {"prompt", "answer", "next", "branches", "choices", "risks", "note_to_mentor",
                  "discreet_prompt"}
_RISK_KEYS = {"when", "category", "severity", "evidence"}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# The least time a flow may give before its reminder and before it counts as missed: the same
# floors as [checkins] in config.
MIN_REMIND_HOURS = MIN_REMINDER_HOURS


class FlowFileError(FlowError):
    """A flow file that must not run: `FILE:LINE: problem` (and how many more problems)."""

    def __init__(self, source: str, line: int, problem: str, more: int = 0) -> None:
        self.source, self.line, self.problem, self.more = source, line, problem, more
        extra = f" (and {more} more problem{'s' if more != 1 else ''})" if more else ""
        super().__init__(f"{source}:{line}: {problem}{extra}")


def digest_of(text: str) -> str:
    """The version of a flow file: a short hash of its exact text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def load_flow_file(path: str | Path) -> Flow:
    """Read and check one flow file; FlowFileError (one line) if it cannot run."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FlowFileError(str(path), 0, "file not found") from None
    except UnicodeDecodeError as exc:
        raise FlowFileError(str(path), 0, f"not UTF-8 text ({exc.reason})") from None
    return load_flow_text(text, str(path))


def load_flow_text(text: str, source: str = "<flow>") -> Flow:
    """Read and check a flow from TOML text; `source` names it in problems."""
    flow, problems = read_flow_text(text, source)
    if problems:
        first = problems[0]
        raise FlowFileError(first.source, first.line, first.problem, more=len(problems) - 1)
    assert flow is not None
    return flow


def read_flow_text(text: str, source: str = "<flow>") -> tuple[Flow | None, list[FlowFileError]]:
    """The flow and every problem with it, each as FILE:LINE: problem (for `flow check --all`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        line = int(match.group(1)) if match else 0
        return None, [FlowFileError(source, line, f"not valid TOML: {message}")]
    lines = _KeyLines(text)
    problems: list[Problem] = []
    flow = _build(data, text, source, problems)
    if flow is not None and not problems:
        problems = flow_problems(flow)
    name = flow.name if flow is not None else str(data.get("name", "flow"))
    located = [FlowFileError(source, lines.line_of(p.path), describe(name, p)) for p in problems]
    return (None if located else flow), located


def _build(data: dict[str, Any], text: str, source: str, problems: list[Problem]) -> Flow | None:
    """The Flow a file describes, or None with the problems that stop it being read at all."""
    for key in data:
        if key not in _FLOW_KEYS:
            problems.append(Problem("", (key,), f"unknown key {key!r}; known: {', '.join(sorted(_FLOW_KEYS))}"))
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(Problem("", ("name",) if "name" in data else (),
                                "name must be lower-case letters, digits and _ (e.g. weekly)"))
        return None
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(Problem("", ("version",), "version must be a whole number from 1"))
        return None
    for key in ("closing", "missed", "reminder_prefix", "description", "discreet_closing"):
        if key in data and not isinstance(data[key], str):
            problems.append(Problem(key, (key,), "must be text in quotes"))
    if "closing" not in data:
        problems.append(Problem("closing", (), "every flow needs a closing text"))
    language = data.get("language", "en")
    if not isinstance(language, str) or not _known_language(language):
        problems.append(Problem("", ("language",), f"language {language!r} has no wording catalogue "
                                                   "(bot/wording/catalogues)"))
        language = "en"
    hours: dict[str, float | None] = {}
    for key, floor in (("remind_after_hours", MIN_REMIND_HOURS), ("expire_after_hours", MIN_EXPIRE_HOURS)):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or value < floor):
            problems.append(Problem(key, (key,), f"must be a number of hours, at least {floor:g}"))
            value = None
        hours[key] = value
    if (hours["remind_after_hours"] is not None and hours["expire_after_hours"] is not None
            and hours["expire_after_hours"] <= hours["remind_after_hours"]):
        problems.append(Problem("expire_after_hours", ("expire_after_hours",),
                                "must be later than remind_after_hours"))
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, dict) or not raw_questions:
        problems.append(Problem("", ("questions",), "has no questions (add a [questions.NAME] table)"))
        return None
    questions = [q for key, raw in raw_questions.items()
                 if (q := _question(key, raw, problems)) is not None]
    if problems:
        return None
    return Flow(
        name=name, version=version, questions=tuple(questions), closing=data["closing"],
        reminder_prefix=data.get("reminder_prefix", "Reminder: "), missed=data.get("missed", ""),
        discreet_closing=data.get("discreet_closing", ""), language=language,
        reask=_reask(language), words=_engine_words(language),
        digest=digest_of(text), source=source, text=text, description=data.get("description", ""),
        remind_after_hours=hours["remind_after_hours"], expire_after_hours=hours["expire_after_hours"],
    )


def _known_language(code: str) -> bool:
    from bot.wording.catalogue import known_languages

    return code in known_languages()


def _engine_words(language: str) -> dict[str, str]:
    """The engine's prefixes and button labels in the flow's language, from the catalogue."""
    from bot.wording.catalogue import catalogue

    texts = catalogue(language)
    return {key: texts.text(key) for key in ("prefix.stale_button", "prefix.resumed",
                                             "button.yes", "button.no")}


def _reask(language: str) -> dict[str, str]:
    """The re-ask texts of the flow's language, from the wording catalogue."""
    from bot.wording.catalogue import catalogue

    texts = catalogue(language)
    return {kind: texts.text(f"reask.{kind}") for kind in ("yes_no", "scale_1_5", "choice", "free_text")}


def _question(key: str, raw: Any, problems: list[Problem]) -> Question | None:
    at = ("questions", key)
    if not _NAME.match(key) or key == END:
        problems.append(Problem(key, at, f"question name {key!r} must be lower-case letters, digits "
                                         f"and _, and not {END!r}"))
        return None
    if not isinstance(raw, dict):
        problems.append(Problem(key, at, "must be a table: [questions.NAME]"))
        return None
    for field in raw:
        if field not in _QUESTION_KEYS:
            problems.append(Problem(key, (*at, field),
                                    f"unknown key {field!r}; known: {', '.join(sorted(_QUESTION_KEYS))}"))
    if not isinstance(raw.get("discreet_prompt", ""), str):
        problems.append(Problem(key, (*at, "discreet_prompt"), "must be text in quotes"))
    for field in ("prompt", "answer"):
        if not isinstance(raw.get(field), str):
            problems.append(Problem(key, (*at, field) if field in raw else at, f"needs {field} = \"...\""))
    if not isinstance(raw.get("next", END), str):
        problems.append(Problem(key, (*at, "next"), "next must be a question name in quotes"))
    tables: dict[str, dict[str, str]] = {}
    for field in ("branches", "note_to_mentor"):
        value = raw.get(field, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            problems.append(Problem(key, (*at, field), f"{field} must map answers to text: "
                                                       f"{field} = {{ no = \"...\" }}"))
            value = {}
        tables[field] = {str(k): v for k, v in value.items()}
    choices = raw.get("choices", {})
    if not isinstance(choices, dict) or not all(
            isinstance(v, list) and all(isinstance(w, str) for w in v) for v in choices.values()):
        problems.append(Problem(key, (*at, "choices"),
                                'choices must map a key to its words: choices = { rent = ["rent", "housing"] }'))
        choices = {}
    risks = []
    raw_risks = raw.get("risks", [])
    if not isinstance(raw_risks, list):
        problems.append(Problem(key, (*at, "risks"), "risks must be [[questions.NAME.risks]] tables"))
        raw_risks = []
    for i, risk in enumerate(raw_risks):
        where = (*at, "risks", str(i))
        if not isinstance(risk, dict):
            problems.append(Problem(key, where, "each risk must be a table"))
            continue
        for field in risk:
            if field not in _RISK_KEYS:
                problems.append(Problem(key, (*where, field), f"unknown key {field!r} in a risk; "
                                                              f"known: {', '.join(sorted(_RISK_KEYS))}"))
        when = risk.get("when")
        if isinstance(when, str):
            when = [when]
        if not isinstance(when, list) or not when or not all(isinstance(w, str) for w in when):
            problems.append(Problem(key, (*where, "when"), 'a risk needs when = ["no"] (the answers that raise it)'))
            continue
        if not all(isinstance(risk.get(f), str) for f in ("category", "severity", "evidence")):
            problems.append(Problem(key, where, "a risk needs category, severity and evidence"))
            continue
        risks.append(AnswerRisk(tuple(when), risk["category"], risk["severity"], risk["evidence"]))
    if problems:
        return None
    return Question(key=key, prompt=raw["prompt"], answer=raw["answer"], next=raw.get("next", END),
                    branches=tables["branches"], note_to_mentor=tables["note_to_mentor"],
                    choices={k: tuple(v) for k, v in choices.items()}, risks=tuple(risks),
                    discreet_prompt=raw.get("discreet_prompt", ""))


class _KeyLines:
    """Which line of a TOML file each table and key is on, so a problem can name its line.

    Not a TOML parser: the file has already parsed. It follows table headers (`[a.b]`,
    `[[a.b.c]]`, counting array tables) and `key =` at the start of a line.
    """

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        counts: dict[tuple[str, ...], int] = {}
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith("[["):
                path = _dotted(stripped[2:stripped.find("]]")])
                index = counts.get(path, 0)
                counts[path] = index + 1
                table = (*path, str(index))
                self.lines.setdefault(table, number)
                self.lines.setdefault(path, number)
            elif stripped.startswith("["):
                table = _dotted(stripped[1:stripped.find("]")])
                self.lines.setdefault(table, number)
            else:
                match = re.match(r'^("[^"]*"|\'[^\']*\'|[A-Za-z0-9_.-]+)\s*=', stripped)
                if match:
                    self.lines.setdefault((*table, *_dotted(match.group(1))), number)
        for path, number in list(self.lines.items()):
            for cut in range(1, len(path)):
                self.lines.setdefault(path[:cut], number)

    def line_of(self, path: tuple[str, ...]) -> int:
        """The line of `path`, or of the nearest table holding it; 1 for the file as a whole."""
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.lines:
                return self.lines[path[:cut]]
        return 1


def _dotted(key: str) -> tuple[str, ...]:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([^.\s]+)', key.strip())
    return tuple(a or b or c for a, b, c in parts)
