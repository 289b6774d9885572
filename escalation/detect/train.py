"""Training the learned layer: `checkins risk train` (needs the `train` extra: scikit-learn).

1. Every `*.jsonl` file in the training folder is one *source*: one author's batch. The rules are
   run over every message first (their findings, and the words their context step set aside).
2. Cross-validation is grouped by source: each source in turn is held out, a model is fitted on
   the others (vocabulary and IDF included), and the held-out source is scored exactly as the
   service would score it (set-aside words removed for that category). Messages are never split
   at random, because one author's sentences resemble each other.
3. The regularisation strength (C, one per output) is picked by those out-of-source scores,
   then each category's threshold: the highest one at which rules + model still find `target_recall` of the risky
   messages. A last output, trained on the messages whose authors marked how urgent a crisis
   was, says "urgent" where, among crisis messages, it is right `urgent_precision` of the time.
4. The final model is fitted on every source and written, with the thresholds and the figures,
   to `escalation/detect/model/risk-model.json.gz`; the same data and settings give the same file.
"""

from __future__ import annotations

import hashlib
import math
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from escalation.detect.learned import (
    FORMAT, URGENCY, LearnedModel, features, from_dict, iter_jsonl, question_features, read_model_file,
)
from escalation.detect.ruleset import CATEGORIES

if TYPE_CHECKING:
    from escalation.detect.detector import RuleView

TRAINING_DIR = Path(__file__).parent / "training"
MODEL_NAME = "risk-lr"
OUTPUTS = (*CATEGORIES, URGENCY)
# A regularisation strength: one C for every output, or one per output (see Settings.c_values).
Strength = float | Mapping[str, float]


def per_output(strength: Strength) -> dict[str, float]:
    """`strength` as one C per output."""
    if isinstance(strength, Mapping):
        return {o: float(strength[o]) for o in OUTPUTS}
    return {o: float(strength) for o in OUTPUTS}


def strength_label(strength: Strength) -> str:
    """"10" for one C; "crisis 30, housing 10, domestic_abuse 3, crisis_urgent 10" for one per output."""
    each = per_output(strength)
    if len(set(each.values())) == 1:
        return f"{each[OUTPUTS[0]]:g}"
    return ", ".join(f"{o} {c:g}" for o, c in each.items())


@dataclass(frozen=True)
class Example:
    """One labelled message from one source file."""

    text: str
    risks: frozenset[str]
    source: str
    rules_tuned: bool = False  # the rules were fitted to this source (see sources.toml)
    severity: str | None = None  # "urgent" | "concern" where the author marked it
    question: str | None = None  # the check-in question the message answers, where given


def target(example: Example, output: str) -> bool | None:
    """One output's label for one example; None where it is unknown (left out of that fit): a
    crisis message whose author did not say how urgent it was."""
    if output != URGENCY:
        return output in example.risks
    if "crisis" not in example.risks:
        return False
    if example.severity not in ("urgent", "concern"):
        return None
    return example.severity == "urgent"


@dataclass(frozen=True)
class Settings:
    # Candidate strengths; with more than one, each category takes the one that does best for it
    # (`checkins risk train --search` tries 3, 10 and 30 for every output). The default trains
    # with the per-category choice that search made in round eight (28 sources, grouped CV, each
    # category's precision at 0.97 recall): crisis 30 (0.748; 10: 0.745, 3: 0.725), housing 10
    # (0.766; 30: 0.756, 3: 0.760), domestic abuse 3 (0.708; 10 and 30: 0.685); urgency kept at 10.
    c_values: tuple[Strength, ...] = (
        {"crisis": 30.0, "housing": 10.0, "domestic_abuse": 3.0, URGENCY: 10.0},)
    min_df: int = 2
    target_recall: float = 0.97
    urgent_precision: float = 0.9
    # The outputs that weigh the check-in question a reply answers (the question block). Grouped
    # CV in round nine (10,010 messages, 30 sources, precision at 0.97 recall, short replies
    # left to the rules as at run time): with the question's words for every output, housing
    # 0.723 -> 0.752, crisis 0.747 -> 0.734, domestic abuse 0.724 -> 0.718. So housing only.
    question_outputs: tuple[str, ...] = ("housing",)
    seed: int = 7
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)


