"""The conversation engine: a pure function of (conversation state, input, now) -> new state + effects.

No database, no network: the caller stores the new state and every effect in one transaction and
only then sends anything (the outbox). One `transitions` machine is built per flow, once; each turn
attaches a throwaway model restored from the stored state, fires one trigger and detaches it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from transitions import Machine, MachineError

from bot.engine.answers import (
    ParsedAnswer,
    parse_choice,
    parse_free_text,
    parse_scale,
    parse_yes_no,
)
from bot.flows.model import END, MAX_NAME_IN_PROMPT, REASK_HINTS, Flow, Question
from bot.gsm7 import SINGLE_SEGMENT, gsm7_length

EXPIRED = "expired"
CANCELLED = "cancelled"
FINAL_STATES = frozenset({END, EXPIRED, CANCELLED})


# ---- inputs -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Start:
    first_name: str


@dataclass(frozen=True)
class Reply:
    text: str


@dataclass(frozen=True)
class Remind:
    pass


@dataclass(frozen=True)
class Expire:
    pass


@dataclass(frozen=True)
class Cancel:
    reason: str = ""


@dataclass(frozen=True)
class Pause:
    """A crisis was disclosed mid check-in: no more questions, no reminder; a person takes over."""


@dataclass(frozen=True)
class Resume:
    """The mentee asked to carry on (CHECKIN) after a pause: the current question again."""


@dataclass(frozen=True)
class Skip:
    """Move past the current question without an answer (a risky message sent in answer to a
    free-text question is not that answer)."""


Input = Start | Reply | Remind | Expire | Cancel | Pause | Resume | Skip


# ---- effects ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Send:
    text: str
    buttons: tuple[tuple[str, str], ...] = ()  # (label, value) quick replies for Telegram


@dataclass(frozen=True)
class RecordAnswer:
    question: str
    raw_text: str
    value: str | None
    number: int | None


@dataclass(frozen=True)
class RaiseRisk:
    category: str
    severity: str
    evidence: str
    question: str


@dataclass(frozen=True)
class NoteToMentor:
    text: str


@dataclass(frozen=True)
class Finished:
    outcome: str  # completed | missed | cancelled | interrupted (paused, then expired)


Effect = Send | RecordAnswer | RaiseRisk | NoteToMentor | Finished


@dataclass(frozen=True)
class ConversationState:
    flow: str
    version: int
    state: str
    answers: dict[str, Any] = field(default_factory=dict)
    reasks: int = 0
    reminded: bool = False
    first_name: str = ""
    paused: bool = False

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class StepResult:
    state: ConversationState
    effects: tuple[Effect, ...]


class _Turn:
    """The throwaway model a flow machine moves for one turn."""

    def __init__(self, state: str) -> None:
        self.state = state


_MACHINES: dict[tuple[str, int, str], Machine] = {}


def machine_for(flow: Flow) -> Machine:
    """The state machine for a flow, built once; branches become conditional transitions."""
    key = (flow.name, flow.version, flow.digest)  # a changed file is a new machine
    if key not in _MACHINES:
        _MACHINES[key] = _build_machine(flow)
    return _MACHINES[key]


def _build_machine(flow: Flow) -> Machine:
    states = [q.key for q in flow.questions] + [END, EXPIRED, CANCELLED]
    transitions: list[dict[str, Any]] = []
    for q in flow.questions:
        for value, target in q.branches.items():
            transitions.append(
                {"trigger": "answered", "source": q.key, "dest": target,
                 "conditions": [_value_is(value)]}
            )
        transitions.append({"trigger": "answered", "source": q.key, "dest": q.next})
    open_states = [q.key for q in flow.questions]
    transitions.append({"trigger": "expire", "source": open_states, "dest": EXPIRED})
    transitions.append({"trigger": "cancel", "source": open_states, "dest": CANCELLED})
    return Machine(model=None, states=states, transitions=transitions, initial=None,
                   auto_transitions=False, send_event=False)


def _value_is(expected: str) -> Any:
    def condition(value: str | None = None) -> bool:
        return value == expected

    return condition


def _fire(flow: Flow, state: str, trigger: str, **kwargs: Any) -> str:
    machine = machine_for(flow)
    turn = _Turn(state)
    machine.add_model(turn, initial=state)
    try:
        turn.trigger(trigger, **kwargs)  # type: ignore[attr-defined]
        return turn.state
    finally:
        machine.remove_model(turn)


def parse_answer(question: Question, text: str, language: str = "en") -> ParsedAnswer | None:
    """Parse a reply by the question's answer type; `language`'s own answer words count too."""
    from bot.wording.catalogue import answer_words

    extra = answer_words(language)
    if question.answer == "yes_no":
        return parse_yes_no(text, extra)
    if question.answer == "scale_1_5":
        return parse_scale(text, extra=extra)
    if question.answer == "choice":
        return parse_choice(text, question.choices)
    return parse_free_text(text)


def buttons_for(question: Question, words: dict[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """Quick replies; each carries its question's key, so a press on an old message is known.
    `words`: the flow's catalogue words (the Yes / No labels in its language)."""
    words = words or {}
    if question.answer == "yes_no":
        options = [(words.get("button.yes", "Yes"), "yes"), (words.get("button.no", "No"), "no")]
    elif question.answer == "scale_1_5":
        options = [(str(n), str(n)) for n in range(1, 6)]
    elif question.answer == "choice":
        options = [(key.replace("_", " ").capitalize(), key) for key in question.choices]
    else:
        options = []
    return tuple((label, f"{question.key}={value}") for label, value in options)


