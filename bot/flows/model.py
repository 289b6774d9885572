"""How a check-in flow is declared: questions, answer types, branches and the risks answers raise.

A flow is data. The engine builds one state machine per flow from it, and `validate_flow` checks
it at start-up so a typo in a branch, a risk name or a curly quote never reaches a mentee.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.gsm7 import SINGLE_SEGMENT, gsm7_length, non_gsm7_characters

ANSWER_TYPES = ("yes_no", "scale_1_5", "choice", "free_text")
RISK_CATEGORIES = ("crisis", "housing", "domestic_abuse")
SEVERITIES = ("urgent", "concern")
END = "done"
# Names are cut to this length in prompts, so a prompt is checked with a name this long.
MAX_NAME_IN_PROMPT = 20


@dataclass(frozen=True)
class AnswerRisk:
    """An answer that raises a risk by itself, e.g. "no" to "somewhere safe to stay tonight?"."""

    when: tuple[str, ...]  # canonical answer values: "no", "dont_know", "1", a choice key
    category: str
    severity: str
    evidence: str  # plain words for staff: "said no to somewhere safe to stay tonight"


@dataclass(frozen=True)
class Question:
    key: str
    prompt: str
    answer: str
    next: str = END
    branches: dict[str, str] = field(default_factory=dict)  # answer value -> question key
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    risks: tuple[AnswerRisk, ...] = ()
    note_to_mentor: dict[str, str] = field(default_factory=dict)  # answer value -> note text
    discreet_prompt: str = ""  # for a mentee in discreet mode, when `prompt` would give it away


@dataclass(frozen=True)
class Flow:
    name: str
    version: int
    questions: tuple[Question, ...]
    closing: str
    reminder_prefix: str = "Reminder: "
    missed: str = ""  # sent when a check-in expires unanswered; empty = say nothing
    # Set by the file loader: where the flow came from and a hash of its exact text, so a
    # conversation stays on the version it started with when the file is changed.
    digest: str = ""
    source: str = ""
    text: str = field(default="", compare=False, repr=False)  # the file's exact text
    description: str = ""
    language: str = "en"  # a flow file in another language is a translation of the English one
    reask: dict[str, str] = field(default_factory=dict)  # answer type -> re-ask text (catalogue)
    # The engine's own words in the flow's language (catalogue "prefix.*", "button.*").
    words: dict[str, str] = field(default_factory=dict)
    discreet_closing: str = ""  # for a mentee in discreet mode, when `closing` would give it away
    remind_after_hours: float | None = None  # None: [checkins] reminder_after_hours
    expire_after_hours: float | None = None  # None: [checkins] expire_after_hours
    # The mentee's language, whose answer words ("ydw", "nac oes") the replies may use even on a
    # flow with no translation; "" = the flow's own language.
    answer_language: str = field(default="", compare=False)

    @property
    def start(self) -> str:
        return self.questions[0].key

    def discreet(self) -> Flow:
        """The same flow as a mentee in discreet mode reads it (same states, so same machine)."""
        from dataclasses import replace

        return replace(self, closing=self.discreet_closing or self.closing, questions=tuple(
            replace(q, prompt=q.discreet_prompt or q.prompt) for q in self.questions))

    def answered_in(self, language: str) -> Flow:
        """The same flow, with replies read in `language` as well as English."""
        from dataclasses import replace

        return self if language == (self.answer_language or self.language) else replace(
            self, answer_language=language)

    def question(self, key: str) -> Question:
        for q in self.questions:
            if q.key == key:
                return q
        raise KeyError(f"flow {self.name!r} has no question {key!r}")


class FlowError(ValueError):
    """A flow declaration that must not run."""


REASK_HINTS = {
    "yes_no": "Sorry, we didn't get that. Please reply YES or NO.",
    "scale_1_5": "Sorry, we didn't get that. Please reply with a number from 1 to 5.",
    "choice": "Sorry, we didn't get that. Please reply with the number of your answer.",
    "free_text": "Sorry, we didn't get that. Please reply with a few words.",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a flow: where (for people), the file path to it (for line numbers)."""

    where: str  # "mood", "closing", "" for the flow as a whole
    path: tuple[str, ...]  # e.g. ("questions", "mood", "next") as written in a flow file
    text: str


def _check_text(where: str, path: tuple[str, ...], text: str, problems: list[Problem]) -> None:
    bad = non_gsm7_characters(text)
    if bad:
        problems.append(Problem(where, path, f"characters outside GSM-7: {''.join(bad)!r}"))
    worst = text.replace("{first_name}", "X" * MAX_NAME_IN_PROMPT)
    if gsm7_length(worst) > SINGLE_SEGMENT:
        problems.append(Problem(
            where, path, f"{gsm7_length(worst)} characters, longer than one SMS ({SINGLE_SEGMENT})"))
    for name in _placeholders(text) - {"first_name"}:
        problems.append(Problem(where, path, f"unknown placeholder {{{name}}}; only {{first_name}} is filled in"))


def _check_discreet(where: str, at: tuple[str, ...], text: str, discreet: str, key: str,
                    problems: list[Problem]) -> None:
    """Discreet mode: a text that gives the service away needs discreet wording that does not."""
    from bot.wording.discreet import giveaways

    if discreet:
        words = giveaways(discreet)
        if words:
            problems.append(Problem(where, (*at, key), f"{key} gives it away: {', '.join(words)}"))
    elif text and giveaways(text):
        problems.append(Problem(where, (*at, key.replace("discreet_", "")) if key != "missed" else (key,), (
            f"says {', '.join(dict.fromkeys(giveaways(text)))}: add {key} = \"...\" for mentees in "
            "discreet mode" if key != "missed" else "missed must not give the service away")))


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", text))


