"""The learned layer: it only adds findings, respects what context set aside, names itself.

Behaviour is pinned with a small hand-made model (so each test says exactly which words weigh
what); the shipped model is checked for what must hold of any trained model.
"""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from escalation.detect import DEFAULT, Detector, rules_only
from escalation.detect.learned import (
    MODEL_FILE, URGENCY, ModelFileError, features, from_dict, iter_jsonl, load, read_model_file, write_model_file,
)
from escalation.detect.train import TRAINING_DIR, data_digest, load_sources

OUTPUTS = ["crisis", "housing", "domestic_abuse", URGENCY]


def hand_made(words: dict[str, dict[str, float]], *, bias: float = -3.0) -> dict[str, Any]:
    """A model file's contents: each word weighs what it is given for each output (IDF 1)."""
    names = sorted(words)
    return {
        "format": 2, "name": "test-lr", "version": 1, "outputs": OUTPUTS,
        "blocks": {
            "word": {"features": names, "idf": [1.0] * len(names),
                     "weights": [[words[n].get(o, 0.0) for n in names] for o in OUTPUTS]},
            "char": {"features": [], "idf": [], "weights": [[] for _ in OUTPUTS]},
        },
        "bias": [bias] * len(OUTPUTS),
        "thresholds": {o: 0.5 for o in OUTPUTS},
        "info": {},
    }


MODEL = from_dict(hand_made({
    "rough": {"housing": 6.0},
    "lot": {"crisis": 6.0, URGENCY: 6.0},
    "zopiclone": {"crisis": 4.0},
    "shouted": {"domestic_abuse": 6.0},
}))


def with_model(model: Any) -> Detector:
    detector = copy.copy(rules_only())
    detector.model = model
    return detector


DETECTOR = with_model(MODEL)


def test_the_model_adds_a_category_no_rule_found_and_names_itself_and_its_score() -> None:
    assessment = DETECTOR.assess("took the lot")
    assert rules_only().assess("took the lot").findings == ()
    [finding] = assessment.findings
    assert (finding.category, finding.rule_id) == ("crisis", "model.crisis")
    assert "lot" in finding.evidence and "test-lr v1: 0.95" in finding.evidence


def test_a_crisis_the_model_finds_is_urgent_only_where_its_urgency_output_says_so() -> None:
    assert DETECTOR.assess("took the lot").findings[0].severity == "urgent"
    [finding] = DETECTOR.assess("had my zopiclone earlier").findings
    assert (finding.category, finding.severity) == ("crisis", "concern")


def test_the_model_adds_nothing_to_a_message_of_one_or_two_words() -> None:
    """Scores there rest on one or two features (everyday "me again" read as abuse); the rules
    still read such messages."""
    assert DETECTOR.assess("zopiclone").findings == ()
    assert DETECTOR.assess("the zopiclone").findings == ()
    assert [f.rule_id for f in DETECTOR.assess("took zopiclone again").findings] == ["model.crisis"]
    assert DETECTOR.assess("kms").risks == ["crisis"]  # a rule


def test_the_model_never_adds_a_category_whose_words_context_set_aside() -> None:
    """The rules set "sleeping rough" aside as someone else's: the model cannot bring it back."""
    assert rules_only().explain("my mate is sleeping rough")[0].modifiers == frozenset({"third_party"})
    assert DETECTOR.assess("my mate is sleeping rough").findings == ()
    traces = [t for t in DETECTOR.explain("my mate is sleeping rough") if t.rule_id == "model.housing"]
    assert not traces[0].kept and "context-set-aside" in traces[0].modifiers


def test_where_the_rules_found_a_category_the_model_adds_nothing_more() -> None:
    rule_ids = [f.rule_id for f in DETECTOR.assess("im sleeping rough").findings]
    assert rule_ids == ["housing.sleeping-rough"]


def test_the_model_raises_a_crisis_the_rules_called_a_concern_only_to_urgent() -> None:
    rules = rules_only().assess("i want to die and the lot")
    assert [(f.rule_id, f.severity) for f in rules.findings] == [("crisis.death-wish", "concern")]
    combined = DETECTOR.assess("i want to die and the lot")
    assert ("crisis.death-wish", "concern") in [(f.rule_id, f.severity) for f in combined.findings]
    assert ("model.crisis", "urgent") in [(f.rule_id, f.severity) for f in combined.findings]
    assert combined.severity()["crisis"] == "urgent"


