"""`checkins demo`: the real engine, storage, detector and escalation, with a simulated phone.

No credentials and no config: a temporary SQLite database, one supervisor, one mentor, a duty
contact and one mentee. You type the mentee's replies; the bot's replies and the staff alerts
print as they would arrive. Time is simulated, so `/wait 1d` shows reminders, the escalation
ladder and missed check-ins without waiting.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.app import alerts, digests, loops, mentees, staff
from bot.app.actor import Actor
from bot.app.errors import AppError
from bot.channels.base import ChannelName, InboundMessage, OutboundText, SendReceipt
from bot.clock import ManualClock
from bot.config import Config
from bot.schedule import describe_local
from bot.schedule.quiet_hours import QuietHours
from bot.service.runtime import Services, build_services

MENTEE_PHONE = "+447700900123"
MENTOR_PHONE = "+447700900001"
SUPERVISOR_PHONE = "+447700900002"
DUTY_PHONE = "+447700900003"

HELP = """Type what the mentee would text back. Demo commands:
  /wait 30m | 4h | 2d   let time pass (reminders, escalation, missed check-ins)
  /ack                  the mentor replies ACK to the newest open alert
  /staff TEXT           the mentor texts the service
  /checkin              start a check-in now
  /alerts               every alert and each step of its life
  /schedule             the mentee's next check-ins
  /digest               the supervisor's weekly digest for last week
  (an empty line)       deliver what was sent from the staff web page (with --web)
  /quit                 leave the demo"""


class DemoPhones:
    """One simulated phone per person: prints each message with who it is for."""

    name: ChannelName = "console"

    def __init__(self, out: TextIO, names: dict[str, str]) -> None:
        self.out = out
        self.names = names
        self.count = 0

    async def send(self, message: OutboundText) -> SendReceipt:
        self.count += 1
        who = self.names.get(message.address, message.address)
        buttons = "  " + " ".join(f"[{b.label}]" for b in message.buttons) if message.buttons else ""
        for i, line in enumerate(message.text.splitlines() or [""]):
            prefix = f"  -> {who}: " if i == 0 else " " * (len(who) + 7)
            self.out.write(f"{prefix}{line}\n")
        if buttons:
            self.out.write(f"{' ' * (len(who) + 7)}{buttons.strip()}\n")
        return SendReceipt(provider_id=f"demo-{self.count}", status="delivered")


def demo_start(now: datetime, quiet_hours: str, tz: str = "Europe/London") -> datetime:
    """Where the demo's simulated clock starts: `now`, or, inside quiet hours (when nothing goes
    to a mentee), the moment they end, so a demo tried in the evening still shows a check-in."""
    start = now.astimezone(UTC).replace(second=0, microsecond=0)
    if not quiet_hours:
        return start
    return QuietHours.parse(quiet_hours).next_open(start, tz)


class Demo:
    def __init__(self, out: TextIO, workdir: Path, start: datetime | None = None) -> None:
        self.out = out
        cfg = Config().with_database(f"sqlite:///{workdir / 'demo.db'}")
        self.clock = ManualClock(start or demo_start(datetime.now(UTC), cfg.service.quiet_hours))
        self.svc: Services = build_services(cfg, self.clock)
        self.phones = DemoPhones(out, {
            MENTEE_PHONE: "Sam (mentee, SMS)", MENTOR_PHONE: "Dan (mentor)",
            SUPERVISOR_PHONE: "Priya (supervisor)", DUTY_PHONE: "Duty desk",
        })
        self.svc.channels = {"console": self.phones}
        self.operator = Actor.operator("demo")
        self.inbound_count = 0
        self.mentee_id = self._seed()
        self.web: Any = None  # the staff app's uvicorn server, with --web
        self._web_thread: threading.Thread | None = None

    # ---- the staff web app (--web) --------------------------------------------------------------
    def start_web(self, port: int) -> str:
        """Serve the staff app on 127.0.0.1:`port` (0: any free port) in a background thread;
        returns the link that signs in as Dan, the mentor, without a code."""
        import socket

        import uvicorn
        from starlette.applications import Starlette
        from starlette.routing import Mount

        from bot.staff import create_staff_app

        key = secrets.token_urlsafe(16)
        dan = staff.actor_for(self.svc, MENTOR_PHONE).staff_id
        app = Starlette(routes=[Mount("/staff", app=create_staff_app(
            self.svc, demo_staff_id=dan, demo_key=key))])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        bound = sock.getsockname()[1]
        self.web = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                                 lifespan="off"))
        self._web_thread = threading.Thread(target=self.web.run, kwargs={"sockets": [sock]},
                                            daemon=True, name="demo-staff-web")
        self._web_thread.start()
        deadline = time.monotonic() + 30
        while not self.web.started and self._web_thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        return f"http://127.0.0.1:{bound}/staff/demo-sign-in?key={key}"

    def stop_web(self) -> None:
        if self.web is not None:
            self.web.should_exit = True
        if self._web_thread is not None:
            self._web_thread.join(timeout=10)

    def _seed(self) -> int:
        for person in (
            staff.NewStaff("Priya Shah", "supervisor", phone=SUPERVISOR_PHONE,
                           email="priya@example.org", channels="sms,email"),
            staff.NewStaff("Dan Carter", "mentor", phone=MENTOR_PHONE, channels="sms",
                           supervisor="Priya Shah"),
            staff.NewStaff("Duty desk", "coordinator", phone=DUTY_PHONE, channels="sms", duty=True),
        ):
            staff.add(self.svc, self.operator, person)
        sam = mentees.NewMentee("Sam", "Dan Carter", last_name="Taylor", phone=MENTEE_PHONE,
                                plan="mon,thu 10:00")
        return mentees.add(self.svc, self.operator, sam).mentee.id

    # ---- moving the world -----------------------------------------------------------------------
    def settle(self) -> None:
        """Handle everything stored and due, and 'deliver' everything queued."""
        for _ in range(50):
            worked = loops.handle_inbound(self.svc) + loops.tick(self.svc)
            worked += asyncio.run(loops.send_pass(self.svc))
            if not worked:
                return

    def text_from(self, phone: str, text: str) -> None:
        self.inbound_count += 1
        loops.receive(self.svc, InboundMessage(
            channel="console", provider_id=f"demo-in-{self.inbound_count}", address=phone, text=text))
        self.settle()

    def wait(self, span: timedelta) -> None:
        target = self.clock.now() + span
        while True:
            nxt = loops.next_due(self.svc)
            if nxt is None or nxt > target:
                break
            self.clock.set(max(nxt, self.clock.now()))
            self.out.write(f"  ... {describe_local(self.clock.now(), 'Europe/London')}\n")
            self.settle()
        self.clock.set(target)
        self.settle()

    # ---- commands -------------------------------------------------------------------------------
    def start_checkin(self) -> None:
        try:
            started = mentees.start_checkin(self.svc, self.operator, self.mentee_id)
        except AppError as exc:
            self.out.write(f"  ({exc})\n")
            return
        if not started.started:
            self.out.write("  (a check-in is already in progress)\n")
        self.settle()

    def ack_latest(self) -> None:
        open_alerts = [a for a in alerts.list_alerts(self.svc, self.operator) if a.status == "open"]
        if not open_alerts:
            self.out.write("  (no open alert to acknowledge)\n")
            return
        self.out.write(f"Dan (mentor) texts: ACK {open_alerts[0].code}\n")
        self.text_from(MENTOR_PHONE, f"ACK {open_alerts[0].code}")

    def show_alerts(self) -> None:
        listed = alerts.list_alerts(self.svc, self.operator, include_closed=True)
        if not listed:
            self.out.write("  (no alerts)\n")
        for a in listed:
            self.out.write(f"  alert {a.code}: {a.severity} {a.category} for {a.mentee_name} - {a.status}\n")
            for h in alerts.detail(self.svc, self.operator, a.code).history:
                self.out.write(f"    {describe_local(h.at, 'Europe/London')}  {h.kind:<12} "
                               f"{h.who:<12} {h.detail}\n")

    def show_schedule(self) -> None:
        for e in mentees.schedule(self.svc, self.operator, self.mentee_id, limit=6).upcoming:
            self.out.write(f"  {e.local}  {e.kind}\n")

    def show_digest(self) -> None:
        pages = digests.digest(self.svc, self.operator)
        self.out.write("\n\n".join(page.text for page in pages) + "\n")

    def handle(self, line: str) -> bool:
        """One line of input; False when the demo should end."""
        line = line.rstrip("\n")
        if not line.strip():
            self.settle()  # what staff sent from the web page goes out now
            return True
        if line.lstrip().startswith("#"):
            return True
        command, _, rest = line.strip().partition(" ")
        if command in ("/quit", "/exit"):
            return False
        if command == "/help":
            self.out.write(HELP + "\n")
        elif command == "/wait":
            span = parse_span(rest)
            if span is None:
                self.out.write("  (say how long, e.g. /wait 4h, /wait 30m or /wait 2d)\n")
            else:
                self.out.write(f"  (time passes: {rest.strip()})\n")
                self.wait(span)
        elif command == "/ack":
            self.ack_latest()
        elif command == "/staff":
            self.out.write(f"Dan (mentor) texts: {rest}\n")
            self.text_from(MENTOR_PHONE, rest)
        elif command == "/checkin":
            self.start_checkin()
        elif command == "/alerts":
            self.show_alerts()
        elif command == "/schedule":
            self.show_schedule()
        elif command == "/digest":
            self.show_digest()
        elif command.startswith("/"):
            self.out.write(f"  (unknown command {command}; /help lists them)\n")
        else:
            self.out.write(f"Sam texts: {line.strip()}\n")
            self.text_from(MENTEE_PHONE, line.strip())
        return True


def parse_span(text: str) -> timedelta | None:
    match = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", text)
    if not match:
        return None
    amount, unit = int(match.group(1)), match.group(2)
    return {"m": timedelta(minutes=amount), "h": timedelta(hours=amount), "d": timedelta(days=amount)}[unit]


def run_demo(stdin: TextIO, stdout: TextIO, interactive: bool, web_port: int | None = None,
             now: datetime | None = None) -> int:
    """`now`: the real time the demo starts from (default: the machine's clock)."""
    with tempfile.TemporaryDirectory(prefix="checkins-demo-") as tmp:
        now = now or datetime.now(UTC)
        quiet = Config().service.quiet_hours
        start = demo_start(now, quiet)
        demo = Demo(stdout, Path(tmp), start)
        if start > now.astimezone(UTC).replace(second=0, microsecond=0):
            stdout.write(f"It is quiet hours for Sam now ({quiet}: nothing goes to a mentee), so the "
                         f"demo's clock starts when they end: {describe_local(start, 'Europe/London')}.\n")
        if web_port is not None:
            link = demo.start_web(web_port)
            stdout.write(f"Staff web app, signed in as Dan (no code needed here): {link}\n"
                         "Replies sent there reach Sam when you next press Enter.\n")
        stdout.write(
            "checkins demo: Sam is a mentee, Dan is Sam's mentor, Priya supervises Dan.\n"
            "Everything below is the real service on a temporary database; phones are simulated.\n"
            + (HELP + "\n" if interactive else "")
            + "\nStarting Sam's check-in now.\n"
        )
        demo.start_checkin()
        while True:
            if interactive:
                stdout.write("Sam> ")
                stdout.flush()
            line = stdin.readline()
            if not line:
                break
            if not demo.handle(line):
                break
        demo.stop_web()
        demo.svc.engine.dispose()
        stdout.write("demo finished; the temporary database has been deleted.\n")
    return 0
