"""Throughput of the risk detector on one core (messages per second).

    python benchmarks/risk_speed.py [--seconds 3] [--runs 5]

Uses a built-in mix of everyday check-in replies and risk messages; if the labelled dev set
is present (../shared/data/risk-dev.jsonl) it is measured too, as a risk-heavy worst case.
Both repeat their texts, so the learned layer's cache of recent texts helps them; the last two
figures take every labelled training text once, which nothing cached can help.
Single process, single thread: the figure is per core. With ``--runs N`` the time is split
into N runs and the best and median per-CPU-second figures are shown: on a shared machine
the best run is the closest to what one free core gives, the median what a loaded one does.
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


def distinct(label: str, texts: list[str]) -> None:
    """Each text once, none seen before: no cache helps (the repeated mixes above are helped by
    the learned layer's cache of recent texts, as repeated replies like "yes" are in real use)."""
    from escalation.detect.detector import default_detector

    detector = default_detector()  # a fresh one: nothing cached
    detector.assess("warm up")
    cpu0 = time.process_time()
    for text in texts:
        detector.assess(text)
    print(f"{label}: {len(texts) / (time.process_time() - cpu0):,.0f} messages/s per CPU-second")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=1, help="split the time into this many runs")
    args = parser.parse_args(argv)
    mix = EVERYDAY * 3 + RISK  # about 1 in 11 messages carries a risk
    report(f"built-in mix ({len(mix)} messages, ~{len(RISK) / len(mix):.0%} risky)", mix, args.seconds, args.runs)
    if DEV.exists():
        texts = [json.loads(line)["text"] for line in DEV.read_text("utf-8").splitlines() if line.strip()]
        report(f"dev set ({len(texts)} messages, 60% risky)", texts, args.seconds, args.runs)
    else:
        print(f"dev set not found at {DEV}; skipped that measurement")
    training = ROOT / "escalation" / "detect" / "training"
    seen: dict[str, None] = {}
    for path in sorted(training.glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                seen[json.loads(line)["text"]] = None
    texts = list(seen)
    short = [t for t in texts if len(t.split()) <= 12]
    distinct(f"labelled sets, each text once ({len(texts)} messages, about 60% risky)", texts)
    distinct(f"labelled sets, texts of 12 words or fewer, each once ({len(short)})", short)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
