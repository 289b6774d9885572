"""How much the recall layers (broad nets, small model) add on messages they were not fit on.

The phrase rules were tuned on every labelled set we have, so their own figures on those sets
say nothing about unseen phrasing. This script measures the layers *under* the rules the way
they would meet new traffic: against an older rule set that had not seen a split yet.

    python benchmarks/risk_generalisation.py                       # current rules, every set
    python benchmarks/risk_generalisation.py --rules-from c4817fc  # round-one rules (had seen only the tune split)
    python benchmarks/risk_generalisation.py --rules-from 91b6554  # round-two rules (had not seen the fresh set)
    python benchmarks/risk_generalisation.py --sets fresh holdout --show-misses

For each set it prints recall / precision per category for: the rules alone, the broad nets
alone, and rules + nets (OR: a net only adds). With ``--rules-from REV`` the rule files,
normaliser and context of commit REV are unpacked to a temporary directory (git archive) and
the *current* nets are run with that commit's normaliser and context, so neither the rules nor
the context checks carry knowledge from later rounds. If an optional model layer
(``escalation/detect/model.py`` with ``load_model``) is ever added, its columns appear too;
none ships today.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "escalation" / "detect" / "training"
DEV = ROOT.parent / "shared" / "data" / "risk-dev.jsonl"
CATEGORIES = ("crisis", "housing", "domestic_abuse")
# New files copied into an old tree so the current layers run on top of old rules.
LAYER_FILES = ("broadnet.py", "rules/broad.toml", "model.py", "model_weights.json")


def challenge_split(text: str) -> str:
    """The 60/40 tune/holdout split of challenge.jsonl (same as benchmarks/risk_eval.py)."""
    return "tune" if int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16) % 10 < 6 else "holdout"


def load_sets(names: list[str]) -> dict[str, list[dict]]:
    """Named labelled sets: tune, holdout (challenge.jsonl splits), fresh, dev (if present)."""
    def read(path: Path) -> list[dict]:
        return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]

    challenge = read(DATA / "challenge.jsonl")
    out: dict[str, list[dict]] = {}
    for name in names:
        if name in ("tune", "holdout"):
            out[name] = [r for r in challenge if challenge_split(r["text"]) == name]
        elif name == "fresh":
            out[name] = read(DATA / "challenge_fresh.jsonl")
        elif name == "dev":
            if DEV.exists():
                out[name] = read(DEV)
            else:
                print(f"dev set not found at {DEV}; skipped")
    return out


def score(rows: list[dict], got: list[set[str]]) -> dict[str, tuple[int, int, int]]:
    """(tp, fn, fp) per category."""
    out = {}
    for cat in CATEGORIES:
        tp = sum(cat in r["risks"] and cat in g for r, g in zip(rows, got))
        fn = sum(cat in r["risks"] and cat not in g for r, g in zip(rows, got))
        fp = sum(cat not in r["risks"] and cat in g for r, g in zip(rows, got))
        out[cat] = (tp, fn, fp)
    return out


def fmt(s: tuple[int, int, int]) -> str:
    tp, fn, fp = s
    r = tp / (tp + fn) if tp + fn else 1.0
    p = tp / (tp + fp) if tp + fp else 1.0
    return f"{r:.2f} / {p:.2f}"


def evaluate(sets: dict[str, list[dict]], model_path: str | None, show_misses: bool) -> None:
    """Run every layer on every set with whatever ``escalation.detect`` is importable."""
    from escalation.detect import DEFAULT  # the rules of this tree
    from escalation.detect.broadnet import default_nets

    assert DEFAULT is not None, "rules failed to load"
    norm = DEFAULT._normaliser
    nets = default_nets(DEFAULT._context)
    model = None
    try:
        from escalation.detect.model import load_model
        model = load_model(Path(model_path) if model_path else None)
    except (ImportError, FileNotFoundError):
        pass
    for name, rows in sets.items():
        layers: dict[str, list[set[str]]] = {"rules": [], "nets": [], "model": [], "rules+nets": [], "rules+nets+model": []}
        for r in rows:
            rules = {f.category for f in DEFAULT.assess(r["text"]).findings if not f.rule_id.startswith(("net.", "model."))}
            t = norm.normalise(r["text"]).text
            net = {h.category for h in nets.hits(t)}
            mod = set(model.categories(t)) if model else set()
            layers["rules"].append(rules)
            layers["nets"].append(net)
            layers["model"].append(mod)
            layers["rules+nets"].append(rules | net)
            layers["rules+nets+model"].append(rules | net | mod)
        print(f"\n{name} ({len(rows)} messages): recall / precision")
        print(f"  {'layers':<18}" + "".join(f"{c:>18}" for c in CATEGORIES))
        for layer, got in layers.items():
            if layer.endswith("model") and model is None:
                continue
            s = score(rows, got)
            print(f"  {layer:<18}" + "".join(f"{fmt(s[c]):>18}" for c in CATEGORIES))
        if show_misses:
            for cat in CATEGORIES:
                for r, g in zip(rows, layers["rules+nets+model"]):
                    if (cat in r["risks"]) != (cat in g):
                        kind = "MISS" if cat in r["risks"] else "FALSE"
                        print(f"    {kind} [{cat}] {r['text']!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules-from", metavar="REV", help="run the rules of this git commit under the current layers")
    parser.add_argument("--sets", nargs="+", default=["tune", "holdout", "fresh", "dev"],
                        choices=["tune", "holdout", "fresh", "dev"])
    parser.add_argument("--model", help="model weights JSON (default: the shipped escalation/detect/model_weights.json)")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--_inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rules_from and not args._inner:
        with tempfile.TemporaryDirectory() as tmp:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.rules_from, "escalation"],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            for rel in LAYER_FILES:
                src = ROOT / "escalation" / "detect" / rel
                if src.exists():
                    shutil.copy(src, Path(tmp) / "escalation" / "detect" / rel)
            print(f"rules, normaliser and context from {args.rules_from}; nets and model from the working tree")
            env = dict(os.environ, PYTHONPATH=tmp)
            inner = [sys.executable, __file__, "--_inner", "--sets", *args.sets]
            if args.model:
                inner += ["--model", str(Path(args.model).resolve())]
            if args.show_misses:
                inner.append("--show-misses")
            return subprocess.run(inner, env=env, cwd=tmp).returncode
    if not args._inner:
        sys.path.insert(0, str(ROOT))
    evaluate(load_sets(args.sets), args.model, args.show_misses)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
