"""Equivalence check for speed work on the risk detector: same input, same output, always.

    python benchmarks/risk_equivalence.py record /tmp/risk-ref.jsonl [--synthetic 150000]
    python benchmarks/risk_equivalence.py check /tmp/risk-ref.jsonl

``record`` builds a corpus (every labelled set in escalation/detect/training, the dev set
if present, every rule example, every string literal in the detector's tests, the speed
benchmark's mix, and a seeded synthetic corpus of everyday replies, spliced and trimmed
messages and random word salads over the rules' own vocabulary) and stores, per message,
the full ``assess`` result and every ``explain`` trace. ``check`` re-runs the stored texts
through the current code and reports every message whose output differs. The reference
file stores the texts, so a rule-example edit cannot silently change the corpus.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import re
import sys
import time
import tomllib
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from escalation.detect import default_detector  # noqa: E402

DATA = ROOT / "escalation" / "detect" / "training"
DEV = ROOT.parent / "shared" / "data" / "risk-dev.jsonl"
RULES = ROOT / "escalation" / "detect" / "rules"
TESTS = ROOT / "tests" / "escalation"

_WORD = re.compile(r"[A-Za-z0-9'&]+")


def _jsonl_texts(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines() if line.strip()]


def _toml_strings(node: Any, key: str = "") -> Iterable[str]:
    """Every example sentence in a rule file (matches, ignores and any other example list)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _toml_strings(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _toml_strings(v, key)
    elif isinstance(node, str) and key in ("matches", "ignores", "examples", "fires", "quiet"):
        yield node


def _toml_words(node: Any) -> Iterable[str]:
    """Plain words and short phrases anywhere in the rule data (lists, maps, cue words)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(k, str) and len(k) < 30:
                yield k
            yield from _toml_words(v)
    elif isinstance(node, list):
        for v in node:
            yield from _toml_words(v)
    elif isinstance(node, str) and len(node) < 40 and re.fullmatch(r"[\w' &]+", node):
        yield node


def _test_literals() -> list[str]:
    out: list[str] = []
    for path in sorted(TESTS.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text("utf-8"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and " " in node.value:
                if len(node.value) < 400:
                    out.append(node.value)
    return out


def corpus(synthetic: int, seed: int = 20241127) -> list[str]:
    """The texts to compare on, in a fixed order (deterministic for a given tree)."""
    real: list[str] = []
    for path in sorted(DATA.glob("*.jsonl")):
        real += _jsonl_texts(path)
    if DEV.exists():
        real += _jsonl_texts(DEV)
    examples: list[str] = []
    words: list[str] = []
    for path in sorted(RULES.glob("*.toml")):
        data = tomllib.loads(path.read_text("utf-8"))
        examples += list(_toml_strings(data))
        words += list(_toml_words(data))
    literals = _test_literals()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import risk_speed  # noqa: E402

    speed = list(risk_speed.EVERYDAY) + list(risk_speed.RISK)
    base = real + examples + literals + speed
    vocab = sorted({w for t in base for w in _WORD.findall(t)} | {w for w in words})
    everyday_vocab = sorted({w for t in speed[: len(risk_speed.EVERYDAY)] for w in t.split()})
    rng = random.Random(seed)
    synth: list[str] = []
    joins = [" ", ". ", ", ", "! ", " and ", "\n", " but ", "... ", " lol ", " tonight "]
    for i in range(synthetic):
        kind = i % 8
        if kind == 0:  # an everyday reply, maybe two
            t = rng.choice(speed[: len(risk_speed.EVERYDAY)])
            if rng.random() < 0.5:
                t += rng.choice(joins) + rng.choice(speed)
        elif kind == 1:  # two real messages spliced
            t = rng.choice(base) + rng.choice(joins) + rng.choice(base)
        elif kind == 2:  # a real message with words dropped
            ws = rng.choice(base).split()
            t = " ".join(w for w in ws if rng.random() > 0.25) or "ok"
        elif kind == 3:  # a word salad over the rules' vocabulary
            t = " ".join(rng.choice(vocab) for _ in range(rng.randint(2, 18)))
        elif kind == 4:  # word salad mixing everyday words and rule words, with punctuation
            parts = []
            for _ in range(rng.randint(3, 25)):
                parts.append(rng.choice(vocab) if rng.random() < 0.4 else rng.choice(everyday_vocab))
                if rng.random() < 0.1:
                    parts[-1] += rng.choice([".", ",", "!", "?", " 😭", " 💊", " x"])
            t = " ".join(parts)
        elif kind == 5:  # a real message, upper/lower case and stretched letters
            t = rng.choice(base)
            if rng.random() < 0.5:
                t = t.upper()
            t = re.sub(r"([aeiou])", lambda m: m.group(1) * (3 if rng.random() < 0.05 else 1), t)
        elif kind == 6:  # a real message, words swapped for others of the vocabulary
            ws = rng.choice(base).split()
            t = " ".join(rng.choice(vocab) if rng.random() < 0.2 else w for w in ws)
        else:  # a real message with a rule word inserted
            ws = rng.choice(base).split()
            ws.insert(rng.randint(0, len(ws)), rng.choice(words) if words else "x")
            t = " ".join(ws)
        synth.append(t)
    extra = ["", " ", "\n", ".", "x" * 500, "I'm", "i'm not", "😭😭😭", "a&e", "b&b tonight", "12345"]
    seen: set[str] = set()
    out = []
    for t in base + extra + synth:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def result(detector: Any, text: str) -> dict[str, Any]:
    a = detector.assess(text)
    traces = detector.explain(text)
    return {
        "failed": a.failed,
        "findings": [[f.category, f.severity, f.evidence, f.rule_id] for f in a.findings],
        "traces": [[t.rule_id, t.category, t.severity, t.evidence, sorted(t.modifiers), t.kept, t.score]
                   for t in traces],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("record", "check"))
    parser.add_argument("path", type=Path)
    parser.add_argument("--synthetic", type=int, default=150_000)
    parser.add_argument("--show", type=int, default=10, help="differences to print")
    args = parser.parse_args(argv)
    detector = default_detector()
    t0 = time.perf_counter()
    if args.mode == "record":
        texts = corpus(args.synthetic)
        with args.path.open("w", encoding="utf-8") as fh:
            for text in texts:
                fh.write(json.dumps({"text": text, **result(detector, text)}, ensure_ascii=False) + "\n")
        print(f"recorded {len(texts)} messages in {time.perf_counter() - t0:.1f}s")
        return 0
    differ = 0
    total = 0
    assess_differ = 0
    risk_differ = 0  # a category or severity differs, not only the evidence shown
    with args.path.open(encoding="utf-8") as fh:
        for line in fh:
            ref = json.loads(line)
            text = ref.pop("text")
            now = result(detector, text)
            total += 1
            if now != ref:
                differ += 1
                if now["findings"] != ref["findings"] or now["failed"] != ref["failed"]:
                    assess_differ += 1
                    if [f[:2] for f in now["findings"]] != [f[:2] for f in ref["findings"]]:
                        risk_differ += 1
                if differ <= args.show:
                    print(f"DIFF {text!r}\n  ref {ref}\n  now {now}")
    print(f"checked {total} messages in {time.perf_counter() - t0:.1f}s: "
          f"{differ} differ ({assess_differ} in assess output, {risk_differ} in category or severity)")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