def test_explain_shows_the_models_score_for_every_category() -> None:
    traces = {t.rule_id: t for t in DETECTOR.explain("he shouted at me")}
    assert traces["model.domestic_abuse"].kept and traces["model.domestic_abuse"].score == pytest.approx(0.9526, abs=1e-3)
    assert not traces["model.housing"].kept and "below-threshold" in traces["model.housing"].modifiers
    assert traces["model.crisis"].score == pytest.approx(0.0474, abs=1e-3)


def test_a_message_with_nothing_in_it_gets_nothing() -> None:
    assert DETECTOR.assess("see you thursday").findings == ()


# ---- the shipped model ----------------------------------------------------------------------------
def test_the_shipped_model_loads_and_its_thresholds_are_sensible() -> None:
    model = load()
    assert model.outputs == tuple(OUTPUTS)
    assert model.name == "risk-lr" and model.version >= 1
    assert all(0.05 <= model.thresholds[o] <= 1.0 for o in OUTPUTS)
    assert len(model.word) > 1000 and len(model.char) > 1000


def test_the_shipped_model_was_trained_on_exactly_the_labelled_sets_in_the_repo() -> None:
    """Adding or changing a labelled set needs `checkins risk train` (the model file says what
    it was trained on)."""
    assert load().info["data"] == data_digest(load_sources(TRAINING_DIR)), "run `checkins risk train`"


def all_labelled_texts() -> list[str]:
    texts = [e.text for e in load_sources(TRAINING_DIR)]
    dev = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "risk-dev.jsonl"
    if dev.exists():
        texts += [json.loads(line)["text"] for line in dev.read_text("utf-8").splitlines() if line.strip()]
    return texts


_SEVERITY = {"urgent": 0, "concern": 1}


def test_the_rules_findings_are_always_kept_by_the_combined_detector() -> None:
    """Over every labelled message: each rule finding is still there, never lower."""
    assert DEFAULT is not None
    lost = []
    for text in all_labelled_texts():
        combined = DEFAULT.assess(text)
        worst = combined.severity()
        for f in rules_only().assess(text).findings:
            kept = [g for g in combined.findings if (g.rule_id, g.category) == (f.rule_id, f.category)]
            if not kept or _SEVERITY[worst[f.category]] > _SEVERITY[f.severity]:
                lost.append((text, f.rule_id))
    assert lost == []


# ---- the model file ---------------------------------------------------------------------------------
def test_a_model_file_of_another_format_or_with_missing_parts_is_refused_in_one_line() -> None:
    data = hand_made({"rough": {"housing": 1.0}})
    with pytest.raises(ModelFileError, match="format"):
        from_dict({**data, "format": 1})
    broken = json.loads(json.dumps(data))
    broken["blocks"]["word"]["idf"] = []
    with pytest.raises(ModelFileError, match="differ in length"):
        from_dict(broken)
    del broken["thresholds"]["housing"]
    with pytest.raises(ModelFileError):
        from_dict({**data, "thresholds": {"crisis": 0.5}})


def test_a_corrupt_or_missing_model_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bad.json.gz").write_bytes(b"not gzip")
    with pytest.raises(ModelFileError, match="could not be read"):
        read_model_file(tmp_path / "bad.json.gz")
    with pytest.raises(ModelFileError, match="not found"):
        read_model_file(tmp_path / "missing.json.gz")


def test_the_same_model_always_writes_the_same_bytes(tmp_path: Path) -> None:
    data = hand_made({"rough": {"housing": 1.0}})
    write_model_file(tmp_path / "a.json.gz", data)
    write_model_file(tmp_path / "b.json.gz", data)
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()
    with gzip.open(tmp_path / "a.json.gz", "rt") as handle:
        assert json.load(handle) == data


def test_the_shipped_model_file_is_small() -> None:
    assert MODEL_FILE.stat().st_size < 5_000_000


def test_the_scorer_counts_exactly_the_features_the_trainer_counts() -> None:
    """The scorer counts features by row number from letter pieces cached per word; the trainer
    counts the strings of `features()`. Same features in the same order give the same sums, so
    this is checked on every labelled text: a change to `features()` cannot leave the scorer behind."""
    model = load()
    texts = [row["text"].lower() for path in sorted(TRAINING_DIR.glob("*.jsonl")) for row in iter_jsonl(path)]
    assert len(texts) > 1000
    for text in texts + ["", "a", "lalala lalala", "it's i'm 2nite 2nite 2nite"]:
        words, chars = features(text)
        expected_words = [(model.word.index[f], n) for f, n in words.items() if f in model.word.index]
        expected_chars = [(model.char.index[f], n) for f, n in chars.items() if f in model.char.index]
        *_, word_counts, char_counts = model._analysis(text)
        assert list(word_counts.items()) == expected_words, text
        assert list(char_counts.items()) == expected_chars, text
