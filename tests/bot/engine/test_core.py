"""The pure conversation engine: (state, input, now) -> new state and effects, for the weekly flow."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from bot.engine import (
    Cancel,
    ConversationState,
    Expire,
    Finished,
    NoteToMentor,
    RaiseRisk,
    RecordAnswer,
    Remind,
    Reply,
    Send,
    Start,
    StepResult,
    step,
)
from bot.engine.core import CANCELLED, EXPIRED, machine_for
from bot.flows import WEEKLY_CHECKIN as FLOW
from bot.flows.model import END, REASK_HINTS, Flow, Question
from bot.gsm7 import gsm7_length

NOW = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)


def begin(first_name: str = "Sam") -> StepResult:
    return step(FLOW, None, Start(first_name), NOW)  # type: ignore[arg-type]


def reply(conv: ConversationState, text: str) -> StepResult:
    return step(FLOW, conv, Reply(text), NOW)


def run(*replies: str, first_name: str = "Sam") -> tuple[ConversationState, list[StepResult]]:
    """Start a check-in and feed it replies; returns the final state and every step's result."""
    result = begin(first_name)
    results = [result]
    for text in replies:
        result = reply(result.state, text)
        results.append(result)
    return result.state, results


def of_type(result: StepResult, kind: type) -> list:
    return [e for e in result.effects if isinstance(e, kind)]


def sent_texts(result: StepResult) -> list[str]:
    return [e.text for e in of_type(result, Send)]


def at(state: str, **answers: str) -> ConversationState:
    """A conversation restored mid-way, as the service rebuilds it from its stored row."""
    return ConversationState(FLOW.name, FLOW.version, state, dict(answers), 0, False, "Sam")


# ---- starting ---------------------------------------------------------------------------------
def test_start_asks_the_first_question_by_first_name_with_scale_buttons() -> None:
    result = begin("Sam")
    assert result.state.state == "mood"
    assert result.state.answers == {} and result.state.reasks == 0 and not result.state.reminded
    (send,) = result.effects
    assert isinstance(send, Send)
    assert send.text.startswith("Hi Sam, it's your check-in.")
    assert [value for _, value in send.buttons] == ["mood=1", "mood=2", "mood=3", "mood=4", "mood=5"]


def test_a_long_name_is_cut_so_the_prompt_still_fits_one_sms() -> None:
    result = begin("Maximilian-Alexander Bartholomew")
    text = sent_texts(result)[0]
    assert "Maximilian-Alexander Bartholomew" not in text
    assert text.startswith("Hi Maximilian-Alexand")
    assert gsm7_length(text) <= 160


def test_no_first_name_greets_them_as_there() -> None:
    assert sent_texts(begin(""))[0].startswith("Hi there,")


def test_the_machine_for_a_flow_is_built_once() -> None:
    assert machine_for(FLOW) is machine_for(FLOW)


# ---- the whole flow and its branches -----------------------------------------------------------
def test_a_good_week_goes_straight_through_and_closes() -> None:
    final, results = run("4", "3", "yes", "yes", "no")
    # mood 4 skips the offer of a call; a safe place skips the housing questions
    assert [r.state.state for r in results] == ["mood", "sleep", "safe_place", "safe_home",
                                                "anything_else", END]
    assert final.state == END and final.finished
    assert final.answers == {"mood": "4", "sleep": "3", "safe_place": "yes", "safe_home": "yes",
                             "anything_else": "no"}
    last = results[-1]
    assert sent_texts(last) == ["Thanks Sam, that's it for this week. Your mentor will see your "
                                "answers. Text CHECKIN to talk any time, or HELP for help."]
    assert of_type(last, Finished) == [Finished("completed")]
    assert not any(of_type(r, RaiseRisk) for r in results)


def test_each_answer_is_recorded_typed_with_what_was_said() -> None:
    _, results = run("4/5", "3 i guess")
    assert of_type(results[1], RecordAnswer) == [RecordAnswer("mood", "4/5", "4", 4)]
    assert of_type(results[2], RecordAnswer) == [RecordAnswer("sleep", "3 i guess", "3", 3)]