_BUTTON = re.compile(r"^([a-z][a-z0-9_]{0,39})=([^=]{1,40})$")
# Fallbacks for a Flow built in code; a flow file gets these from its language's catalogue.
STALE_BUTTON = "That button was for an earlier question. "
RESUMED = "Thanks. Let's carry on with your check-in. "
INTERRUPTED = "interrupted"


def button_press(text: str) -> tuple[str, str] | None:
    """(question key, value) if `text` is a quick-reply press rather than typed words."""
    match = _BUTTON.match(text.strip())
    return (match.group(1), match.group(2)) if match else None


def render(text: str, first_name: str) -> str:
    return text.replace("{first_name}", first_name[:MAX_NAME_IN_PROMPT] or "there")


def _ask(flow: Flow, key: str, first_name: str, prefix: str = "") -> Send:
    question = flow.question(key)
    text = render(question.prompt, first_name)
    if prefix and gsm7_length(prefix + text) <= SINGLE_SEGMENT:
        text = prefix + text
    return Send(text, buttons_for(question, flow.words))


def step(flow: Flow, conv: ConversationState, event: Input, now: datetime) -> StepResult:
    """Advance one conversation by one input. Pure: `now` is only used to stamp effects."""
    del now  # reserved for time-dependent flows; kept so callers never read the clock here
    if isinstance(event, Start):
        conv = ConversationState(flow.name, flow.version, flow.start, {}, 0, False, event.first_name)
        return StepResult(conv, (_ask(flow, flow.start, event.first_name),))
    if conv.finished:
        return StepResult(conv, ())
    if conv.paused or isinstance(event, Pause | Resume):
        return _while_paused(flow, conv, event)
    if isinstance(event, Skip):
        return _move_on(flow, conv, None, [])
    if isinstance(event, Remind):
        if conv.reminded:
            return StepResult(conv, ())
        send = _ask(flow, conv.state, conv.first_name, prefix=flow.reminder_prefix)
        return StepResult(replace(conv, reminded=True), (send,))
    if isinstance(event, Expire):
        new_state = _fire(flow, conv.state, "expire")
        effects: list[Effect] = [Finished("missed")]
        if flow.missed:
            effects.insert(0, Send(render(flow.missed, conv.first_name)))
        return StepResult(replace(conv, state=new_state), tuple(effects))
    if isinstance(event, Cancel):
        return StepResult(replace(conv, state=_fire(flow, conv.state, "cancel")), (Finished("cancelled"),))
    return _answer(flow, conv, event.text)


def _while_paused(flow: Flow, conv: ConversationState, event: Input) -> StepResult:
    """A paused check-in asks nothing and reminds no one. It closes at expiry with the answers
    so far (outcome "interrupted", which is not a missed check-in), or carries on from the same
    question when the mentee asks (Resume). Replies while paused are not answers."""
    if isinstance(event, Pause):
        return StepResult(replace(conv, paused=True, reasks=0), ())
    if isinstance(event, Resume):
        if not conv.paused:
            return StepResult(conv, (_ask(flow, conv.state, conv.first_name),))
        send = _ask(flow, conv.state, conv.first_name,
                    prefix=flow.words.get("prefix.resumed", RESUMED))
        return StepResult(replace(conv, paused=False, reminded=True), (send,))
    if isinstance(event, Expire):
        return StepResult(replace(conv, state=_fire(flow, conv.state, "expire")), (Finished(INTERRUPTED),))
    if isinstance(event, Cancel):
        return StepResult(replace(conv, state=_fire(flow, conv.state, "cancel")), (Finished("cancelled"),))
    return StepResult(conv, ())


def _move_on(flow: Flow, conv: ConversationState, value: str | None,
             effects: list[Effect]) -> StepResult:
    """Leave the current question (answered with `value`, or skipped) and ask the next."""
    try:
        new_state = _fire(flow, conv.state, "answered", value=value)
    except MachineError as exc:  # a declaration bug validate_flow should have caught
        raise RuntimeError(f"flow {flow.name} cannot leave {conv.state}: {exc}") from exc
    conv = replace(conv, state=new_state, reasks=0)
    if new_state == END:
        effects.append(Send(render(flow.closing, conv.first_name)))
        effects.append(Finished("completed"))
    else:
        effects.append(_ask(flow, new_state, conv.first_name))
    return StepResult(conv, tuple(effects))


def _answer(flow: Flow, conv: ConversationState, text: str) -> StepResult:
    pressed = button_press(text)
    if pressed and pressed[0] in {q.key for q in flow.questions}:
        if pressed[0] != conv.state:  # a button on an earlier message: never answer this one with it
            stale = flow.words.get("prefix.stale_button", STALE_BUTTON)
            return StepResult(conv, (_ask(flow, conv.state, conv.first_name, prefix=stale),))
        text = pressed[1]
    question = flow.question(conv.state)
    parsed = parse_answer(question, text, flow.answer_language or flow.language)
    if parsed is None and conv.reasks == 0:
        hint = flow.reask.get(question.answer) or REASK_HINTS[question.answer]
        return StepResult(replace(conv, reasks=1), (Send(hint, buttons_for(question, flow.words)),))
    effects: list[Effect] = []
    value = parsed.value if parsed else None
    number = parsed.number if parsed else None
    # A second unreadable reply is kept as said and the check-in moves on: never nag twice.
    effects.append(RecordAnswer(question.key, text, value, number))
    for risk in question.risks:
        if value in risk.when:
            effects.append(RaiseRisk(risk.category, risk.severity, risk.evidence, question.key))
    if value in question.note_to_mentor:
        effects.append(NoteToMentor(question.note_to_mentor[value]))
    answers = {**conv.answers, question.key: value if value is not None else text}
    return _move_on(flow, replace(conv, answers=answers), value, effects)
