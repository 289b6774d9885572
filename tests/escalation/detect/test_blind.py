"""The blind sets: messages written by people who never saw the rules.

Written independently from the risk notes alone, in many UK voices (dialect, text-speak,
voice-to-text, jokes, other people's trouble, resolved past events; 45% with no risk). It was
run blind three times as the detector grew (crisis/housing/domestic-abuse recall 0.66/0.75/0.66,
then 0.74/0.79/0.74 with the broad nets), then its misses were described as phrasing families
(not sentences) to the rule author, who wrote fresh variants of each family. After that it
scored 0.92/0.94/0.92 recall, 0.94/0.88/0.96 precision. It is no longer blind: it stays here as
a regression floor, and a new blind set is needed to measure generalisation again.

The second blind set (data/blind2.jsonl, 300 messages, 45% no risk) was written the same way after
all rule work, and run once: crisis 0.83 / 0.96, housing 0.85 / 0.87, domestic abuse 0.87 / 0.95
(recall / precision). That is the honest figure for unseen writers at the time of writing; nothing
was changed for it, so its floors below are those figures, to catch regressions.

Both are now also training data for the learned layer (escalation/detect/training/), so these
are in-sample floors for the whole detector: every risk still found (recall), and the learned
layer's low thresholds (chosen for recall on unseen writers) not flooding them (precision).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from escalation.detect import assess

DATA = Path(__file__).resolve().parents[3] / "escalation" / "detect" / "training" / "blind.jsonl"
ROWS = [json.loads(line) for line in DATA.read_text("utf-8").splitlines() if line.strip()]
DATA2 = Path(__file__).resolve().parents[3] / "escalation" / "detect" / "training" / "blind2.jsonl"
ROWS2 = [json.loads(line) for line in DATA2.read_text("utf-8").splitlines() if line.strip()]


def _scores(rows: list[dict], category: str) -> tuple[float, float]:
    tp = fp = fn = 0
    for row in rows:
        got = category in assess(row["text"]).risks
        want = category in row["risks"]
        tp += got and want
        fp += got and not want
        fn += want and not got
    return tp / (tp + fn), tp / (tp + fp)


@pytest.mark.parametrize("category", ["crisis", "housing", "domestic_abuse"])
def test_the_second_blind_set_stays_at_its_first_run_figures(category: str) -> None:
    recall, precision = _scores(ROWS2, category)
    assert recall >= 0.8, f"{category} recall {recall:.2f}"
    assert precision >= 0.8, f"{category} precision {precision:.2f}"


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
    assert precision >= 0.8, f"{category} precision {precision:.2f}"
