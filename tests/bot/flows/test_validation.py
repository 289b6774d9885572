"""The start-up check: a flow with a typo, an unknown risk or wording a basic phone mangles never runs."""

from __future__ import annotations

import dataclasses

import pytest

from bot.flows import FLOWS, FlowError, get_flow, validate_all
from bot.flows.model import MAX_NAME_IN_PROMPT, AnswerRisk, Flow, Question, validate_flow


def tiny_flow(**changes: object) -> Flow:
    """A valid two-question flow; keyword arguments replace fields of its first question."""
    first = Question(key="mood", prompt="How are you, {first_name}? Reply 1 to 5.", answer="scale_1_5",
                     next="safe", branches={"1": "safe"})
    second = Question(key="safe", prompt="Do you feel safe? Reply YES or NO.", answer="yes_no",
                      risks=(AnswerRisk(("no",), "domestic_abuse", "concern", "said not safe"),))
    return Flow("tiny", 1, (dataclasses.replace(first, **changes), second), closing="Thanks.")


def problems_of(flow: Flow) -> str:
    with pytest.raises(FlowError) as caught:
        validate_flow(flow)
    return str(caught.value)


def test_the_shipped_flows_pass() -> None:
    assert FLOWS, "at least the weekly check-in ships"
    validate_all()
    for flow in FLOWS.values():
        validate_flow(flow)


def test_a_valid_flow_passes() -> None:
    validate_flow(tiny_flow())


def test_an_unknown_flow_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(FlowError, match="unknown flow 'wekly'.*weekly"):
        get_flow("wekly")


def test_a_next_naming_an_unknown_state_fails() -> None:
    assert "tiny.mood: next names unknown state 'saef'" in problems_of(tiny_flow(next="saef"))


def test_a_branch_naming_an_unknown_state_fails() -> None:
    message = problems_of(tiny_flow(branches={"1": "call_me"}))
    assert "tiny.mood: branch '1' names unknown state 'call_me'" in message


def test_an_unknown_answer_type_fails() -> None:
    assert "tiny.mood: unknown answer type 'scale_1_10'" in problems_of(tiny_flow(answer="scale_1_10"))


def test_a_choice_question_without_choices_fails() -> None:
    assert "a choice question needs choices" in problems_of(tiny_flow(answer="choice"))


def test_an_unknown_risk_fails() -> None:
    risky = tiny_flow(risks=(AnswerRisk(("1",), "gambling", "concern", "low mood"),))
    assert "tiny.mood: unknown risk 'gambling'" in problems_of(risky)


def test_an_unknown_severity_fails() -> None:
    risky = tiny_flow(risks=(AnswerRisk(("1",), "crisis", "critical", "low mood"),))
    assert "tiny.mood: unknown severity 'critical'" in problems_of(risky)


def test_repeated_question_keys_fail() -> None:
    flow = tiny_flow()
    twice = dataclasses.replace(flow, questions=(flow.questions[0], flow.questions[0]))
    assert "question keys repeat" in problems_of(twice)


def test_a_flow_with_no_questions_fails() -> None:
    assert "has no questions" in problems_of(Flow("empty", 1, (), closing="Thanks."))


@pytest.mark.parametrize(("prompt", "culprit"), [
    ("How\u2019s your week? Reply 1 to 5.", "\u2019"),       # a curly apostrophe from a word processor
    ("How are you? \U0001F642 Reply 1 to 5.", "\U0001F642"),  # an emoji
    ("\u201cHow are you?\u201d Reply 1 to 5.", "\u201c"),
])
def test_wording_outside_gsm7_fails_naming_the_character(prompt: str, culprit: str) -> None:
    message = problems_of(tiny_flow(prompt=prompt))
    assert "tiny.mood: characters outside GSM-7" in message
    assert culprit in message


def test_a_prompt_longer_than_one_sms_fails_with_its_length() -> None:
    message = problems_of(tiny_flow(prompt="x" * 161))
    assert "tiny.mood: 161 characters, longer than one SMS (160)" in message


def test_a_prompt_is_measured_with_the_longest_first_name_it_may_carry() -> None:
    # 155 characters as written, but a 20-character name makes it 155 - 12 + 20 = 163.
    prompt = "Hi {first_name}, " + "y" * (155 - len("Hi {first_name}, "))
    assert len(prompt) == 155 and len(prompt.replace("{first_name}", "Sam")) <= 160
    message = problems_of(tiny_flow(prompt=prompt))
    assert f"{155 - len('{first_name}') + MAX_NAME_IN_PROMPT} characters, longer than one SMS" in message


def test_gsm7_extension_characters_count_double() -> None:
    # "{", "}", "[", "]", "~", "|", "^", "\\" and the euro sign take two GSM-7 characters each.
    assert "longer than one SMS" in problems_of(tiny_flow(prompt="[]" * 40 + "~"))
    validate_flow(tiny_flow(prompt="[]" * 40))


def test_the_closing_and_missed_messages_are_checked_too() -> None:
    flow = dataclasses.replace(tiny_flow(), closing="Ta \U0001F44D", missed="z" * 200)
    message = problems_of(flow)
    assert "tiny.closing: characters outside GSM-7" in message
    assert "tiny.missed: 200 characters" in message


def test_every_problem_is_listed_at_once() -> None:
    flow = tiny_flow(next="nowhere", answer="essay")
    message = problems_of(flow)
    assert "unknown state 'nowhere'" in message and "unknown answer type 'essay'" in message
