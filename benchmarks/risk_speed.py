"""Throughput of the risk detector on one core (messages per CPU-second).

    python benchmarks/risk_speed.py [--runs 3] [--seconds 3]

The headline is **distinct texts**: every labelled training text once (7,800, about 60% risky,
many long), so no cache of whole texts can help; then the short ones (12 words or fewer) and
the risk-free ones, each once. Each run builds a fresh detector and a fresh model (empty
caches: only the per-word caches fill up as the run goes, as they do in a running service),
compiles every pattern first as the service's `warm_up` does, then times each text once by the
process's CPU time (one core; on a shared machine wall-clock time measures the other jobs).
The median over ``--runs`` runs is the figure; the range is shown beside it.

For comparison it also measures repeated traffic: a built-in mix of everyday replies and risk
messages, and the dev set if present (../shared/data/risk-dev.jsonl), cycled for ``--seconds``;
there the learned layer's cache of recent texts helps, as repeated "yes"/"ok" replies do.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from escalation.detect import assess  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "risk-dev.jsonl"

# Mostly ordinary replies, as real traffic is; a few risk messages so the slow path is exercised.
EVERYDAY = [
    "yes", "no", "ok thanks", "all good mate", "see you thurs", "can we move to 3pm?", "1", "y",
    "had a decent week, went to the gym twice and sorted my UC journal",
    "bit tired, started the new job monday, long shifts but its alright",
    "probation appointment went fine, next one in 2 weeks",
    "my daughter came round sunday, first time in ages, made my week",
    "skint til payday but managing, food bank helped",
    "can you send me the address for the course again pls",
    "I'd kill for a bacon roll right now",
    "this weather is killing me, roll on summer",
    "dead on my feet after that double shift",
    "not great, bit low, but talked to my mum and feel better",
    "phone's nearly dead, will text tomorrow",
    "court got adjourned again, so annoying but solicitor says its fine",
    "landlord finally fixed the shower",
    "Good morning! Just checking in, all fine here. Looking forward to the football on Saturday with my brother, first match together since I got out.",
]
RISK = [
    "got nowhere to sleep tonight",
    "i just want to die",
    "he took my bank card again and says ill get nothing if i leave",
    "landlord gave me a section 21, got to be out by the end of the month",
    "been saving my tablets",
    "my ex keeps turning up outside the hostel at night",
]


def measure(messages: list[str], seconds: float) -> tuple[float, float]:
    """(wall-clock, CPU-time) messages per second over at least ``seconds`` of wall time.

    CPU time is the per-core figure on a busy machine; wall time is what one idle core gives.
    """
    for m in messages:  # warm caches and compiled regexes
        assess(m)
    count = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while True:
        for m in messages:
            assess(m)
        count += len(messages)
        wall = time.perf_counter() - wall0
        if wall >= seconds:
            return count / wall, count / (time.process_time() - cpu0)


def report(label: str, messages: list[str], seconds: float, runs: int) -> None:
    """Print one measurement, or the best and median of ``runs`` shorter ones."""
    if runs <= 1:
        wall, cpu = measure(messages, seconds)
        print(f"{label}: {wall:,.0f} messages/s wall, {cpu:,.0f} messages/s per CPU-second")
        return
    results = sorted(measure(messages, seconds / runs) for _ in range(runs))
    cpus = sorted(cpu for _, cpu in results)
    print(f"{label}, {runs} runs: best {cpus[-1]:,.0f}, median {statistics.median(cpus):,.0f} messages/s "
          f"per CPU-second (wall best {results[-1][0]:,.0f})")


def labelled_texts() -> list[str]:
    """Every distinct text of the labelled training sets, in file order."""
    seen: dict[str, None] = {}
    for path in sorted((ROOT / "escalation" / "detect" / "training").glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                seen[json.loads(line)["text"]] = None
    return list(seen)


def risk_free_texts() -> list[str]:
    """The labelled texts no author marked with a risk (many are look-alikes: films, the past)."""
    out: dict[str, None] = {}
    for path in sorted((ROOT / "escalation" / "detect" / "training").glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if not row.get("risks"):
                    out[row["text"]] = None
    return list(out)


def distinct_run(texts: list[str]) -> float:
    """One run: a fresh detector and model (nothing cached), every pattern compiled first (the
    service's warm-up), then each text once. Messages per CPU-second of this process."""
    from escalation.detect import learned
    from escalation.detect.detector import default_detector

    learned.load.cache_clear()  # a new model object: its caches (texts, words) start empty
    learned.LearnedModel._probabilities.cache_clear()
    if hasattr(learned.LearnedModel, "_analysis"):
        learned.LearnedModel._analysis.cache_clear()
    detector = default_detector()
    detector.check()
    cpu0 = time.process_time()
    for text in texts:
        detector.assess(text)
    return len(texts) / (time.process_time() - cpu0)


def distinct(label: str, texts: list[str], runs: int) -> list[float]:
    """Print and return the per-run rates of `distinct_run` (median first)."""
    rates = [distinct_run(texts) for _ in range(max(1, runs))]
    print(f"{label}: median {statistics.median(rates):,.0f} messages/s per CPU-second "
          f"(runs {min(rates):,.0f}-{max(rates):,.0f}, {len(rates)} runs)")
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement (the median is the figure)")
    args = parser.parse_args(argv)
    texts = labelled_texts()
    short = [t for t in texts if len(t.split()) <= 12]
    print("distinct texts, each once (fresh detector each run; the headline):")
    distinct(f"  every labelled text once ({len(texts):,} messages, about 60% risky)", texts, args.runs)
    distinct(f"  labelled texts of 12 words or fewer, each once ({len(short):,})", short, args.runs)
    free = risk_free_texts()
    distinct(f"  risk-free labelled texts, each once ({len(free):,})", free, args.runs)
    print("repeated traffic (the learned layer's cache of recent texts helps):")
    mix = EVERYDAY * 3 + RISK  # about 1 in 11 messages carries a risk
    report(f"  built-in mix ({len(mix)} messages, ~{len(RISK) / len(mix):.0%} risky)", mix, args.seconds, args.runs)
    if DEV.exists():
        dev = [json.loads(line)["text"] for line in DEV.read_text("utf-8").splitlines() if line.strip()]
        report(f"  dev set ({len(dev)} messages, 60% risky)", dev, args.seconds, args.runs)
    else:
        print(f"  dev set not found at {DEV}; skipped that measurement")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
