"""Recall and precision of the risk detector on the labelled development set.

Runs every message through the ``checkins assess`` interface (escalation.assess_cli.run),
prints per-category figures with 95% Wilson intervals, then lists every miss and every
false positive with the rules and context decisions involved.

    python benchmarks/risk_eval.py                 # whole dev set
    python benchmarks/risk_eval.py --holdout 0     # only fold 0 of 5 (kept unseen while writing rules)
    python benchmarks/risk_eval.py --exclude 0     # every fold except 0 (what the rules were written on)
    python benchmarks/risk_eval.py --challenge --split tune      # our own challenge set, tuning part
    python benchmarks/risk_eval.py --challenge --split holdout   # ...its held-out part (run once, at the end)
    python benchmarks/risk_eval.py --fresh                       # a second fresh set, kept unseen for round two
    python benchmarks/risk_eval.py --families --split tune       # round four: families a blind set missed

Folds are fixed by a hash of each message id, so they never change between runs. The dev set
lives outside the product (../shared/data/risk-dev.jsonl from the repo root); if it is absent
the script says so and exits 0. The challenge set (escalation/detect/training/challenge.jsonl)
is split 60/40 into "tune" and "holdout" by a hash of each message's text (``challenge_split``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from escalation.assess_cli import run  # noqa: E402
from escalation.detect import DEFAULT  # noqa: E402

CATEGORIES = ("crisis", "housing", "domestic_abuse")
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "risk-dev.jsonl"
CHALLENGE_DATA = ROOT / "escalation" / "detect" / "training" / "challenge.jsonl"
FRESH_DATA = ROOT / "escalation" / "detect" / "training" / "challenge_fresh.jsonl"
FAMILIES_DATA = ROOT / "escalation" / "detect" / "training" / "challenge_families.jsonl"
TARGET_RECALL, TARGET_PRECISION = 0.97, 0.85


def fold_of(message_id: str, folds: int) -> int:
    """Stable fold number for a message id."""
    return int(hashlib.sha256(message_id.encode("utf-8")).hexdigest(), 16) % folds


def challenge_split(text: str) -> str:
    """Stable 60/40 split of the challenge set by a hash of the message text."""
    return "tune" if int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16) % 10 < 6 else "holdout"


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", default=[DEFAULT_DATA],
                        help="labelled JSON-lines file(s) (text, risks); several are read as one set")
    parser.add_argument("--rules-only", action="store_true",
                        help="the rules without the learned layer (to compare the two on one run)")
    parser.add_argument("--folds", type=int, default=5)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--holdout", type=int, metavar="K", help="evaluate only on held-out fold K")
    group.add_argument("--exclude", type=int, metavar="K", help="evaluate on every fold except K")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--challenge", action="store_true", help=f"use the challenge set ({CHALLENGE_DATA.name})")
    parser.add_argument("--split", choices=("tune", "holdout"), help="only this part of the challenge set")
    parser.add_argument("--fresh", action="store_true",
                        help=f"use the second, fresh held-out set ({FRESH_DATA.name}), written after the first holdout run")
    parser.add_argument("--families", action="store_true",
                        help=f"use the round-four family set ({FAMILIES_DATA.name}): phrasing families a blind set missed, "
                        "written fresh in many variants; --split works on it too")
    parser.add_argument("--quiet", action="store_true", help="figures only, no list of misses")
    args = parser.parse_args(argv)
    if args.challenge:
        args.data = [CHALLENGE_DATA]
    if args.fresh:
        args.data = [FRESH_DATA]
    if args.families:
        args.data = [FAMILIES_DATA]

    missing = [p for p in args.data if not p.exists()]
    if missing:
        print(f"skipped: labelled set not found at {missing[0]}")
        return 0
    rows = [json.loads(line) for path in args.data for line in path.read_text("utf-8").splitlines() if line.strip()]
    for n, r in enumerate(rows):
        r.setdefault("id", f"line-{n + 1}")
    if args.split is not None:
        rows = [r for r in rows if challenge_split(r["text"]) == args.split]
        scope = f"{args.split} split"
    elif args.holdout is not None:
        rows = [r for r in rows if fold_of(r["id"], args.folds) == args.holdout]
        scope = f"held-out fold {args.holdout} of {args.folds}"
    elif args.exclude is not None:
        rows = [r for r in rows if fold_of(r["id"], args.folds) != args.exclude]
        scope = f"all folds except {args.exclude} of {args.folds}"
    elif args.split is None:
        scope = "whole set"

    # A reply inside a check-in is assessed with the question it answers, as the service does.
    stdin = io.StringIO("".join(json.dumps({"id": r["id"], "text": r["text"],
                                            **({"question": r["question"]} if r.get("question") else {})}) + "\n"
                                for r in rows))
    stdout = io.StringIO()
    if args.rules_only:
        from escalation.assess_cli import result
        from escalation.detect import rules_only

        for r in rows:
            stdout.write(json.dumps(result(r["text"], rules_only().assess(r["text"]))) + "\n")
    else:
        run(stdin, stdout)
    outputs = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert len(outputs) == len(rows), "assess must write one line per message"

    names = ", ".join(p.name for p in args.data)
    layer = "rules only" if args.rules_only else "rules + learned layer"
    print(f"risk detector ({layer}) on {names}: {len(rows)} messages ({scope})\n")
    print(f"{'category':<16}{'TP':>4}{'FN':>4}{'FP':>4}  {'recall':>7} {'95% CI':>13}  {'precision':>9}")
    ok = True
    misses: list[tuple[str, dict, dict]] = []
    false_alarms: list[tuple[str, dict, dict]] = []
    for cat in CATEGORIES:
        tp = fn = fp = 0
        for row, out in zip(rows, outputs):
            gold, got = cat in row["risks"], cat in out["risks"]
            if gold and got:
                tp += 1
            elif gold:
                fn += 1
                misses.append((cat, row, out))
            elif got:
                fp += 1
                false_alarms.append((cat, row, out))
        recall = tp / (tp + fn) if tp + fn else 1.0
        precision = tp / (tp + fp) if tp + fp else 1.0
        lo, hi = wilson(tp, tp + fn)
        ok &= recall >= TARGET_RECALL and precision >= TARGET_PRECISION
        print(f"{cat:<16}{tp:>4}{fn:>4}{fp:>4}  {recall:>7.3f} [{lo:.2f}, {hi:.2f}]  {precision:>9.3f}")

    gold_any = [bool(r["risks"]) for r in rows]
    got_any = [bool(o["risks"]) for o in outputs]
    tp = sum(g and h for g, h in zip(gold_any, got_any))
    none = sum(not g for g in gold_any)
    false_alerts = sum(h and not g for g, h in zip(gold_any, got_any))
    print(f"\nany risk: recall {tp}/{sum(gold_any)}, false alerts on 'none' messages: "
          f"{false_alerts}/{none} ({100 * false_alerts / max(none, 1):.1f} per 100)")
    marked = [(r, o) for r, o in zip(rows, outputs) if "crisis" in r["risks"] and r.get("severity") in ("urgent", "concern")]
    if marked:
        urgent = [o for r, o in marked if r["severity"] == "urgent"]
        concern = [o for r, o in marked if r["severity"] == "concern"]
        found_urgent = sum(o["severity"].get("crisis") == "urgent" for o in urgent)
        made_urgent = sum(o["severity"].get("crisis") == "urgent" for o in concern)
        print(f"crisis severity: {found_urgent}/{len(urgent)} marked urgent found urgent; "
              f"{made_urgent}/{len(concern)} marked concern made urgent")
    failed = sum(bool(o.get("failed")) for o in outputs)
    print(f"detector failures (flagged for review): {failed}")
    print(f"targets (recall >= {TARGET_RECALL}, precision >= {TARGET_PRECISION} per category): "
          f"{'MET' if ok else 'NOT MET'}")

    def show(title: str, items: list[tuple[str, dict, dict]]) -> None:
        print(f"\n{title}: {len(items)}")
        for cat, row, out in items:
            print(f"  [{cat}] {row['id']}: {row['text']!r}")
            print(f"      labelled {row['risks']}, detected {out['risks']} {out['severity']}")
            assert DEFAULT is not None
            for trace in DEFAULT.explain(row["text"]):
                state = "kept" if trace.kept else "set aside (" + ", ".join(sorted(trace.modifiers)) + ")"
                print(f"      - {trace.rule_id} {trace.severity} {trace.evidence!r}: {state}")

    if args.quiet:
        return 1 if (args.check and not ok) else 0
    show("MISSES (labelled risk not detected)", misses)
    show("FALSE POSITIVES (detected, not labelled)", false_alarms)
    return 1 if (args.check and not ok) else 0


if __name__ == "__main__":
    raise SystemExit(main())
