"""Every rule in the shipped rule files matches its own examples and ignores its counter-examples."""

from __future__ import annotations

import pytest

from escalation.detect import DEFAULT, assess
from escalation.detect.ruleset import CATEGORIES, SEVERITIES, load_rules

RULES = load_rules()


def test_the_shipped_rules_load_into_the_default_detector() -> None:
    assert DEFAULT is not None
    assert {r.category for r in RULES} == set(CATEGORIES)


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_is_documented_for_a_safeguarding_lead(rule) -> None:
    assert rule.id.split(".")[0] in {"crisis", "housing", "da"}
    assert rule.severity in SEVERITIES
    assert len(rule.description) > 15
    assert rule.matches, "every rule needs example sentences it must match"
    assert rule.ignores, "every rule needs example sentences it must not match"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_fires_on_each_of_its_examples(rule) -> None:
    for sentence in rule.matches:
        fired = {f.rule_id: f for f in assess(sentence).findings}
        assert rule.id in fired, f"{rule.id} should match {sentence!r}"
        assert fired[rule.id].category == rule.category


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_stays_quiet_on_each_of_its_counter_examples(rule) -> None:
    for sentence in rule.ignores:
        fired = {f.rule_id for f in assess(sentence).findings}
        assert rule.id not in fired, f"{rule.id} should not match {sentence!r}"
