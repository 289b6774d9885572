"""Inbound SMS throughput of one `checkins serve` process.

Starts the real app (uvicorn, the real webhook route with Twilio signature checks, the turn
worker and the outbox loop) on 127.0.0.1 in this process, with an in-memory outbound channel so
only our own work is measured. A separate client process posts N signed Twilio webhooks from M
mentees over K concurrent connections. Prints:
- accepted/s: webhooks answered 200 (each stored and committed before the answer);
- handled/s: messages fully handled (turn run: keywords, risk detection, flow, replies queued).

    python benchmarks/inbound_throughput.py --messages 5000
    python benchmarks/inbound_throughput.py --database postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvicorn  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from bot.channels.base import OutboundText, SendReceipt  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.service import admin  # noqa: E402
from bot.service.runtime import build_services  # noqa: E402
from bot.service.server import build_app  # noqa: E402
from bot.storage.models import Message  # noqa: E402

TOKEN = "bench-auth-token"
BASE = "http://127.0.0.1"
TEXTS = ["4", "yes", "3 i guess", "no", "feeling ok this week", "CHECKIN", "nah", "5"]


class NullChannel:
    name = "sms"

    def __init__(self) -> None:
        self.count = 0

    async def send(self, message: OutboundText) -> SendReceipt:
        self.count += 1
        return SendReceipt(provider_id=f"SMnull{self.count}", status="queued")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def phone(i: int) -> str:
    return f"+447700900{i % 1000:03d}" if i < 1000 else f"+4474{i:08d}"


def client(port: int, messages: int, mentees: int, concurrency: int, out: multiprocessing.Queue) -> None:
    """Post the webhooks with aiohttp (httpx's client is too slow to load a server here)."""
    import aiohttp

    url = f"{BASE}:{port}/twilio/sms"
    validator = RequestValidator(TOKEN)
    forms = []
    for i in range(messages):
        form = {"MessageSid": f"SM{i:032x}", "From": phone(i % mentees), "To": "+447700900999",
                "Body": TEXTS[i % len(TEXTS)], "NumSegments": "1"}
        forms.append((form, validator.compute_signature(url, form)))

    async def main() -> None:
        ok = 0
        gate = asyncio.Semaphore(concurrency)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

            async def post(form: dict[str, str], sig: str) -> None:
                nonlocal ok
                async with gate, http.post(url, data=form, headers={"X-Twilio-Signature": sig}) as r:
                    await r.read()
                    ok += r.status == 200

            start = time.perf_counter()
            await asyncio.gather(*(post(f, s) for f, s in forms))
            out.put((ok, time.perf_counter() - start))

    asyncio.run(main())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database", default="", help="database URL (default: a temp SQLite file)")
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--mentees", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--accept-only", action="store_true",
                    help="as `checkins serve --web-only`: no loops here, `checkins worker` runs them")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="checkins-bench-")
    url = args.database or f"sqlite:///{Path(tmp) / 'bench.db'}"
    cfg = Config().with_database(url)
    cfg = replace(cfg, twilio=replace(cfg.twilio, enabled=True, account_sid="AC" + "0" * 32,
                                      auth_token=TOKEN, from_number="+447700900999"))
    port = free_port()
    cfg = replace(cfg, service=replace(cfg.service, public_base_url=f"{BASE}:{port}", quiet_hours=""))
    svc = build_services(cfg)
    if url.startswith("postgres"):
        from sqlalchemy import text

        with svc.engine.begin() as c:  # a clean slate in the shared test database
            c.execute(text("TRUNCATE alert_events, risk_flags, answers, due_events, digests_sent, "
                           "messages, alerts, conversations, mentees, staff RESTART IDENTITY CASCADE"))
    channel = NullChannel()
    svc.channels = {"sms": channel}  # type: ignore[dict-item]
    with svc.sessions() as s, s.begin():
        now = svc.clock.now()
        admin.add_staff(s, now, name="Supervisor", role="supervisor", phone="+447700900998")
        admin.add_staff(s, now, name="Mentor", role="mentor", phone="+447700900997", supervisor="Supervisor")
        for i in range(args.mentees):
            admin.add_mentee(s, svc, now, first_name=f"M{i}", phone=phone(i), mentor="Mentor")
    app, _runner = build_app(svc, run_loops=not args.accept_only)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)

    out: multiprocessing.Queue = multiprocessing.Queue()
    proc = multiprocessing.Process(target=client, args=(port, args.messages, args.mentees,
                                                        args.concurrency, out))
    started = time.perf_counter()
    proc.start()
    ok, send_seconds = out.get()
    proc.join()
    with svc.sessions() as s:
        while True:
            handled = s.scalar(select(func.count()).select_from(Message).where(
                Message.direction == "in", Message.processed_at.is_not(None))) or 0
            if args.accept_only or handled >= ok or time.perf_counter() - started > 600:
                break
            time.sleep(0.05)
            s.expire_all()
    handled_seconds = time.perf_counter() - started
    server.should_exit = True
    thread.join(timeout=10)
    print(f"database:        {svc.engine.url.render_as_string(hide_password=True)}")
    print(f"messages:        {args.messages} from {args.mentees} mentees, {args.concurrency} connections")
    print(f"accepted (200):  {ok} in {send_seconds:.2f} s = {ok / send_seconds:,.0f} webhooks/s")
    print(f"fully handled:   {handled} in {handled_seconds:.2f} s = "
          f"{handled / handled_seconds:,.0f} messages/s")
    print(f"replies sent:    {channel.count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
