"""CPU per SMS sent through the real twilio Client, this tree and (optionally) an earlier one.

Each tree runs in its own child process: its TwilioSmsChannel sends N messages to the fake
Twilio API (a thread of that process) with 1, 16 and 32 in flight, as the outbox does. The
figure is the CPU time of the sending thread only (time.thread_time: the client, not the fake),
which a busy machine disturbs far less than wall time.

    git archive <commit> | tar -x -C /tmp/before
    python benchmarks/twilio_send_cpu.py --before /tmp/before --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import asyncio, json, os, sys, time
sys.path.insert(0, os.getcwd())
from bot.channels.base import OutboundText
from bot.channels.twilio_sms import TwilioSmsChannel
from tests.fakes.twilio_server import FakeTwilio
args = json.loads(sys.argv[1])
out = {}
with FakeTwilio() as fake:
    for conc in args["concurrency"]:
        channel = TwilioSmsChannel(fake.account_sid, fake.auth_token, from_number=fake.from_number,
                                   api_base_url=fake.url)
        async def main():
            await channel.send(OutboundText("+447700900123", "warm-up"))  # the connection
            gate = asyncio.Semaphore(conc)
            async def one(i):
                async with gate:
                    await channel.send(OutboundText(f"+4477009{i:05d}", "Hi Sam, how has your week been? Reply 1 to 5."))
            cpu, wall = time.thread_time(), time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(args["messages"])))
            out[conc] = ((time.thread_time() - cpu) / args["messages"] * 1000,
                         (time.perf_counter() - wall) / args["messages"] * 1000)
            await channel.close()
        asyncio.run(main())
print(json.dumps(out))
'''


def run_tree(tree: Path, messages: int, concurrency: list[int]) -> dict[str, list[float]]:
    arg = json.dumps({"messages": messages, "concurrency": concurrency})
    done = subprocess.run([sys.executable, "-c", CHILD, arg], cwd=tree, check=True, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(tree)})
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default="", help="source tree of the earlier commit")
    ap.add_argument("--messages", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", default="1,16,32")
    args = ap.parse_args()
    concurrency = [int(c) for c in args.concurrency.split(",")]
    trees = ([("before", Path(args.before))] if args.before else []) + [("after", ROOT)]
    cpu: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        for name, tree in trees:  # alternately, so both see the same moments of a busy machine
            for conc, (ms, wall) in run_tree(tree, args.messages, concurrency).items():
                cpu.setdefault((name, conc), []).append(ms)
                print(f"round {r + 1} {name:6} {conc:>2} in flight: {ms:.2f} ms CPU per send "
                      f"({wall:.2f} ms wall)", flush=True)
    for conc in map(str, concurrency):
        line = "  ".join(f"{name} {statistics.median(cpu[(name, conc)]):.2f} ms"
                         for name, _ in trees)
        ratio = ""
        if args.before:
            ratio = f"  (x{statistics.median(cpu[('before', conc)]) / statistics.median(cpu[('after', conc)]):.1f})"
        print(f"{conc:>2} in flight, median CPU per send: {line}{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
