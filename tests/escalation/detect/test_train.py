"""Training the learned layer: grouped by source, scored as the service scores, reproducible."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from escalation.detect import rules_only
from escalation.detect.learned import load, read_model_file
from escalation.detect.train import Example, Settings, load_sources, target

sklearn = pytest.importorskip("sklearn", reason="training needs the `train` extra (scikit-learn)")

from escalation.detect.detector import model_may_judge  # noqa: E402
from escalation.detect.train import (  # noqa: E402
    as_model, choose_policy, choose_threshold, fit, out_of_source, predict, rule_views, train,
)
from escalation.risk_cli import run_train  # noqa: E402

SETTINGS = Settings(c_values=(5.0,), workers=1)


def write_source(folder: Path, name: str, rows: list[tuple[str, list[str]]]) -> None:
    with open(folder / f"{name}.jsonl", "w", encoding="utf-8") as handle:
        for text, risks in rows:
            handle.write(json.dumps({"text": text, "risks": risks}) + "\n")


def small_world(folder: Path) -> None:
    """Three authors. Only author "a" ever writes "zzqx", always about housing."""
    folder.mkdir(exist_ok=True)
    write_source(folder, "a", [(f"zzqx zzqx again {i}", ["housing"]) for i in range(12)]
                 + [(f"had a good day at work {i}", []) for i in range(12)])
    for name in ("b", "c"):
        write_source(folder, name, [(f"landlord says im out by friday {i}", ["housing"]) for i in range(10)]
                     + [(f"feel like ending it all {i}", ["crisis"]) for i in range(10)]
                     + [(f"he hit me again last night {i}", ["domestic_abuse"]) for i in range(10)]
                     + [(f"went to the gym and the shops {i}", []) for i in range(15)])
    (folder / "sources.toml").write_text(
        "[a]\nauthor = 'a'\n[b]\nauthor = 'b'\n[c]\nauthor = 'c'\nrules_tuned = true\n", "utf-8")


def test_a_source_nobody_described_is_refused(tmp_path: Path) -> None:
    small_world(tmp_path)
    write_source(tmp_path, "mystery", [("hello", [])])
    with pytest.raises(ValueError, match="mystery.jsonl is not described"):
        load_sources(tmp_path)


def test_lines_from_someone_other_than_the_mentee_are_left_out(tmp_path: Path) -> None:
    small_world(tmp_path)
    with open(tmp_path / "t.jsonl", "w") as handle:
        handle.write(json.dumps({"text": "are you safe?", "risks": [], "from": "mentor"}) + "\n")
        handle.write(json.dumps({"text": "no", "risks": [], "from": "mentee"}) + "\n")
    with open(tmp_path / "sources.toml", "a") as handle:
        handle.write("[t]\nauthor = 't'\nskip_from = 'mentor'\n")
    assert [e.text for e in load_sources(tmp_path) if e.source == "t"] == ["no"]


def test_the_urgency_output_learns_only_from_crisis_messages_whose_author_marked_it() -> None:
    assert target(Example("x", frozenset({"crisis"}), "s", severity="urgent"), "crisis_urgent") is True
    assert target(Example("x", frozenset({"crisis"}), "s", severity="concern"), "crisis_urgent") is False
    assert target(Example("x", frozenset({"crisis"}), "s"), "crisis_urgent") is None
    assert target(Example("x", frozenset(), "s"), "crisis_urgent") is False


def test_the_plain_python_scorer_gives_scikit_learns_probabilities(tmp_path: Path) -> None:
    small_world(tmp_path)
    examples = load_sources(tmp_path)
    texts = [e.text for e in examples]
    fitted = fit(texts, examples, 5.0, SETTINGS)
    model = as_model(fitted)
    expected = predict(fitted, texts)
    for k, text in enumerate(texts):
        got = model.probabilities(text)
        for i, output in enumerate(model.outputs):
            assert got[output] == pytest.approx(expected[i][k], abs=1e-9)


def replies_world(folder: Path) -> None:
    """The same three-word replies mean housing after one question and nothing after another."""
    folder.mkdir(exist_ok=True)
    for name in ("a", "b"):
        with open(folder / f"{name}.jsonl", "w", encoding="utf-8") as handle:
            for i in range(12):
                for reply in (f"not really mate {i}", f"no not tonight {i}"):
                    handle.write(json.dumps({"text": reply, "risks": ["housing"],
                                             "question": "Do you have somewhere safe to stay tonight?"}) + "\n")
                    handle.write(json.dumps({"text": reply, "risks": [],
                                             "question": "Any worries about money this week?"}) + "\n")
                handle.write(json.dumps({"text": f"landlord says im out by friday {i}", "risks": ["housing"]}) + "\n")
                handle.write(json.dumps({"text": f"feel like ending it all {i}", "risks": ["crisis"]}) + "\n")
    (folder / "sources.toml").write_text("[a]\nauthor = 'a'\n[b]\nauthor = 'b'\n", "utf-8")


def test_a_reply_is_scored_with_the_question_it_answers_by_the_outputs_that_weigh_it(tmp_path: Path) -> None:
    replies_world(tmp_path)
    examples = load_sources(tmp_path)
    assert examples[0].question == "Do you have somewhere safe to stay tonight?"
    views = rule_views(examples)
    fitted = fit([v.normalised for v in views], examples, 5.0, SETTINGS, [v.question for v in views])
    model = as_model(fitted)
    safe, money = (rules_only()._question(q) for q in ("Do you have somewhere safe to stay tonight?",
                                                       "Any worries about money this week?"))
    after_safe = model.probabilities("not really mate", safe)
    after_money = model.probabilities("not really mate", money)
    assert after_safe["housing"] > 0.5 > after_money["housing"]
    # Crisis does not weigh the question (SETTINGS.question_outputs): the same score either way.
    assert after_safe["crisis"] == after_money["crisis"] == model.probabilities("not really mate")["crisis"]
    # The plain-Python scorer gives the trainer's probabilities with the question too.
    expected = predict(fitted, [v.normalised for v in views], [v.question for v in views])
    for k, v in enumerate(views):
        got = model.probabilities(v.normalised, v.question)
        for i, output in enumerate(model.outputs):
            assert got[output] == pytest.approx(expected[i][k], abs=1e-9)


def test_a_model_trained_without_questions_ignores_them(tmp_path: Path) -> None:
    small_world(tmp_path)
    examples = load_sources(tmp_path)
    model = as_model(fit([e.text for e in examples], examples, 5.0, SETTINGS))
    assert model.question is None
    assert model.probabilities("landlord says im out", "somewhere safe tonight") == \
        model.probabilities("landlord says im out")


def test_cross_validation_scores_a_reply_too_short_for_the_model_as_the_service_does(tmp_path: Path) -> None:
    """Fewer than three words: the learned layer adds nothing at run time, so nothing in CV."""
    replies_world(tmp_path)
    with open(tmp_path / "a.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"text": "no", "risks": ["housing"],
                                 "question": "Do you have somewhere safe to stay tonight?"}) + "\n")
    examples = load_sources(tmp_path)
    oof = out_of_source(examples, rule_views(examples), 5.0, SETTINGS)
    short = [k for k, e in enumerate(examples) if e.text == "no"]
    assert [oof[c][k] for k in short for c in ("crisis", "housing", "domestic_abuse")] == [0.0, 0.0, 0.0]
    assert max(oof["housing"][k] for k, e in enumerate(examples) if e.text.startswith("not really")) > 0.0


def test_thresholds_are_chosen_on_the_messages_the_model_may_judge(tmp_path: Path) -> None:
    """Bare answers labelled by their question ("no" to "somewhere safe tonight?") are left to
    the rules and the flow: counting them would only lower the threshold for everything else
    without catching them. The figures still count them."""
    replies_world(tmp_path)
    with open(tmp_path / "b.jsonl", "a", encoding="utf-8") as handle:
        for answer in ("no", "nope", "no x", "nah"):
            handle.write(json.dumps({"text": answer, "risks": ["housing"],
                                     "question": "Do you have somewhere safe to stay tonight?"}) + "\n")
    examples = load_sources(tmp_path)
    views = rule_views(examples)
    oof = out_of_source(examples, views, 5.0, SETTINGS)
    judged = [k for k, v in enumerate(views) if model_may_judge(v.normalised)]
    assert len(judged) == len(examples) - 4
    _, report = train(examples, SETTINGS)
    assert report.thresholds == {**choose_policy(examples, views, oof, judged, SETTINGS.target_recall).alone,
                                 "crisis_urgent": report.thresholds["crisis_urgent"]}

    def housing_threshold(at: list[int]) -> float:
        return choose_threshold([examples[k].risks == {"housing"} for k in at],
                                ["housing" in views[k].flagged for k in at], [oof["housing"][k] for k in at],
                                SETTINGS.target_recall)

    # Counted, the four bare answers would drag the threshold to the floor without catching one.
    assert housing_threshold(judged) > 0.9 > 0.05 == housing_threshold(list(range(len(examples))))
    assert report.overall["housing"]["positives"] == report.judged["housing"]["positives"] + 4
    assert report.overall["housing"]["combined"][0] < report.judged["housing"]["combined"][0]


def test_each_output_is_fitted_with_its_own_regularisation_strength(tmp_path: Path) -> None:
    """C per output: each output's weights are those a single C of that value would give."""
    small_world(tmp_path)
    examples = load_sources(tmp_path)
    texts = [e.text for e in examples]
    mixed = fit(texts, examples, {"crisis": 0.1, "housing": 5.0, "domestic_abuse": 0.1, "crisis_urgent": 5.0}, SETTINGS)
    weak, strong = fit(texts, examples, 0.1, SETTINGS), fit(texts, examples, 5.0, SETTINGS)
    assert mixed.coefs[0] == weak.coefs[0] and mixed.coefs[1] == strong.coefs[1]
    assert mixed.coefs[0] != strong.coefs[0]


