"""Combination rules: weaker cues that only mean risk together, in one sentence or message."""

from __future__ import annotations

import pytest

from escalation.detect import DEFAULT, Detector, rules_only
from escalation.detect.context import Context
from escalation.detect.ruleset import load_context, load_macros, parse_rules

MACROS = load_macros()
# The rules' own behaviour (the learned layer on top may add findings: see test_learned.py).
assess = rules_only().assess


def detector_for(rule: dict) -> Detector:
    assert DEFAULT is not None
    rules = parse_rules({"category": "crisis", "rule": [rule]}, MACROS)
    return Detector(rules, DEFAULT._normaliser, Context(load_context(), MACROS))


BASE = {"id": "crisis.test", "severity": "concern", "description": "test combination rule"}


def test_all_groups_must_be_found_in_the_same_sentence() -> None:
    d = detector_for({**BASE, "all": [["pills"], ["lined up"]]})
    assert d.assess("pills all lined up").risks == ["crisis"]
    assert d.assess("pills. the kids lined up for the bus").risks == []
    assert d.assess("lined up the pills").risks == ["crisis"]    # order does not matter


def test_within_message_lets_the_cues_sit_in_different_sentences() -> None:
    d = detector_for({**BASE, "within": "message", "all": [["love you all"], ["sorry"]]})
    assert d.assess("love you all. so sorry").risks == ["crisis"]
    assert d.assess("love you all. see you sunday").risks == []


def test_the_evidence_covers_every_cue() -> None:
    d = detector_for({**BASE, "all": [["pills"], ["lined up"]]})
    assert d.assess("my Pills are all Lined Up now").findings[0].evidence == "Pills are all Lined Up"


def test_context_is_judged_on_the_main_cue() -> None:
    d = detector_for({**BASE, "all": [["pills"], ["lined up"]]})
    assert d.assess("my mate's pills are lined up on his shelf").risks == []


@pytest.mark.parametrize("bad", [
    {**BASE, "all": [["pills"]]},                                  # one group is not a combination
    {**BASE, "all": [["pills"], []]},                              # an empty group
    {**BASE, "all": [["pills"], ["ready"]], "patterns": ["x"]},    # both forms at once
    {**BASE, "all": [["pills"], ["ready"]], "within": "paragraph"},
])
def test_malformed_combination_rules_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        parse_rules({"category": "crisis", "rule": [bad]}, MACROS)


def test_shipped_combination_rules_fire_together_but_not_apart() -> None:
    assert "crisis" in assess("took my whole script in one go").risks
    assert assess("took the bins out in one go").risks == []
    assert "housing" in assess("im in a car, nowhere else").risks
    assert assess("im in the car outside the jobcentre").risks == []