@dataclass
class Fitted:
    """A fitted vectoriser and one logistic regression per category."""

    word_vocab: dict[str, int]
    char_vocab: dict[str, int]
    word_idf: list[float]
    char_idf: list[float]
    coefs: list[list[float]]  # per category, word block, char block, then question block
    bias: list[float]
    question_vocab: dict[str, int] = field(default_factory=dict)
    question_idf: list[float] = field(default_factory=list)


@dataclass
class Report:
    """Everything training found out, for printing and for the model file's `info`."""

    chosen_c: dict[str, float]  # per output
    c_scores: dict[str, dict[str, float]]  # per candidate strength (its label), per category
    thresholds: dict[str, float]
    with_other: dict[str, float] = field(default_factory=dict)
    severity: dict[str, Any] = field(default_factory=dict)
    per_source: list[dict[str, Any]] = field(default_factory=list)
    overall: dict[str, Any] = field(default_factory=dict)
    nested: dict[str, Any] = field(default_factory=dict)
    untuned: dict[str, Any] = field(default_factory=dict)
    judged: dict[str, Any] = field(default_factory=dict)  # the messages the model may judge


def load_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """`sources.toml`: who wrote each source and whether the rules were tuned on it."""
    path = folder / "sources.toml"
    if not path.exists():
        return {}
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def load_sources(folder: Path = TRAINING_DIR) -> list[Example]:
    """Every labelled message of every `*.jsonl` source in `folder`, in a stable order.

    If the folder has a `sources.toml`, every source must be described there (a batch nobody
    can account for would be trained on blind)."""
    manifest = load_manifest(folder)
    examples: list[Example] = []
    for path in sorted(folder.glob("*.jsonl")):
        if manifest and path.stem not in manifest:
            raise ValueError(f"{path.name} is not described in {folder / 'sources.toml'}")
        about = manifest.get(path.stem, {})
        tuned = bool(about.get("rules_tuned", False))
        for row in iter_jsonl(path):
            if about.get("skip_from") and row.get("from") == about["skip_from"]:
                continue  # e.g. a mentor's question inside a thread: not a mentee message
            risks = frozenset(r for r in row.get("risks") or () if r in CATEGORIES)
            examples.append(Example(row["text"], risks, path.stem, tuned, row.get("severity"),
                                    row.get("question") or None))
    if not examples:
        raise ValueError(f"no labelled messages in {folder}")
    return examples


def rule_views(examples: Sequence[Example]) -> list[RuleView]:
    """Run the rules (no learned layer) over every example."""
    return [_rules().rule_view(e.text, e.question) for e in examples]


def _rules() -> Any:
    from escalation.detect import rules_only

    return rules_only()


# ---- vectorising and fitting --------------------------------------------------------------------
def _vocab(counts: Sequence[Mapping[str, int]], min_df: int) -> tuple[dict[str, int], list[float]]:
    df: dict[str, int] = {}
    for c in counts:
        for f in c:
            df[f] = df.get(f, 0) + 1
    names = sorted(f for f, n in df.items() if n >= min_df)
    n_docs = len(counts)
    idf = [math.log((1 + n_docs) / (1 + df[f])) + 1.0 for f in names]
    return {f: i for i, f in enumerate(names)}, idf


def _matrix(counts: Sequence[Mapping[str, int]], vocab: Mapping[str, int], idf: Sequence[float]) -> Any:
    import numpy as np
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for r, c in enumerate(counts):
        entries = [(vocab[f], (1.0 + math.log(n)) * idf[vocab[f]]) for f, n in c.items() if f in vocab]
        norm = math.sqrt(sum(v * v for _, v in entries)) or 1.0
        for col, v in entries:
            rows.append(r)
            cols.append(col)
            vals.append(v / norm)
    return csr_matrix((np.array(vals), (np.array(rows), np.array(cols))), shape=(len(counts), len(vocab)))


def _design(texts: Sequence[str], fitted: Fitted, questions: Sequence[str] | None = None) -> Any:
    from scipy.sparse import hstack

    feats = [features(t) for t in texts]
    word = _matrix([f[0] for f in feats], fitted.word_vocab, fitted.word_idf)
    char = _matrix([f[1] for f in feats], fitted.char_vocab, fitted.char_idf)
    blocks = [word, char]
    if fitted.question_vocab:
        asked = [question_features(q) for q in questions or [""] * len(texts)]
        blocks.append(_matrix(asked, fitted.question_vocab, fitted.question_idf))
    return hstack(blocks).tocsr()


