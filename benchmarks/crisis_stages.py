"""Where a crisis text's time goes, stage by stage, in the real service on PostgreSQL.

The service runs as in `python -m benchmarks` (a child process with its real loops and the real
Twilio client; the fake Twilio API in this process), with wall-clock stamps around its stages:
the webhook's group commit, the wait for a turn, the turn, its batch's commit, the claim and the
send of both staff alerts. Bursts of crisis texts are posted with ordinary texts alongside.

    CHECKINS_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
      python benchmarks/crisis_stages.py --bursts 10:8,50:3

Stages of each crisis text, in order (their sum is the total):
  intake         webhook posted -> its row committed (group commit)
  wait_turn      committed -> its turn starts (the turns before it, each batch's commit)
  turn           the turn itself (detection, alert, ladder, safety replies, staff alerts queued)
  to_commit      turn done -> its batch committed
  to_send_start  committed -> the later of the two staff alerts starts sending (claim, gate)
  send           that send -> the alert at the provider
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import suite as S  # noqa: E402
from bot.config import Config  # noqa: E402

_events: list[tuple[Any, ...]] = []
_lock = threading.Lock()


def _stamp(*what: Any) -> None:
    with _lock:
        _events.append((time.time(), *what))


def _timed_service(config: Config, port: int, web_only: bool) -> None:
    """The benchmark's service process, its stages wrapped with stamps (dumped on SIGTERM)."""
    import signal

    from bot.service import outbox, sink, turns

    handle, batch, claim = turns.handle_message, turns._process_batch, outbox._claim_jobs
    send, record, store = outbox._send, outbox.record_outcomes, sink.DatabaseSink.store_batch_sync

    def timed_handle(session: Any, svc: Any, row: Any, now: Any, *rest: Any) -> None:
        began = time.time()
        handle(session, svc, row, now, *rest)  # `rest`: what the pass read ahead for it
        _stamp("turn", row.address, began, time.time())

    def timed_batch(svc: Any, limit: int, **kw: Any) -> Any:
        began = time.time()
        result = batch(svc, limit, **kw)
        _stamp("batch", result[0], began, time.time())
        return result

    def timed_claim(svc: Any, limit: int, urgent_only: bool, held: Any) -> Any:
        began = time.time()
        jobs = claim(svc, limit, urgent_only, held)
        _stamp("claim", urgent_only, len(jobs), began, time.time())
        return jobs

    async def timed_send(svc: Any, job: Any) -> Any:
        began = time.time()
        outcome = await send(svc, job)
        _stamp("send", job.address, job.text[:24], began, time.time())
        return outcome

    def timed_record(svc: Any, outcomes: Any) -> None:
        began = time.time()
        record(svc, outcomes)
        _stamp("receipt", len(outcomes), began, time.time())

    def timed_store(self: Any, messages: Any) -> Any:
        began = time.time()
        result = store(self, messages)
        _stamp("stored", [m.address for m in messages], began, time.time())
        return result

    turns.handle_message, turns._process_batch = timed_handle, timed_batch  # type: ignore[assignment]
    outbox._claim_jobs, outbox._send, outbox.record_outcomes = timed_claim, timed_send, timed_record  # type: ignore[assignment]
    sink.DatabaseSink.store_batch_sync = timed_store  # type: ignore[method-assign]

    def dump(*_: Any) -> None:
        Path(os.environ["CRISIS_STAGES_OUT"]).write_text(json.dumps(_events))
        os._exit(0)

    signal.signal(signal.SIGTERM, dump)
    S._service_process(config, port, web_only)


class WallTwilio(S.TimedTwilio):
    """The fake Twilio API, also noting each message's wall-clock arrival (the service's clock)."""

    def __init__(self) -> None:
        super().__init__()
        self.wall: dict[tuple[str, str], float] = {}

    async def _answer_create(self, request: Any, form: dict[str, str]) -> Any:
        response = await super()._answer_create(request, form)
        self.wall.setdefault((form.get("To", ""), form.get("Body", "")[:24]), time.time())
        return response


def _start(config: Config) -> S.Service:
    port = S.free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=_timed_service, args=(config, port, False), daemon=True)
    began = time.perf_counter()
    process.start()
    return S.Service(process, port, began)


