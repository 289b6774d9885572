"""Pausing a check-in after a crisis disclosure, carrying on, and skipping a question (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from dataclasses import replace

from bot.engine import (
    Cancel, ConversationState, Expire, Finished, Pause, RecordAnswer, Remind, Reply, Resume, Send, Skip,
    step,
)
from bot.engine.core import CANCELLED, EXPIRED, RESUMED
from bot.flows import WEEKLY_CHECKIN as FLOW

NOW = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)


def at(state: str, **answers: str) -> ConversationState:
    return ConversationState(FLOW.name, FLOW.version, state, dict(answers), 0, False, "Sam")


def paused_at(state: str) -> ConversationState:
    return step(FLOW, at(state, mood="3"), Pause(), NOW).state


def test_pause_sends_nothing_and_keeps_the_question_and_answers() -> None:
    result = step(FLOW, at("sleep", mood="3"), Pause(), NOW)
    assert result.effects == ()
    assert (result.state.state, result.state.answers, result.state.paused) == ("sleep", {"mood": "3"}, True)


def test_a_paused_check_in_takes_no_answer_and_sends_no_reminder() -> None:
    conv = paused_at("sleep")
    assert step(FLOW, conv, Reply("4"), NOW).effects == ()
    assert step(FLOW, conv, Remind(), NOW).effects == ()


def test_a_paused_check_in_closes_at_expiry_as_interrupted_without_the_missed_text() -> None:
    flow = replace(FLOW, missed="Sorry we missed you.")
    result = step(flow, paused_at("sleep"), Expire(), NOW)
    assert result.state.state == EXPIRED
    assert result.effects == (Finished("interrupted"),)


def test_a_paused_check_in_can_still_be_cancelled() -> None:
    result = step(FLOW, paused_at("sleep"), Cancel(), NOW)
    assert result.state.state == CANCELLED and result.effects == (Finished("cancelled"),)


def test_resume_asks_the_same_question_again_and_answers_count_after_it() -> None:
    result = step(FLOW, paused_at("sleep"), Resume(), NOW)
    [send] = result.effects
    assert isinstance(send, Send) and send.text.startswith(RESUMED) and "sleeping" in send.text
    assert not result.state.paused
    after = step(FLOW, result.state, Reply("4"), NOW)
    assert any(isinstance(e, RecordAnswer) and e.question == "sleep" for e in after.effects)


def test_an_unpaused_check_in_answers_as_before() -> None:
    result = step(FLOW, at("sleep", mood="3"), Reply("4"), NOW)
    assert any(isinstance(e, RecordAnswer) for e in result.effects)


def test_skip_moves_on_without_recording_an_answer() -> None:
    result = step(FLOW, at("housing_council", mood="3"), Skip(), NOW)
    assert not any(isinstance(e, RecordAnswer) for e in result.effects)
    assert result.state.state == "safe_home" and "housing_council" not in result.state.answers
    [send] = result.effects
    assert isinstance(send, Send) and "feel safe" in send.text


def test_skipping_the_last_question_closes_the_check_in() -> None:
    result = step(FLOW, at("anything_else", mood="4"), Skip(), NOW)
    assert result.effects[-1] == Finished("completed")