def fit(texts: Sequence[str], examples: Sequence[Example], c_value: Strength, settings: Settings,
        questions: Sequence[str] | None = None) -> Fitted:
    """Fit the vocabulary, IDF and one regularised logistic regression per output (`c_value`: one
    C for all, or one per output); `questions`: the normalised check-in question each text
    answers ("" for none)."""
    from sklearn.linear_model import LogisticRegression

    feats = [features(t) for t in texts]
    word_vocab, word_idf = _vocab([f[0] for f in feats], settings.min_df)
    char_vocab, char_idf = _vocab([f[1] for f in feats], settings.min_df)
    fitted = Fitted(word_vocab, char_vocab, word_idf, char_idf, [], [])
    if settings.question_outputs and questions:
        fitted.question_vocab, fitted.question_idf = _vocab([question_features(q) for q in questions],
                                                            settings.min_df)
    x = _design(texts, fitted, questions)
    replies_only = len(word_vocab) + len(char_vocab)  # the columns before the question block
    strength = per_output(c_value)
    for output in OUTPUTS:
        labels = [target(e, output) for e in examples]
        rows = [k for k, y in enumerate(labels) if y is not None]
        seen = {labels[k] for k in rows}
        if len(seen) < 2:  # nothing to learn (e.g. no author marked severity): always that answer
            fitted.coefs.append([0.0] * x.shape[1])
            fitted.bias.append(10.0 if seen == {True} else -10.0)
            continue
        model = LogisticRegression(C=strength[output], class_weight="balanced", max_iter=2000,
                                   solver="liblinear", random_state=settings.seed)
        # An output that does not weigh the question is fitted without the question block (each
        # block is scaled on its own, so leaving it out changes nothing else); its weights there are 0.
        weighs_question = output in settings.question_outputs
        model.fit(x[rows] if weighs_question else x[rows, :replies_only], [labels[k] for k in rows])
        coef = [float(v) for v in model.coef_[0]]
        fitted.coefs.append(coef + [0.0] * (x.shape[1] - len(coef)))
        fitted.bias.append(float(model.intercept_[0]))
    return fitted


def predict(fitted: Fitted, texts: Sequence[str], questions: Sequence[str] | None = None) -> list[list[float]]:
    """Probabilities, one list per category, for each text (the trainer's own scorer)."""
    import numpy as np

    x = _design(texts, fitted, questions)
    out = []
    for coef, bias in zip(fitted.coefs, fitted.bias):
        z = x @ np.array(coef) + bias
        out.append([float(v) for v in 1.0 / (1.0 + np.exp(-z))])
    return out


def as_model(fitted: Fitted, thresholds: Mapping[str, float] | None = None) -> LearnedModel:
    """The plain-Python model the service would load for `fitted` (unrounded)."""
    return from_dict(_export(fitted, thresholds or {o: 0.5 for o in OUTPUTS}, {}, version=0, digits=None))


def runtime_probabilities(fitted: Fitted, views: Sequence[RuleView]) -> dict[str, list[float]]:
    """Each category's probability as the service computes it (Detector.learned_probability):
    the words the rules' context set aside blanked out, then the model's own evidence checked
    by the same context rules."""
    model = as_model(fitted)
    detector = _rules()
    out: dict[str, list[float]] = {o: [] for o in OUTPUTS}
    for view in views:
        for c, p in detector.runtime_probabilities(view, model).items():
            out[c].append(p)
    return out


# ---- cross-validation, thresholds, figures -------------------------------------------------------
def _held_out(examples: Sequence[Example], views: Sequence[RuleView], source: str, c_value: Strength,
              settings: Settings) -> tuple[list[int], dict[str, list[float]]]:
    """Fit without `source`, then score `source` as the service would."""
    train_at = [k for k, e in enumerate(examples) if e.source != source]
    test_at = [k for k, e in enumerate(examples) if e.source == source]
    fitted = fit([views[k].normalised for k in train_at], [examples[k] for k in train_at], c_value, settings,
                 [views[k].question for k in train_at])
    return test_at, runtime_probabilities(fitted, [views[k] for k in test_at])


