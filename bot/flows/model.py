"""How a check-in flow is declared: questions, answer types, branches and the risks answers raise.

A flow is data. The engine builds one state machine per flow from it, and `validate_flow` checks
it at start-up so a typo in a branch, a risk name or a curly quote never reaches a mentee.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Flow:
    name: str
    version: int
    questions: tuple[Question, ...]
    closing: str
    reminder_prefix: str = "Reminder: "
    missed: str = ""  # sent when a check-in expires unanswered; empty = say nothing

    @property
    def start(self) -> str:
        return self.questions[0].key

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


def _check_text(flow: str, where: str, text: str, problems: list[str]) -> None:
    bad = non_gsm7_characters(text)
    if bad:
        problems.append(f"{flow}.{where}: characters outside GSM-7: {''.join(bad)!r}")
    worst = text.replace("{first_name}", "X" * MAX_NAME_IN_PROMPT)
    if gsm7_length(worst) > SINGLE_SEGMENT:
        problems.append(
            f"{flow}.{where}: {gsm7_length(worst)} characters, longer than one SMS ({SINGLE_SEGMENT})"
        )


def validate_flow(flow: Flow) -> None:
    """Raise FlowError listing every problem: unknown states, answer types, risks, bad wording."""
    problems: list[str] = []
    keys = [q.key for q in flow.questions]
    if not keys:
        problems.append(f"{flow.name}: has no questions")
    if len(set(keys)) != len(keys):
        problems.append(f"{flow.name}: question keys repeat")
    known = set(keys) | {END}
    for q in flow.questions:
        if q.answer not in ANSWER_TYPES:
            problems.append(f"{flow.name}.{q.key}: unknown answer type {q.answer!r}")
        if q.answer == "choice" and not q.choices:
            problems.append(f"{flow.name}.{q.key}: a choice question needs choices")
        if q.next not in known:
            problems.append(f"{flow.name}.{q.key}: next names unknown state {q.next!r}")
        for value, target in q.branches.items():
            if target not in known:
                problems.append(f"{flow.name}.{q.key}: branch {value!r} names unknown state {target!r}")
        for risk in q.risks:
            if risk.category not in RISK_CATEGORIES:
                problems.append(f"{flow.name}.{q.key}: unknown risk {risk.category!r}")
            if risk.severity not in SEVERITIES:
                problems.append(f"{flow.name}.{q.key}: unknown severity {risk.severity!r}")
        _check_text(flow.name, q.key, q.prompt, problems)
    for where, text in (("closing", flow.closing), ("missed", flow.missed)):
        _check_text(flow.name, where, text, problems)
    for hint_type, hint in REASK_HINTS.items():
        _check_text(flow.name, f"re-ask {hint_type}", hint, problems)
    if problems:
        raise FlowError("; ".join(problems))