@pytest.mark.parametrize("mood", ["1", "2", "two"])
def test_a_low_mood_branches_to_offering_a_call(mood: str) -> None:
    state, results = run(mood)
    assert state.state == "want_call"
    assert sent_texts(results[-1]) == [FLOW.question("want_call").prompt]


def test_asking_for_a_call_sends_a_note_to_the_mentor_then_carries_on_to_sleep() -> None:
    state, results = run("1", "yes please")
    assert state.state == "sleep"
    assert of_type(results[-1], NoteToMentor) == [NoteToMentor("asked for a call (low mood this week)")]


def test_declining_a_call_sends_no_note() -> None:
    state, results = run("2", "nah")
    assert state.state == "sleep"
    assert of_type(results[-1], NoteToMentor) == []


def test_no_safe_place_tonight_raises_urgent_housing_and_asks_about_consent() -> None:
    result = reply(at("safe_place"), "no")
    assert result.state.state == "housing_consent"
    assert of_type(result, RaiseRisk) == [
        RaiseRisk("housing", "urgent", "said no to somewhere safe to stay tonight", "safe_place")]


def test_not_sure_of_a_safe_place_raises_a_housing_concern() -> None:
    result = reply(at("safe_place"), "not sure")
    assert result.state.state == "housing_consent"
    (risk,) = of_type(result, RaiseRisk)
    assert (risk.category, risk.severity) == ("housing", "concern")


def test_a_negated_yes_about_a_safe_place_is_still_a_housing_risk() -> None:
    result = reply(at("safe_place"), "I have not")
    assert result.state.state == "housing_consent"
    assert [r.severity for r in of_type(result, RaiseRisk)] == ["urgent"]


def test_housing_consent_yes_asks_which_council_then_goes_on_to_safe_home() -> None:
    result = reply(at("housing_consent"), "yes")
    assert result.state.state == "housing_council"
    result = reply(result.state, "Leeds")
    assert result.state.state == "safe_home"
    assert of_type(result, RecordAnswer) == [RecordAnswer("housing_council", "Leeds", "Leeds", None)]


def test_housing_consent_no_goes_straight_to_safe_home() -> None:
    assert reply(at("housing_consent"), "no").state.state == "safe_home"


def test_not_feeling_safe_at_home_raises_a_domestic_abuse_concern() -> None:
    result = reply(at("safe_home"), "No.")
    assert result.state.state == "anything_else"
    assert of_type(result, RaiseRisk) == [RaiseRisk(
        "domestic_abuse", "concern", "said they do not feel safe where they live", "safe_home")]


def test_feeling_safe_at_home_raises_nothing() -> None:
    assert of_type(reply(at("safe_home"), "yeh"), RaiseRisk) == []


def test_the_last_message_is_kept_as_typed() -> None:
    result = reply(at("anything_else", mood="3"), "can you ring me friday")
    assert result.state.answers == {"mood": "3", "anything_else": "can you ring me friday"}
    assert result.state.state == END


# ---- one friendly re-ask ------------------------------------------------------------------------
def test_an_unreadable_answer_is_asked_again_once_kindly() -> None:
    result = reply(at("mood"), "six")
    assert result.state.state == "mood" and result.state.reasks == 1
    assert sent_texts(result) == [REASK_HINTS["scale_1_5"]]
    assert of_type(result, RecordAnswer) == []


def test_a_second_unreadable_answer_is_kept_as_said_and_the_check_in_moves_on() -> None:
    first = reply(at("mood"), "6")
    second = reply(first.state, "3 or 4")
    assert second.state.state == "sleep" and second.state.reasks == 0
    assert of_type(second, RecordAnswer) == [RecordAnswer("mood", "3 or 4", None, None)]
    assert second.state.answers["mood"] == "3 or 4"
    assert sent_texts(second) == [FLOW.question("sleep").prompt]


