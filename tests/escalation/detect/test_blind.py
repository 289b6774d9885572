"""The blind set: 400 messages written by someone who never saw the rules.

Written independently from the risk notes alone, in many UK voices (dialect, text-speak,
voice-to-text, jokes, other people's trouble, resolved past events; 45% with no risk). It was
run blind three times as the detector grew (crisis/housing/domestic-abuse recall 0.66/0.75/0.66,
then 0.74/0.79/0.74 with the broad nets), then its misses were described as phrasing families
(not sentences) to the rule author, who wrote fresh variants of each family. After that it
scored 0.92/0.94/0.92 recall, 0.94/0.88/0.96 precision. It is no longer blind: it stays here as
a regression floor, and a new blind set is needed to measure generalisation again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from escalation.detect import assess

DATA = Path(__file__).parent / "data" / "blind.jsonl"
ROWS = [json.loads(line) for line in DATA.read_text("utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("category", ["crisis", "housing", "domestic_abuse"])
def test_the_blind_set_stays_above_its_floor(category: str) -> None:
    tp = fp = fn = 0
    for row in ROWS:
        got = category in assess(row["text"]).risks
        want = category in row["risks"]
        tp += got and want
        fp += got and not want
        fn += want and not got
    recall, precision = tp / (tp + fn), tp / (tp + fp)
    assert recall >= 0.9, f"{category} recall {recall:.2f}"
    assert precision >= 0.85, f"{category} precision {precision:.2f}"