def flow_problems(flow: Flow, *, discreet: bool = True) -> list[Problem]:
    """Every problem: unknown states, answer types, risks, bad wording, dead ends; and with
    `discreet`, wording that would give the service away with no discreet wording beside it."""
    problems: list[Problem] = []
    keys = [q.key for q in flow.questions]
    if not keys:
        problems.append(Problem("", ("questions",), "has no questions"))
    if len(set(keys)) != len(keys):
        problems.append(Problem("", ("questions",), "question keys repeat"))
    known = set(keys) | {END}
    for q in flow.questions:
        at = ("questions", q.key)
        if q.answer not in ANSWER_TYPES:
            problems.append(Problem(q.key, (*at, "answer"), f"unknown answer type {q.answer!r}"))
        if q.answer == "choice" and not q.choices:
            problems.append(Problem(q.key, (*at, "answer"), "a choice question needs choices"))
        if q.next not in known:
            problems.append(Problem(q.key, (*at, "next"), f"next names unknown state {q.next!r}"))
        for value, target in q.branches.items():
            if target not in known:
                problems.append(Problem(q.key, (*at, "branches"),
                                        f"branch {value!r} names unknown state {target!r}"))
        possible = answer_values(q)
        if possible is not None:
            used = [("branch", v, "branches") for v in q.branches]
            used += [("note", v, "note_to_mentor") for v in q.note_to_mentor]
            used += [("risk", v, f"risks.{i}.when") for i, r in enumerate(q.risks) for v in r.when]
            for what, value, field_name in used:
                if value not in possible:
                    problems.append(Problem(q.key, (*at, *field_name.split(".")), (
                        f"{what} on answer {value!r} can never happen: a {q.answer} answer is "
                        f"{', '.join(sorted(possible))}")))
        for i, risk in enumerate(q.risks):
            if risk.category not in RISK_CATEGORIES:
                problems.append(Problem(q.key, (*at, "risks", str(i), "category"),
                                        f"unknown risk {risk.category!r}"))
            if risk.severity not in SEVERITIES:
                problems.append(Problem(q.key, (*at, "risks", str(i), "severity"),
                                        f"unknown severity {risk.severity!r}"))
        _check_text(q.key, (*at, "prompt"), q.prompt, problems)
        if q.discreet_prompt:
            _check_text(q.key, (*at, "discreet_prompt"), q.discreet_prompt, problems)
        if discreet:
            _check_discreet(q.key, at, q.prompt, q.discreet_prompt, "discreet_prompt", problems)
    for where, text in (("closing", flow.closing), ("missed", flow.missed),
                        ("reminder_prefix", flow.reminder_prefix), ("discreet_closing", flow.discreet_closing)):
        _check_text(where, (where,), text, problems)
    if discreet:
        _check_discreet("closing", (), flow.closing, flow.discreet_closing, "discreet_closing", problems)
        _check_discreet("missed", (), flow.missed, "", "missed", problems)
    for hint_type, hint in {**REASK_HINTS, **flow.reask}.items():
        _check_text(f"re-ask {hint_type}", (), hint, problems)
    if keys and len(set(keys)) == len(keys) and not any("unknown state" in p.text for p in problems):
        problems += _dead_ends(flow)
    return problems


def _dead_ends(flow: Flow) -> list[Problem]:
    """A question nobody can reach, or one from which the check-in can never finish."""
    targets = {q.key: {q.next, *q.branches.values()} for q in flow.questions}
    reachable: set[str] = set()
    todo = [flow.start]
    while todo:
        key = todo.pop()
        if key in reachable or key == END:
            continue
        reachable.add(key)
        todo += targets[key]
    finishes = {END}
    changed = True
    while changed:
        changed = False
        for key, nexts in targets.items():
            if key not in finishes and nexts & finishes:
                finishes.add(key)
                changed = True
    problems = []
    for q in flow.questions:
        if q.key not in reachable:
            problems.append(Problem(q.key, ("questions", q.key), "no answer leads to this question"))
        elif q.key not in finishes:
            problems.append(Problem(q.key, ("questions", q.key),
                                    "a dead end: from here the check-in can never finish"))
    return problems


def answer_values(question: Question) -> set[str] | None:
    """The canonical answers a question can record (None: free text, anything)."""
    if question.answer == "yes_no":
        return {"yes", "no", "dont_know"}
    if question.answer == "scale_1_5":
        return {"1", "2", "3", "4", "5", "dont_know"}
    if question.answer == "choice":
        return set(question.choices)
    return None


def describe(flow_name: str, problem: Problem) -> str:
    where = f"{flow_name}.{problem.where}" if problem.where else flow_name
    return f"{where}: {problem.text}"


def validate_flow(flow: Flow) -> None:
    """Raise FlowError listing every problem: unknown states, answer types, risks, bad wording.
    (Discreet wording is required of flow files: bot/flows/files.py.)"""
    problems = flow_problems(flow, discreet=False)
    if problems:
        raise FlowError("; ".join(describe(flow.name, p) for p in problems))