def _cached_out_of_source(examples: Sequence[Example], views: Sequence[RuleView], c_value: Strength,
                          settings: Settings, progress: Callable[[str], None]) -> dict[str, list[float]]:
    """out_of_source, kept in the folder CHECKINS_RISK_OOF_CACHE names (for development: trying
    another threshold rule needs no refitting). Keyed by the data, C and the scoring code."""
    import pickle

    folder = os.environ.get("CHECKINS_RISK_OOF_CACHE")
    if not folder:
        return out_of_source(examples, views, c_value, settings, progress)
    code = hashlib.sha256(Path(__file__).with_name("learned.py").read_bytes()
                          + Path(__file__).with_name("detector.py").read_bytes()).hexdigest()[:12]
    each = "-".join(f"{c:g}" for c in per_output(c_value).values())
    asked = "+".join(settings.question_outputs) or "none"
    path = Path(folder) / f"oof-{data_digest(examples)}-{each}-{settings.min_df}-{asked}-{code}.pickle"
    if path.exists():
        progress(f"  C={strength_label(c_value)}: out-of-source scores from {path}")
        with open(path, "rb") as handle:
            cached: dict[str, list[float]] = pickle.load(handle)
        return cached
    oof = out_of_source(examples, views, c_value, settings, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(oof, handle)
    return oof


def out_of_source(examples: Sequence[Example], views: Sequence[RuleView], c_value: Strength,
                  settings: Settings, progress: Callable[[str], None] = lambda _: None) -> dict[str, list[float]]:
    """Runtime probabilities for every example from a model that never saw its source (the
    sources are held out in parallel, one process per core)."""
    from concurrent.futures import ProcessPoolExecutor

    sources = sorted({e.source for e in examples})
    out = {o: [0.0] * len(examples) for o in OUTPUTS}
    workers = max(1, min(settings.workers, len(sources)))
    with ProcessPoolExecutor(workers) as pool:
        jobs = [pool.submit(_held_out, examples, views, s, c_value, settings) for s in sources]
        for source, job in zip(sources, jobs):
            test_at, probs = job.result()
            progress(f"  C={strength_label(c_value)}: held out {source} ({len(test_at)} messages)")
            for output in OUTPUTS:
                for k, p in zip(test_at, probs[output]):
                    out[output][k] = p
    return out


def counts(truth: Sequence[bool], predicted: Sequence[bool]) -> tuple[int, int, int]:
    """True positives, false positives, false negatives."""
    tp = sum(1 for t, p in zip(truth, predicted) if t and p)
    fp = sum(1 for t, p in zip(truth, predicted) if p and not t)
    fn = sum(1 for t, p in zip(truth, predicted) if t and not p)
    return tp, fp, fn


def recall_precision(truth: Sequence[bool], predicted: Sequence[bool]) -> tuple[float, float]:
    tp, fp, fn = counts(truth, predicted)
    recall = tp / (tp + fn) if tp + fn else 1.0
    precision = tp / (tp + fp) if tp + fp else 1.0
    return recall, precision


LOWEST, HIGHEST = 0.05, 0.99  # below: it would flag everything; above: it would add nothing


def choose_threshold(truth: Sequence[bool], rules: Sequence[bool], probs: Sequence[float],
                     target_recall: float, *, more_positives: int = 0, more_caught: int = 0) -> float:
    """The highest threshold at which rules OR model reach `target_recall` (`more_positives` and
    `more_caught`: risky messages outside these lists, and how many of them are caught)."""
    positives = sum(truth) + more_positives
    if not positives:
        return HIGHEST
    caught = more_caught + sum(1 for t, r in zip(truth, rules) if t and r)
    needed = math.ceil(target_recall * positives - 1e-9) - caught
    if needed <= 0:
        return HIGHEST
    left = sorted((p for t, r, p in zip(truth, rules, probs) if t and not r), reverse=True)
    if needed > len(left):
        return LOWEST
    return min(HIGHEST, max(LOWEST, left[needed - 1]))


def choose_with_other(truth: Sequence[bool], rules: Sequence[bool], probs: Sequence[float],
                      others: Sequence[bool], target_recall: float) -> tuple[float, float]:
    """Two thresholds: one for messages where no other category was found, and a stricter one
    where another was (a strong crisis message also scores somewhat for abuse; most of those
    second flags are false). Chosen together for the best precision at `target_recall`."""
    alone = [k for k in range(len(truth)) if not others[k]]
    other = [k for k in range(len(truth)) if others[k]]
    best: tuple[float, float, float] | None = None
    for step in range(19):
        with_other = round(LOWEST + step * 0.05, 2)
        caught = sum(1 for k in other if truth[k] and (rules[k] or probs[k] >= with_other))
        t = choose_threshold([truth[k] for k in alone], [rules[k] for k in alone], [probs[k] for k in alone],
                             target_recall, more_positives=sum(truth[k] for k in other), more_caught=caught)
        t = min(t, with_other)
        flagged = [rules[k] or probs[k] >= (with_other if others[k] else t) for k in range(len(truth))]
        recall, precision = recall_precision(truth, flagged)
        if recall >= target_recall - 1e-9 and (best is None or precision > best[0]):
            best = (precision, t, with_other)
    if best is None:
        t = choose_threshold(truth, rules, probs, target_recall)
        return t, t
    return best[1], best[2]


def choose_urgent_threshold(truth: Sequence[bool | None], probs: Sequence[float], min_precision: float) -> float:
    """The lowest threshold above which the model alone is right at least `min_precision` of the
    time (with at least 20 messages above it; unknown labels left out), or 1.0 if there is none."""
    ranked = sorted(((p, t) for p, t in zip(probs, truth) if t is not None), reverse=True)
    best = 1.0
    hits = 0
    for n, (p, t) in enumerate(ranked, start=1):
        hits += t
        if n >= 20 and hits / n >= min_precision:
            best = p
    return round(best, 4)


@dataclass(frozen=True)
class Policy:
    """When the model's score flags a category: at `alone` if nothing else was found in the
    message, at `with_other` if another category was (by the rules, or by the model at that
    category's `alone` threshold). The detector applies the same rule (Detector._model_traces)."""

    alone: Mapping[str, float]
    with_other: Mapping[str, float]

    def flags(self, rules: Mapping[str, bool], probs: Mapping[str, float]) -> set[str]:
        first = {c for c in CATEGORIES if rules[c] or probs[c] >= self.alone[c]}
        out = set()
        for c in CATEGORIES:
            limit = self.with_other[c] if first - {c} else self.alone[c]
            if rules[c] or probs[c] >= limit:
                out.add(c)
        return out


def apply_policy(policy: Policy, views: Sequence[RuleView], oof: Mapping[str, Sequence[float]]) -> list[set[str]]:
    """Each example's flagged categories under `policy`."""
    return [policy.flags({c: c in v.flagged for c in CATEGORIES}, {c: oof[c][k] for c in CATEGORIES})
            for k, v in enumerate(views)]


def choose_policy(examples: Sequence[Example], views: Sequence[RuleView], oof: Mapping[str, Sequence[float]],
                  at: Sequence[int], target_recall: float) -> Policy:
    """Thresholds from the examples `at`: one per category for the target recall, then the
    pair (alone, with another category found) that keeps it with the best precision."""
    truth = {c: [c in examples[k].risks for k in at] for c in CATEGORIES}
    rules = {c: [c in views[k].flagged for k in at] for c in CATEGORIES}
    probs = {c: [oof[c][k] for k in at] for c in CATEGORIES}
    alone = {c: choose_threshold(truth[c], rules[c], probs[c], target_recall) for c in CATEGORIES}
    with_other = dict(alone)
    for _ in range(2):  # "another category found" depends on the others' thresholds: settle it
        found = {c: [r or p >= alone[c] for r, p in zip(rules[c], probs[c])] for c in CATEGORIES}
        for c in CATEGORIES:
            others = [any(found[o][i] for o in CATEGORIES if o != c) for i in range(len(at))]
            alone[c], with_other[c] = choose_with_other(truth[c], rules[c], probs[c], others, target_recall)
    return Policy(alone, with_other)


def _figures(examples: Sequence[Example], views: Sequence[RuleView], probs: Mapping[str, Sequence[float]],
             policy: Policy, decided: Sequence[set[str]], at: Sequence[int]) -> dict[str, Any]:
    row: dict[str, Any] = {"messages": len(at)}
    for category in CATEGORIES:
        truth = [category in examples[k].risks for k in at]
        rules = [category in views[k].flagged for k in at]
        model = [probs[category][k] >= policy.alone[category] for k in at]
        combined = [category in decided[k] for k in at]
        row[category] = {
            "positives": sum(truth),
            "rules": recall_precision(truth, rules),
            "model": recall_precision(truth, model),
            "combined": recall_precision(truth, combined),
        }
    return row


def train(examples: Sequence[Example], settings: Settings = Settings(),
          progress: Callable[[str], None] = lambda _: None) -> tuple[Fitted, Report]:
    """Pick C and thresholds by out-of-source scores, then fit on everything."""
    from escalation.detect.detector import model_may_judge

    progress(f"running the rules over {len(examples)} messages")
    views = rule_views(examples)
    everything = list(range(len(examples)))
    # Thresholds are chosen on the messages the model may judge (three words or more). A bare
    # "no" labelled housing by its question is left to the rules and the flow's answer scoring
    # at run time; counting it here would only lower every threshold to catch other messages
    # instead, without catching it. The figures below still count it (overall recall).
    judged = [k for k in everything if model_may_judge(views[k].normalised)]
    truth = {c: [c in e.risks for e in examples] for c in CATEGORIES}
    # Each category takes the candidate strength that does best for it: the precision left at the
    # thresholds that keep the target recall (plus the recall, capped there); higher is better.
    # The urgency output takes the crisis choice when the candidates give it one C.
    best: dict[str, tuple[float, float, list[float]]] = {}
    c_scores: dict[str, dict[str, float]] = {}
    for c_value in settings.c_values:
        strength = per_output(c_value)
        label = strength_label(c_value)
        oof = _cached_out_of_source(examples, views, c_value, settings, progress)
        decided = apply_policy(choose_policy(examples, views, oof, judged, settings.target_recall), views, oof)
        c_scores[label] = {}
        for category in CATEGORIES:
            recall, precision = recall_precision(truth[category], [category in d for d in decided])
            c_scores[label][category] = precision + min(recall, settings.target_recall)
            if category not in best or c_scores[label][category] > best[category][1]:
                best[category] = (strength[category], c_scores[label][category], oof[category])
                if category == "crisis":
                    best[URGENCY] = (strength[URGENCY], 0.0, oof[URGENCY])
        progress(f"C={label}: recall-capped precision score "
                 + ", ".join(f"{c} {v:.4f}" for c, v in c_scores[label].items()))
    chosen_c = {o: best[o][0] for o in OUTPUTS}
    oof = {o: best[o][2] for o in OUTPUTS}
    if len(settings.c_values) > 1 and len(set(map(strength_label, settings.c_values))) > 1:
        # Out-of-source scores mixed from several candidates are each a true held-out score, but
        # the thresholds below are chosen on the mix, as the final model will be fitted with it.
        progress(f"chosen per category: C={strength_label(chosen_c)}")
    policy = choose_policy(examples, views, oof, judged, settings.target_recall)
    thresholds = dict(policy.alone)
    # Urgency only matters once a crisis is found: its precision is judged among crisis messages.
    thresholds[URGENCY] = choose_urgent_threshold(
        [target(e, URGENCY) if "crisis" in e.risks else None for e in examples], oof[URGENCY],
        settings.urgent_precision)
    report = Report(chosen_c, c_scores, thresholds, with_other=dict(policy.with_other))
    decided = apply_policy(policy, views, oof)
    report.severity = severity_figures(examples, views, oof, thresholds, decided)
    report.overall = _figures(examples, views, oof, policy, decided, everything)
    report.judged = _figures(examples, views, oof, policy, decided, judged)
    untuned = [k for k, e in enumerate(examples) if not e.rules_tuned]
    if untuned:  # the honest view: sources the rules were never fitted to
        report.untuned = _figures(examples, views, oof, policy, decided, untuned)
    sources = sorted({e.source for e in examples})
    for source in sources:
        at = [k for k, e in enumerate(examples) if e.source == source]
        report.per_source.append({"source": source, **_figures(examples, views, oof, policy, decided, at)})
    # Nested: each source judged with thresholds chosen on the other sources only.
    nested: list[set[str]] = [set() for _ in examples]
    for source in sources:
        others = [k for k in judged if examples[k].source != source]
        held = choose_policy(examples, views, oof, others, settings.target_recall)
        for k, e in enumerate(examples):
            if e.source == source:
                nested[k] = apply_policy(held, [views[k]], {c: [oof[c][k]] for c in CATEGORIES})[0]
    report.nested = {c: recall_precision(truth[c], [c in d for d in nested]) for c in CATEGORIES}
    progress(f"fitting the final model on all {len(examples)} messages (C={strength_label(chosen_c)})")
    final = fit([v.normalised for v in views], examples, chosen_c, settings, [v.question for v in views])
    return final, report


def severity_figures(examples: Sequence[Example], views: Sequence[RuleView], oof: Mapping[str, Sequence[float]],
                     thresholds: Mapping[str, float], decided: Sequence[set[str]]) -> dict[str, Any]:
    """How often a crisis its author marked urgent is found urgent (by the rules' severity rules
    or the model's urgency output), and how often one marked a concern is made urgent."""
    urgent_found = concern_raised = n_urgent = n_concern = 0
    for k, e in enumerate(examples):
        if "crisis" not in e.risks or e.severity not in ("urgent", "concern"):
            continue
        found = "crisis" in decided[k]
        urgent = found and ("crisis" in views[k].urgent or oof[URGENCY][k] >= thresholds[URGENCY])
        if e.severity == "urgent":
            n_urgent += 1
            urgent_found += urgent
        else:
            n_concern += 1
            concern_raised += urgent
    return {"urgent_marked": n_urgent, "urgent_found_urgent": urgent_found / n_urgent if n_urgent else 1.0,
            "concern_marked": n_concern, "concern_made_urgent": concern_raised / n_concern if n_concern else 0.0}


def data_digest(examples: Sequence[Example]) -> str:
    """A fingerprint of the training data (sources, texts, labels and the questions answered)."""
    h = hashlib.sha256()
    for e in examples:
        asked = f"\t{e.question}" if e.question else ""
        h.update(f"{e.source}\t{e.text}\t{','.join(sorted(e.risks))}{asked}\n".encode("utf-8"))
    return h.hexdigest()[:16]


def _export(fitted: Fitted, thresholds: Mapping[str, float], info: Mapping[str, Any], *, version: int,
            digits: int | None = 5, with_other: Mapping[str, float] | None = None) -> dict[str, Any]:
    n_word = len(fitted.word_vocab)

    def num(v: float) -> float:
        return v if digits is None else round(v, digits)

    def block(vocab: Mapping[str, int], idf: Sequence[float], offset: int) -> dict[str, Any]:
        names = sorted(vocab, key=vocab.__getitem__)
        weights = [[num(coef[offset + vocab[f]]) for f in names] for coef in fitted.coefs]
        return {"features": names, "idf": [num(idf[vocab[f]]) for f in names], "weights": weights}

    blocks = {"word": block(fitted.word_vocab, fitted.word_idf, 0),
              "char": block(fitted.char_vocab, fitted.char_idf, n_word)}
    if fitted.question_vocab:
        blocks["question"] = block(fitted.question_vocab, fitted.question_idf, n_word + len(fitted.char_vocab))
    return {
        "format": FORMAT, "name": MODEL_NAME, "version": version, "outputs": list(OUTPUTS),
        "blocks": blocks,
        "bias": [num(b) for b in fitted.bias],
        "thresholds": dict(thresholds), "with_other": dict(with_other or {}), "info": dict(info),
    }


def to_dict(fitted: Fitted, report: Report, examples: Sequence[Example], version: int) -> dict[str, Any]:
    """The exported model: everything the plain-Python scorer needs, rounded so the file is small."""
    sources: dict[str, int] = {}
    for e in examples:
        sources[e.source] = sources.get(e.source, 0) + 1
    info = {"data": data_digest(examples), "sources": sources, "C": report.chosen_c,
            "cross_validation": "grouped by source file", "overall": report.overall,
            "untuned": report.untuned, "judged": report.judged, "nested": report.nested,
            "severity": report.severity}
    return _export(fitted, report.thresholds, info, version=version, with_other=report.with_other)


def next_version(path: Path, data: Mapping[str, Any]) -> int:
    """1 for a first model; the same number if nothing but the version would change; else +1."""
    try:
        old = read_model_file(path)
    except Exception:  # noqa: BLE001 - no usable old file: start at 1
        return 1
    old_version = int(old.get("version", 0))
    same = {**old, "version": 0} == {**data, "version": 0}
    return old_version if same else old_version + 1