def test_with_several_strengths_each_category_takes_the_one_that_does_best_for_it(tmp_path: Path) -> None:
    small_world(tmp_path)
    _, report = train(load_sources(tmp_path), Settings(c_values=(0.1, 5.0), workers=1))
    assert set(report.c_scores) == {"0.1", "5"}
    for category, c in report.chosen_c.items():
        if category != "crisis_urgent":
            best = max(report.c_scores, key=lambda label: report.c_scores[label][category])
            assert report.c_scores[f"{c:g}"][category] == report.c_scores[best][category]
    assert report.chosen_c["crisis_urgent"] == report.chosen_c["crisis"]


def test_cross_validation_never_lets_a_model_see_the_source_it_judges(tmp_path: Path) -> None:
    """Only source "a" has the word "zzqx": held out, its messages cannot be known by it."""
    small_world(tmp_path)
    examples = load_sources(tmp_path)
    oof = out_of_source(examples, rule_views(examples), 5.0, SETTINGS)
    held_out = [oof["housing"][k] for k, e in enumerate(examples) if e.text.startswith("zzqx")]
    trained_on_all = as_model(fit([e.text for e in examples], examples, 5.0, SETTINGS))
    assert max(held_out) < 0.5 < trained_on_all.probabilities("zzqx zzqx again")["housing"]


