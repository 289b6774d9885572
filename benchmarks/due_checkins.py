"""Benchmark: N mentees all due in the same minute; how fast does the ticker hand them over?

Seeds N mentees (bulk insert; not timed), each with one check-in row due in the same minute, then
times tick() batches (in K worker processes with --workers K) until every due check-in has been
handed over: its conversation started and its first question written to the outbox.

    python benchmarks/due_checkins.py                       # 100,000 on $CHECKINS_TEST_POSTGRES_URL
    python benchmarks/due_checkins.py -n 20000 --workers 2  # or a temporary SQLite file if unset
    python benchmarks/due_checkins.py --database sqlite:////tmp/bench.db

Goal: 100,000 in under 30 s on PostgreSQL. On PostgreSQL the benchmark works in a fresh schema
that it drops afterwards; a SQLite database must be new (the file is created).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select  # noqa: E402

from bot.clock import ManualClock  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.service import admin  # noqa: E402
from bot.service.runtime import Services, build_services  # noqa: E402
from bot.service.ticker import tick  # noqa: E402
from bot.storage.db import normalise_url  # noqa: E402
from bot.storage.models import Conversation, DueEvent, Mentee, Message  # noqa: E402

DUE = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)  # Monday 10:00 GMT, outside quiet hours
NOW = DUE + timedelta(minutes=1)


def seed(svc: Services, count: int, chunk: int = 10_000) -> None:
    """N SMS mentees, each with one check-in due within the minute (executemany in chunks)."""
    with svc.sessions() as s, s.begin():
        mentor = admin.add_staff(s, DUE, name="Mentor Bench", role="mentor", phone="+447700800000",
                                 channels="sms")
        mentor_id = mentor.id
    for lo in range(0, count, chunk):
        with svc.sessions() as s, s.begin():
            s.execute(insert(Mentee), [
                {"first_name": f"M{i}", "last_name": "", "phone": f"+4477{i:08d}",
                 "preferred_channel": "sms", "mentor_id": mentor_id, "timezone": "Europe/London",
                 "status": "active", "sms_reachable": True, "telegram_reachable": True,
                 "plan": "mon 10:00", "plan_version": 0, "missed_streak": 0, "created_at": DUE}
                for i in range(lo, min(count, lo + chunk))])
    with svc.sessions() as s:
        ids = list(s.scalars(select(Mentee.id).order_by(Mentee.id)))
    for lo in range(0, len(ids), chunk):
        with svc.sessions() as s, s.begin():
            s.execute(insert(DueEvent), [
                {"kind": "checkin", "dedupe_key": f"bench:{mid}", "due_at": DUE + timedelta(seconds=i % 60),
                 "mentee_id": mid, "status": "pending", "plan_version": 0, "created_at": DUE}
                for i, mid in enumerate(ids[lo:lo + chunk], start=lo)])


def services(url: str, worker: str) -> Services:
    # The console channel is "configured" so the outbox rows are written; nothing is sent here.
    svc = build_services(Config().with_database(url), ManualClock(NOW), create_schema=False,
                         channels={"console": object()})  # type: ignore[dict-item]
    svc.worker_id = worker
    return svc


def work(url: str, worker: str, batch: int, start: float) -> tuple[str, int, float]:
    """One worker: tick until nothing is due; returns (worker, rows claimed, seconds)."""
    svc = services(url, worker)
    while time.time() < start:
        time.sleep(0.001)
    began = time.perf_counter()
    claimed = 0
    while True:
        n = tick(svc, limit=batch)
        claimed += n
        if not n:
            break
    elapsed = time.perf_counter() - began
    svc.engine.dispose()
    return worker, claimed, elapsed


def _work_star(args: tuple[str, str, int, float]) -> tuple[str, int, float]:
    return work(*args)


def pg_schema(base: str) -> tuple[str, str, str]:
    import psycopg

    url = normalise_url(base)
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    schema = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}', safe='')}", plain, schema


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--mentees", type=int, default=100_000)
    parser.add_argument("--database", default=os.environ.get("CHECKINS_TEST_POSTGRES_URL", ""))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batch", type=int, default=Config().checkins.claim_batch)
    args = parser.parse_args(argv)

    cleanup = None
    url = args.database
    if not url:
        tmp = tempfile.mkdtemp(prefix="checkins-bench-")
        url = f"sqlite:///{tmp}/bench.db"
    elif normalise_url(url).startswith("postgresql"):
        url, plain, schema = pg_schema(url)
        cleanup = (plain, schema)
    try:
        setup = build_services(Config().with_database(url), ManualClock(DUE))
        t0 = time.perf_counter()
        seed(setup, args.mentees)
        print(f"database: {setup.engine.dialect.name}; seeded {args.mentees} mentees due in one "
              f"minute in {time.perf_counter() - t0:.1f} s")
        setup.engine.dispose()

        start = time.time() + 0.5
        jobs = [(url, f"bench-{i}", args.batch, start) for i in range(args.workers)]
        if args.workers == 1:
            results = [work(*jobs[0])]
        else:
            with mp.get_context("spawn").Pool(args.workers) as pool:
                results = pool.map(_work_star, jobs)
        wall = max(r[2] for r in results)  # from the common start to the last worker's end

        check = build_services(Config().with_database(url), ManualClock(NOW), create_schema=False)
        with check.sessions() as s:
            convs = s.scalar(select(func.count(func.distinct(Conversation.mentee_id))))
            outbox = s.scalar(select(func.count(func.distinct(Message.mentee_id))).where(
                Message.direction == "out", Message.purpose == "flow"))
            done = s.scalar(select(func.count()).select_from(DueEvent).where(
                DueEvent.kind == "checkin", DueEvent.status == "done"))
        check.engine.dispose()
        for worker, claimed, secs in results:
            print(f"  {worker}: {claimed} rows in {secs:.1f} s")
        print(f"handed over {done} of {args.mentees} (conversations {convs}, first questions in "
              f"outbox {outbox}) in {wall:.1f} s with {args.workers} worker(s), batch {args.batch}: "
              f"{args.mentees / wall:.0f} rows/s")
        ok = done == convs == outbox == args.mentees
        print("OK" if ok else "MISMATCH: not every check-in was handed over exactly once")
        return 0 if ok else 1
    finally:
        if cleanup is not None:
            import psycopg

            with psycopg.connect(cleanup[0], autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{cleanup[1]}" CASCADE')


if __name__ == "__main__":
    sys.exit(main())
