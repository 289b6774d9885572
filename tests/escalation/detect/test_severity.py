"""Severity that matches the words, and when a crisis is an emergency (999 / A&E first).

These are the rules' severity rules, so they are pinned on the rules alone.
"""

from __future__ import annotations

import pytest

from escalation.detect import rules_only


def crisis_severity(text: str) -> str | None:
    return rules_only().assess(text).severity().get("crisis")


@pytest.mark.parametrize("text", [
    "cut my arms last night",
    "burnt myself again with the lighter",
    "been cutting again",
    "i want to die, been cutting myself again",
    "i have saved up my tablets and i know when",
    "got the rope, i know when",
])
def test_self_harm_done_a_plan_with_means_or_a_wish_to_die_with_self_harm_is_urgent(text: str) -> None:
    assert crisis_severity(text) == "urgent"


@pytest.mark.parametrize("text", [
    "i have urges to cut myself",
    "i want to die",
    "wish i was dead",
])
def test_urges_and_a_passive_wish_alone_stay_a_concern(text: str) -> None:
    assert crisis_severity(text) == "concern"


@pytest.mark.parametrize("text", [
    "ive taken all my tablets",
    "took an overdose two hours ago",
    "i just took the whole packet of paracetamol",
])
def test_an_overdose_already_taken_is_an_emergency(text: str) -> None:
    assessment = rules_only().assess(text)
    assert assessment.emergency and assessment.severity()["crisis"] == "urgent"


@pytest.mark.parametrize("text", [
    "took an overdose last year, im doing much better",
    "i want to die",
    "thinking of taking all my tablets",
    "my cousin overdosed years ago, he's clean now",
])
def test_an_overdose_in_the_past_a_plan_or_someone_elses_is_not_an_emergency(text: str) -> None:
    assert not rules_only().assess(text).emergency
