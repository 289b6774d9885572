"""The full inbound path in one process, before and after a change, in the same run.

Each round runs the same work in two source trees, alternately, as child processes: N signed-off
inbound SMS stored through the webhook's sink, each turn run, and every reply and staff nudge sent
by the real Twilio client to the fake Twilio API (a thread of the same process). The figure is
CPU time per message (the whole process: our code, the client, the fake), which a busy machine
disturbs far less than wall time. The ratio before/after is the speed-up.

    git worktree add /tmp/checkins-before <commit>      # or: git archive <commit> | tar -x -C DIR
    python benchmarks/inbound_path.py --before /tmp/checkins-before --rounds 3
    python benchmarks/inbound_path.py --profile profile.txt   # pyinstrument, this tree only
    python benchmarks/inbound_path.py --crisis --messages 100  # every text a crisis

`--before-without-sniffio` hides sniffio from the before run (its absence made httpcore re-run a
failed import on every request).
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
import asyncio, json, sys, tempfile, time, os
sys.path.insert(0, os.getcwd())
args = json.loads(sys.argv[1])
if args["hide_sniffio"]:
    class _Hide:
        def find_spec(self, name, path=None, target=None):
            if name == "sniffio":
                raise ModuleNotFoundError("No module named 'sniffio'", name="sniffio")
    sys.modules.pop("sniffio", None)
    sys.meta_path.insert(0, _Hide())
from dataclasses import replace
from datetime import UTC, datetime
from sqlalchemy import insert
from bot.channels.base import InboundMessage
from bot.config import Config
from bot.service import admin, outbox, turns
from bot.service.runtime import build_services
from bot.service.server import build_channels
from bot.service.sink import DatabaseSink
from bot.storage.models import Mentee
from escalation.detect import warm_up
from tests.fakes.twilio_server import FakeTwilio

n = args["messages"]
with FakeTwilio() as fake, tempfile.TemporaryDirectory() as tmp:
    cfg = Config().with_database(args["database"] or f"sqlite:///{tmp}/path.db")
    cfg = replace(cfg, service=replace(cfg.service, quiet_hours=""),
                  twilio=replace(cfg.twilio, enabled=True, account_sid=fake.account_sid,
                                 auth_token=fake.auth_token, from_number=fake.from_number,
                                 api_base_url=fake.url, messages_per_second=0.0))
    svc = build_services(cfg)
    svc.channels = build_channels(cfg, svc.clock)
    now = datetime.now(UTC)
    try:  # phones are encrypted at rest: a bulk insert gives each its keyed hash itself
        from bot.storage.sealed import keyring_of
        lookup = keyring_of(svc.engine.dialect).lookup
    except ImportError:  # a tree from before encryption
        lookup = None
    with svc.sessions() as s, s.begin():
        admin.add_staff(s, now, name="Sam Okafor", role="supervisor", phone="+447700900102", channels="sms")
        mentor = admin.add_staff(s, now, name="Maya Patel", role="mentor", phone="+447700900101",
                                 channels="sms", supervisor="Sam Okafor")
        s.execute(insert(Mentee), [
            {"first_name": f"C{i}", "last_name": "Test", "phone": f"+4477{i:08d}", "preferred_channel": "sms",
             "mentor_id": mentor.id, "timezone": "Europe/London", "status": "active", "sms_reachable": True,
             "telegram_reachable": True, "plan": None, "plan_version": 0, "missed_streak": 0,
             "created_at": now, **({"phone_hash": lookup(f"+4477{i:08d}")} if lookup else {})}
            for i in range(n)])
    warm_up()
    sink = DatabaseSink(svc)
    texts = (["Got a rope and im doing it tonight, ive had enough"] * 2 if args.get("crisis")
             else ["feeling ok this week, nothing much to report", "bit tired but fine"])
    inbound = [InboundMessage(channel="sms", provider_id=f"SM{i:032x}", address=f"+4477{i:08d}",
                              text=texts[i % 2]) for i in range(n)]
    profiler = None
    if args["profile"]:
        from pyinstrument import Profiler
        profiler = Profiler(interval=0.001)
        profiler.start()
    statements = [0]
    from sqlalchemy import event
    event.listen(svc.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    cpu, wall = time.process_time(), time.perf_counter()
    for k in range(0, n, 64):  # as concurrent webhooks arrive: group commits of up to 64
        sink.store_batch_sync(inbound[k:k + 64])
    turn_cpu = [0.0]  # CPU in the turns alone (the rest is the webhook's sink and the sends)
    async def drain():
        while True:
            began = time.process_time()
            handled = turns.process_inbound(svc)
            turn_cpu[0] += time.process_time() - began
            sent = await outbox.send_pass(svc)
            if not handled and not sent:
                break
        for channel in svc.channels.values():
            await channel.close()
    asyncio.run(drain())
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profiler is not None:
        profiler.stop()
        open(args["profile"], "w").write(profiler.output_text(unicode=False, color=False))
    print(json.dumps({"messages": n, "sends": len(fake.messages), "cpu": cpu, "wall": wall,
                      "statements": statements[0], "turn_cpu": turn_cpu[0]}))
'''


def run_tree(tree: Path, messages: int, database: str, hide_sniffio: bool, profile: str = "",
             crisis: bool = False) -> dict:
    arg = json.dumps({"messages": messages, "database": database, "hide_sniffio": hide_sniffio,
                      "crisis": crisis,
                      "profile": profile})
    out = subprocess.run([sys.executable, "-c", CHILD, arg], cwd=tree, check=True, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(tree)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default="", help="source tree of the earlier commit")
    ap.add_argument("--before-without-sniffio", action="store_true")
    ap.add_argument("--messages", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--database", default="", help="default: a temporary SQLite file")
    ap.add_argument("--profile", default="", help="write a pyinstrument profile of this tree to FILE")
    ap.add_argument("--crisis", action="store_true",
                    help="every text a crisis (an alert, its ladder, two staff pages, the helplines)")
    args = ap.parse_args()
    if args.profile:
        print(run_tree(ROOT, args.messages, args.database, False, str(Path(args.profile).resolve()),
                       args.crisis))
        return 0
    per: dict[str, list[float]] = {"before": [], "after": []}
    turn: dict[str, list[float]] = {"before": [], "after": []}
    for r in range(args.rounds):
        for name, tree, hide in (("before", Path(args.before), args.before_without_sniffio),
                                 ("after", ROOT, False)):
            if name == "before" and not args.before:
                continue
            result = run_tree(tree, args.messages, args.database, hide, crisis=args.crisis)
            ms = result["cpu"] / result["messages"] * 1000
            per[name].append(ms)
            turn[name].append(result["turn_cpu"] / result["messages"] * 1000)
            print(f"round {r + 1} {name:6}: {ms:.2f} ms CPU per message, of which the turn "
                  f"{turn[name][-1]:.2f} ms ({result['sends']} sends, "
                  f"{result['statements'] / result['messages']:.1f} SQL statements per message "
                  f"(machine-independent), {result['wall']:.1f} s wall)", flush=True)
    for name, values in per.items():
        if values:
            print(f"{name}: median {statistics.median(values):.2f} ms CPU per message "
                  f"= {1000 / statistics.median(values):,.0f} messages per CPU-second")
    for name, values in turn.items():
        if values:
            print(f"{name}: median {statistics.median(values):.2f} ms CPU per message in the turn")
    if per["before"]:
        print(f"turn speed-up (before / after, medians): "
              f"x{statistics.median(turn['before']) / statistics.median(turn['after']):.2f}")
        print(f"speed-up (before / after, medians): x{statistics.median(per['before']) / statistics.median(per['after']):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
