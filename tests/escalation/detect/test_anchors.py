"""Anchor pre-checks only ever save time: a pattern that matches a message is always run on it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from escalation.detect import rules_only
from escalation.detect.anchors import required_sets
from escalation.detect.detector import _TOKEN

DATA = Path(__file__).resolve().parents[3] / "escalation" / "detect" / "training"
DETECTOR = rules_only()
assert DETECTOR is not None


def _satisfied(clause: frozenset[str], words: set[str]) -> bool:
    return any(w == item[1:] if item[0] == "=" else w.startswith(item) for item in clause for w in words)


def _texts() -> list[str]:
    texts = [t for rule in DETECTOR.rules for t in (*rule.matches, *rule.ignores)]
    texts += [json.loads(line)["text"] for line in (DATA / "challenge.jsonl").read_text("utf-8").splitlines() if line]
    return [DETECTOR._normaliser.normalise(t).text for t in texts]


def test_every_rule_pattern_that_matches_a_message_is_among_its_candidates() -> None:
    """Brute force over every rule pattern and every example and challenge message."""
    missed = []
    for text in _texts():
        candidates, _ = DETECTOR._candidates(text)
        chosen = set(candidates)
        for n, (rule, part) in enumerate(DETECTOR._units):
            if n not in chosen and part.search(text):
                missed.append((rule.id, text))
    assert missed == []


def test_every_required_word_set_of_a_matching_pattern_is_in_the_message() -> None:
    """Rule patterns and idioms: each required set is met whenever the pattern matches."""
    patterns: list[str] = [part.pattern for _, part in DETECTOR._units]
    patterns += [p.pattern for p in DETECTOR._context.idiom_patterns]
    compiled = [(re.compile(p), required_sets(p)) for p in patterns]
    broken = []
    for text in _texts():
        words = set(_TOKEN.findall(text))
        for regex, sets in compiled:
            if sets and regex.search(text) and not all(_satisfied(s, words) for s in sets):
                broken.append((regex.pattern[:60], text))
    assert broken == []


def test_short_words_are_required_whole_and_only_where_a_token_surely_ends() -> None:
    assert frozenset({"=me", "=us"}) in required_sets(r"(?<![\w'])(?:hits (me|us))(?![\w'])")
    # "he's" may follow "he": no whole-word "he" is required.
    assert all("=he" not in s for s in required_sets(r"(?<![\w'])(?:he('s)? hit me)(?![\w'])"))
    # \W can match an apostrophe, so the word after it may be part of a longer token ("'no").
    assert all("=no" not in s for s in required_sets(r"^\W*no point"))
    assert required_sets(r"(?<![\w'])(?:cas ?3)(?![\w'])") == (frozenset({"cas"}),)


def test_everyday_replies_that_share_single_words_with_rules_run_no_rule_pattern() -> None:
    """Each shares a word with some rule ("move", "good", "bank") but never all the words it needs."""
    for text in ("can we move to 3pm?", "all good mate", "skint til payday but managing, food bank helped"):
        candidates, _ = DETECTOR._candidates(text)
        assert candidates == [], text


def test_the_shipped_anchor_cache_holds_every_pattern_of_the_shipped_rules() -> None:
    """A stale cache only slows loading (missing patterns are worked out), but it should be
    current: `python -m escalation.detect.anchors` rewrites it after a rule change."""
    from escalation.detect import anchors

    patterns = anchors.shipped_patterns()
    assert anchors.cache_entries(patterns) == {k: v for k, v in anchors._cache().items() if k in
                                              {anchors._key(p) for p in patterns}}
    assert {anchors._key(p) for p in patterns} <= set(anchors._cache())


def test_a_pattern_missing_from_the_cache_is_worked_out_not_skipped() -> None:
    from escalation.detect import anchors

    pattern = r"(?<![\w'])(?:zzkeyword\s+nowhere)(?![\w'])"
    assert anchors._key(pattern) not in anchors._cache()
    assert anchors.anchors_for(pattern) == frozenset({"zzkeyword"})


def test_every_shipped_pattern_compiles_when_the_detector_is_checked() -> None:
    from escalation.detect.detector import rules_detector

    rules_detector().check()  # raises ValueError naming the rule on a bad pattern