def _stages(events: list[list[Any]], posted: dict[str, float], fake: WallTwilio) -> dict[str, list[float]]:
    stored: dict[str, float] = {}
    turn: dict[str, tuple[float, float]] = {}
    batches: list[float] = []
    sends: dict[tuple[str, str], tuple[float, float]] = {}
    for e in events:
        if e[1] == "stored":
            for address in e[2]:
                stored.setdefault(address, e[4])
        elif e[1] == "turn":
            turn.setdefault(e[2], (e[3], e[4]))
        elif e[1] == "batch":
            batches.append(e[4])
        elif e[1] == "send":
            sends.setdefault((e[2], e[3]), (e[4], e[5]))
    stages: dict[str, list[float]] = {k: [] for k in (
        "intake", "wait_turn", "turn", "to_commit", "to_send_start", "send", "total")}
    for phone, posted_at in posted.items():
        index = int(phone[5:])
        alerts = [k for k in fake.wall if k[1].startswith(f"URGENT C{index} T.:")]
        if phone not in turn or phone not in stored or len(alerts) < 2 or any(k not in sends for k in alerts):
            continue
        began, ended = turn[phone]
        committed = min((b for b in batches if b >= ended), default=float("nan"))
        last = max((sends[k] for k in alerts), key=lambda s: s[1])
        arrived = max(fake.wall[k] for k in alerts)
        for name, seconds in (("intake", stored[phone] - posted_at), ("wait_turn", began - stored[phone]),
                              ("turn", ended - began), ("to_commit", committed - ended),
                              ("to_send_start", last[0] - committed), ("send", arrived - last[0]),
                              ("total", arrived - posted_at)):
            stages[name].append(seconds * 1000)
    return stages


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bursts", default="10:8,50:3", help="SIZE:COUNT,... bursts of crisis texts")
    ap.add_argument("--ordinary", type=float, default=S.ORDINARY_RATE, help="ordinary texts a second alongside")
    ap.add_argument("--turn-workers", type=int, default=0,
                    help="the service's [service] turn_workers (default: its own default)")
    args = ap.parse_args()
    bursts = {int(k): int(v) for k, v in (p.split(":") for p in args.bursts.split(","))}
    S.ORDINARY_RATE = args.ordinary
    sizes = S.replace(S.Sizes.of(True), crisis_single=0, crisis_bursts=bursts, inbound={}, fanout=[])
    posted: dict[str, float] = {}
    post_all = S.post_all

    async def noting_post_all(urls: Any, posts: Any, concurrency: int, sent: Any = None) -> Any:
        result = await post_all(urls, posts, concurrency, sent)
        if sent is not None:  # perf_counter -> wall clock, to meet the service's stamps
            offset = time.time() - time.perf_counter()
            posted.update({k: v + offset for k, v in sent.items()})
        return result

    S.post_all = noting_post_all  # type: ignore[assignment]
    from bot.keyring import Keyring, write_key_file
    from bot.service.runtime import build_services

    with WallTwilio() as fake, tempfile.TemporaryDirectory() as tmp:
        key_file = Path(tmp) / "bench.keys"
        write_key_file(key_file, Keyring.generate(source=str(key_file)))
        os.environ["CHECKINS_SECURITY_KEY_FILE"] = str(key_file)
        os.environ["CRISIS_STAGES_OUT"] = str(Path(tmp) / "stages.json")
        with S.database("postgresql") as url:
            build_services(Config().with_database(url)).engine.dispose()
            suite = S.Suite(sizes, ["postgresql"], lambda part: part == "crisis")
            need = sum(b * n for b, n in bursts.items()) + 200
            S.seed(url, need)
            suite.seeded_until = need
            config = S.service_config(url, fake)
            if args.turn_workers:
                from dataclasses import replace

                config = replace(config, service=replace(config.service, turn_workers=args.turn_workers))
            service = _start(config)
            try:
                S.wait_ready(service)
                suite.crisis("postgresql", service, fake)
            finally:
                S.stop_service(service)
        events = json.loads((Path(tmp) / "stages.json").read_text())
    for name, ms in _stages(events, posted, fake).items():
        if ms:
            print(f"{name:14} n={len(ms):<4} median {S.percentile(ms, 50):7.1f} ms   p90 "
                  f"{S.percentile(ms, 90):7.1f}   p99 {S.percentile(ms, 99):7.1f}")
    per_batch = [e[2] for e in events if e[1] == "batch" and e[2]]
    if per_batch:
        print(f"turn batches with work: {len(per_batch)}, texts per batch: median "
              f"{S.percentile([float(n) for n in per_batch], 50):.0f}, max {max(per_batch)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
