"""The challenge set: 772 messages written fresh, in many voices, to measure generalisation.

The set (data/challenge.jsonl, fields ``text`` and ``risks``) was written before any rule was
changed for it, imagining UK adults on probation writing in text-speak, slang, dialect and
misspellings, with idioms, negations, other people's trouble and resolved past events, and
about 45% messages with no risk that share words with risky ones. It is split 60/40 into
"tune" and "holdout" by a hash of each text; rules were tuned on "tune" only, then the
holdout was run once. A second fresh set (data/challenge_fresh.jsonl, 274 messages) was
written after that and run once before its misses were fixed. This test runs both whole sets
so any regression shows; ``benchmarks/risk_eval.py --challenge --split K`` and ``--fresh``
report each with every miss listed.

All of these sets are now training data for the learned layer: the floors are in-sample.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from escalation.detect import assess

DATA = Path(__file__).resolve().parents[3] / "escalation" / "detect" / "training" / "challenge.jsonl"
FRESH = Path(__file__).resolve().parents[3] / "escalation" / "detect" / "training" / "challenge_fresh.jsonl"
# Round four: phrasing families a blind set (written by someone else) missed, written fresh in
# many variants before any rule changed; its holdout split was run once, then fixed.
FAMILIES = Path(__file__).resolve().parents[3] / "escalation" / "detect" / "training" / "challenge_families.jsonl"
CATEGORIES = ("crisis", "housing", "domestic_abuse")


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


ROWS = load(DATA)
FRESH_ROWS = load(FRESH)
FAMILY_ROWS = load(FAMILIES)


def split_of(text: str) -> str:
    """The same 60/40 split as benchmarks/risk_eval.py (challenge_split)."""
    return "tune" if int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16) % 10 < 6 else "holdout"


def figures(rows: list[dict]) -> dict[str, tuple[float, float, list[str]]]:
    """Recall, precision and the missed texts per category."""
    got = [assess(r["text"]).risks for r in rows]
    out = {}
    for cat in CATEGORIES:
        tp = sum(cat in r["risks"] and cat in g for r, g in zip(rows, got))
        fp = sum(cat not in r["risks"] and cat in g for r, g in zip(rows, got))
        missed = [r["text"] for r, g in zip(rows, got) if cat in r["risks"] and cat not in g]
        out[cat] = (tp / (tp + len(missed)), tp / max(tp + fp, 1), missed)
    return out


def test_the_challenge_set_is_well_formed_and_big_enough() -> None:
    assert len(ROWS) >= 400
    assert len({r["text"] for r in ROWS}) == len(ROWS), "no duplicate messages"
    labels = Counter(c for r in ROWS for c in r["risks"])
    assert set(labels) == set(CATEGORIES) and min(labels.values()) >= 100
    assert 0.35 <= sum(not r["risks"] for r in ROWS) / len(ROWS) <= 0.5, "about 40% no-risk messages"
    parts = Counter(split_of(r["text"]) for r in ROWS)
    assert 0.55 <= parts["tune"] / len(ROWS) <= 0.65


@pytest.mark.parametrize("category", CATEGORIES)
def test_recall_and_precision_on_the_whole_challenge_set(category: str) -> None:
    recall, precision, missed = figures(ROWS)[category]
    assert recall >= 0.9, f"{category} recall {recall:.3f}; missed: {missed}"
    assert precision >= 0.8, f"{category} precision {precision:.3f}"


@pytest.mark.parametrize("category", CATEGORIES)
def test_recall_and_precision_on_the_fresh_set(category: str) -> None:
    recall, precision, missed = figures(FRESH_ROWS)[category]
    assert recall >= 0.9, f"{category} recall {recall:.3f}; missed: {missed}"
    # This set is in training, so these are floors against regressions, not measures. Abuse is
    # 0.78: model v15 fits abuse with stronger regularisation (C 3, chosen because grouped CV
    # precision at 0.97 recall rose 0.685 -> 0.708), which leaves its scores on training texts
    # less extreme; its precision here fell from 0.83 (v14) to 0.79.
    floor = 0.78 if category == "domestic_abuse" else 0.8
    assert precision >= floor, f"{category} precision {precision:.3f}"


@pytest.mark.parametrize("category", CATEGORIES)
def test_recall_and_precision_on_the_round_four_family_set(category: str) -> None:
    recall, precision, missed = figures(FAMILY_ROWS)[category]
    assert recall >= 0.95, f"{category} recall {recall:.3f}; missed: {missed}"
    # Since v14 grouped CV keeps 0.97 abuse recall over check-in replies and look-alike batches,
    # and this set's abuse look-alikes read at 0.76-0.78 precision (v16: 0.76); the floor for
    # abuse follows that known trade, not lower.
    assert precision >= (0.76 if category == "domestic_abuse" else 0.8), f"{category} precision {precision:.3f}"


def test_the_family_set_covers_every_missed_family_and_its_look_alikes() -> None:
    families = Counter(r["family"] for r in FAMILY_ROWS)
    assert len(families) >= 18 and min(families.values()) >= 1
    assert sum(not r["risks"] for r in FAMILY_ROWS) >= 60, "look-alikes with no risk"


def test_the_fresh_set_is_new_messages() -> None:
    assert len(FRESH_ROWS) >= 250
    assert not {r["text"].lower() for r in FRESH_ROWS} & {r["text"].lower() for r in ROWS}


def test_no_message_in_either_set_fails_detection() -> None:
    assert not any(assess(r["text"]).failed for r in ROWS + FRESH_ROWS)