def test_the_re_ask_allowance_resets_for_each_question() -> None:
    state, results = run("what", "4", "hmm")
    assert state.state == "sleep" and state.reasks == 1
    assert sent_texts(results[-1]) == [REASK_HINTS["scale_1_5"]]


def test_a_yes_no_re_ask_says_yes_or_no_and_offers_buttons() -> None:
    result = reply(at("safe_home"), "eh")
    (send,) = of_type(result, Send)
    assert send.text == REASK_HINTS["yes_no"]
    assert send.buttons == (("Yes", "safe_home=yes"), ("No", "safe_home=no"))


def test_a_button_pressed_on_the_current_question_answers_it() -> None:
    result = reply(at("safe_home"), "safe_home=no")
    (answer,) = of_type(result, RecordAnswer)
    assert (answer.question, answer.value, answer.raw_text) == ("safe_home", "no", "no")


def test_a_button_from_an_earlier_question_is_not_taken_as_this_answer() -> None:
    """Pressing "5" again on the old mood message must not become the sleep answer."""
    result = reply(at("sleep"), "mood=5")
    assert of_type(result, RecordAnswer) == []
    assert result.state.state == "sleep" and result.state.reasks == 0
    (send,) = of_type(result, Send)
    assert "sleeping" in send.text


# ---- timers: remind once, expire, cancel --------------------------------------------------------
def test_a_reminder_repeats_the_current_question_once_only() -> None:
    state = begin().state
    first = step(FLOW, state, Remind(), NOW)
    assert first.state.reminded and first.state.state == "mood"
    assert sent_texts(first) == ["Reminder: " + sent_texts(begin())[0]]
    second = step(FLOW, first.state, Remind(), NOW)
    assert second.effects == () and second.state == first.state


def test_a_reminder_that_would_not_fit_one_sms_drops_the_prefix() -> None:
    prompt = "Please tell us " + "how things are " * 9 + "this week?"
    assert gsm7_length(prompt) <= 160 < gsm7_length("Reminder: " + prompt)  # the premise
    flow = Flow("long_prompt", 1, (Question("q", prompt, "free_text"),), closing="Thanks.")
    state = step(flow, None, Start("Sam"), NOW).state  # type: ignore[arg-type]
    assert sent_texts(step(flow, state, Remind(), NOW)) == [prompt]


def test_expiry_marks_the_check_in_missed() -> None:
    result = step(FLOW, at("sleep", mood="4"), Expire(), NOW)
    assert result.state.state == EXPIRED and result.state.finished
    assert result.effects == (Finished("missed"),)  # the weekly flow sends nothing when missed
    assert result.state.answers == {"mood": "4"}


def test_cancel_finishes_it_as_cancelled_without_a_message() -> None:
    result = step(FLOW, at("safe_home"), Cancel("opted out"), NOW)
    assert result.state.state == CANCELLED
    assert result.effects == (Finished("cancelled"),)


@pytest.mark.parametrize("final", [END, EXPIRED, CANCELLED])
@pytest.mark.parametrize("event", [Reply("yes"), Reply("4"), Remind(), Expire(), Cancel()])
def test_a_finished_conversation_ignores_every_input(final: str, event: object) -> None:
    conv = at(final, mood="4")
    result = step(FLOW, conv, event, NOW)  # type: ignore[arg-type]
    assert result.state == conv and result.effects == ()


def test_step_is_pure_the_same_input_gives_the_same_result() -> None:
    conv = at("safe_place", mood="4", sleep="3")
    assert reply(conv, "no") == reply(conv, "no")
    assert conv.state == "safe_place" and conv.answers == {"mood": "4", "sleep": "3"}


# ---- the core stays pure ------------------------------------------------------------------------
def test_the_engine_imports_no_database_or_channel_library() -> None:
    code = (
        "import sys, bot.engine, bot.flows, bot.engine.keywords, bot.engine.answers\n"
        "banned = ('sqlalchemy', 'alembic', 'psycopg', 'twilio', 'telegram', 'httpx', 'starlette')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(banned)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
