"""Any failure inside detection flags the message for a human instead of passing it as safe."""

from __future__ import annotations

import re
from typing import Any

import pytest

from escalation.detect import DEFAULT, Detector, assess
from escalation.detect.context import Context
from escalation.detect.ruleset import Rule, load_context, load_macros


class ExplodingPattern:
    """A rule pattern that crashes when used, as a corrupted rule might."""

    pattern = r"(?<![\w'])(?:evicted)(?![\w'])"

    def finditer(self, string: str) -> Any:
        raise RuntimeError("rule crashed")


def build(rules: list[Rule]) -> Detector:
    assert DEFAULT is not None
    return Detector(rules, DEFAULT._normaliser, Context(load_context(), load_macros()))


def good_rule() -> Rule:
    return Rule(id="test.ok", category="crisis", severity="concern", description="test rule",
                regex=re.compile(r"(?<![\w'])(?:want to die)(?![\w'])"))


def test_a_rule_that_raises_gives_an_urgent_review_finding() -> None:
    bad = Rule(id="test.bad", category="housing", severity="concern", description="crashes",
               regex=ExplodingPattern())
    detector = build([good_rule(), bad])
    result = detector.assess("got evicted and i want to die")
    assert result.failed
    assert [(f.category, f.severity) for f in result.findings] == [("review", "urgent")]


def test_a_detector_built_from_an_explicit_rule_list_works_normally() -> None:
    detector = build([good_rule()])
    assert detector.assess("i want to die").risks == ["crisis"]
    assert not detector.assess("all good").failed


def test_a_detector_with_no_rules_is_refused() -> None:
    with pytest.raises(ValueError):
        build([])


@pytest.mark.parametrize("bad_input", [None, 42, b"bytes", ["list"]])
def test_assess_never_raises_on_bad_input(bad_input: Any) -> None:
    result = assess(bad_input)  # type: ignore[arg-type]
    assert result.failed and result.severity() == {"review": "urgent"}


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01", "🙂" * 500, "a" * 20000, "İstanbul 'quoted'"])
def test_odd_text_is_checked_without_failing(text: str) -> None:
    assert not assess(text).failed


def test_a_broken_normaliser_fails_closed() -> None:
    assert DEFAULT is not None

    class BrokenNormaliser:
        def normalise(self, text: str) -> Any:
            raise UnicodeError("boom")

    detector = Detector([good_rule()], BrokenNormaliser(), Context(load_context(), load_macros()))  # type: ignore[arg-type]
    assert detector.assess("hello").failed