def test_training_reports_every_source_and_chooses_thresholds_in_range(tmp_path: Path) -> None:
    small_world(tmp_path)
    fitted, report = train(load_sources(tmp_path), SETTINGS)
    assert [row["source"] for row in report.per_source] == ["a", "b", "c"]
    assert report.untuned["messages"] == len([e for e in load_sources(tmp_path) if e.source != "c"])
    assert all(0.05 <= t <= 1.0 for t in report.thresholds.values())
    assert set(report.nested) == {"crisis", "housing", "domestic_abuse"}


def test_risk_train_writes_a_model_the_detector_loads_and_check_says_when_it_is_stale(tmp_path: Path) -> None:
    small_world(tmp_path / "data")
    out = tmp_path / "model.json.gz"
    printed = io.StringIO()
    assert run_train(tmp_path / "data", out, printed, workers=1) == 0
    assert "wrote" in printed.getvalue() and "ALL (out of source)" in printed.getvalue()
    model = load(out)
    assert model.version == 1 and model.info["sources"] == {"a": 24, "b": 45, "c": 45}
    assert run_train(tmp_path / "data", out, io.StringIO(), workers=1, check=True) == 0
    write_source(tmp_path / "data", "a", [("zzqx", ["housing"])] * 3 + [("fine", [])] * 3)
    stale = io.StringIO()
    assert run_train(tmp_path / "data", out, stale, workers=1, check=True) == 1
    assert "out of date" in stale.getvalue()
    assert read_model_file(out)["version"] == 1  # --check writes nothing
