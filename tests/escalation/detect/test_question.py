"""A reply inside a check-in is judged with the question it answers (the learned layer's
question block), and a bare answer is still left to the rules and the flow."""

from __future__ import annotations

import pytest

from escalation.detect import DEFAULT, assess, rules_only

SAFE_TONIGHT = "Do you have somewhere safe to stay tonight? Reply YES or NO."
MONEY = "Any worries about money this week?"


def test_an_unsure_reply_about_where_to_stay_is_housing_only_after_the_question_that_asks_it() -> None:
    reply = "not sure where yet"
    assert "housing" in assess(reply, SAFE_TONIGHT).risks
    assert "housing" not in assess(reply).risks
    assert "housing" not in assess(reply, MONEY).risks
    assert rules_only().assess(reply, SAFE_TONIGHT).risks == []  # the model found it, not a rule


def test_the_evidence_names_the_model_for_a_finding_the_question_made() -> None:
    [finding] = [f for f in assess("not sure where yet", SAFE_TONIGHT).findings if f.category == "housing"]
    assert finding.rule_id == "model.housing" and DEFAULT.model.label in finding.evidence


@pytest.mark.parametrize("reply", ["yes", "no", "YES x", "nah mate", "ok"])
def test_a_bare_answer_gets_nothing_from_the_model_whatever_the_question(reply: str) -> None:
    """One or two words are too little for the model (the flow scores a check-in's own
    answers); a question's words must not make "yes" to "somewhere safe?" a housing risk."""
    assert [f for f in assess(reply, SAFE_TONIGHT).findings if f.rule_id.startswith("model.")] == []


def test_crisis_and_abuse_do_not_weigh_the_question() -> None:
    model = DEFAULT.model
    assert model.question is not None
    text = DEFAULT._normalise("not sure where yet").text
    with_q, without = model.probabilities(text, DEFAULT._question(SAFE_TONIGHT)), model.probabilities(text)
    assert with_q["crisis"] == without["crisis"] and with_q["domestic_abuse"] == without["domestic_abuse"]
    assert with_q["housing"] > without["housing"]


def test_explain_shows_the_score_with_the_question() -> None:
    [trace] = [t for t in DEFAULT.explain("not sure where yet", SAFE_TONIGHT) if t.rule_id == "model.housing"]
    assert trace.kept and trace.score is not None and trace.score >= DEFAULT.model.thresholds["housing"]
