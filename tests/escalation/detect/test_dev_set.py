"""The development set (skips when the labelled set is not present).

The rules were tuned on it, the learned layer never trained on it. Every risk must be found;
precision is a floor under the measured 0.85 / 0.89 / 0.93 (README), the learned layer's
thresholds being set for recall on unseen writers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from escalation.detect import assess

DEV = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "risk-dev.jsonl"


@pytest.mark.skipif(not DEV.exists(), reason=f"labelled dev set not present at {DEV}")
def test_recall_and_precision_targets_on_the_dev_set() -> None:
    rows = [json.loads(line) for line in DEV.read_text("utf-8").splitlines() if line.strip()]
    got = [assess(r["text"]).risks for r in rows]
    for cat in ("crisis", "housing", "domestic_abuse"):
        tp = sum(cat in r["risks"] and cat in g for r, g in zip(rows, got))
        fn = sum(cat in r["risks"] and cat not in g for r, g in zip(rows, got))
        fp = sum(cat not in r["risks"] and cat in g for r, g in zip(rows, got))
        assert tp / (tp + fn) >= 0.97, cat
        assert tp / (tp + fp) >= 0.8, cat
