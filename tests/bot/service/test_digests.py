"""The weekly digest from real stored check-ins: written by `checkins digest`, emailed once a week."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from bot.cli import main
from bot.clock import ManualClock
from bot.config import Config
from bot.service import admin
from bot.service.digests import send_weekly
from bot.service.runtime import Services, build_services
from tests.bot.service.test_checkin_persistence import settle, start_checkin, text
from tests.conftest import RecordingPhone

MONDAY_W48 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday of ISO week 2026-W48
DIGEST_TIME = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # the next Monday, 08:00 London (GMT)


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def a_week_of_checkins(db_url: str, clock: ManualClock, smtp_port: int) -> Services:
    """Two mentees: Sam answers his check-in (mood 2), Lee never answers his."""
    cfg = Config().with_database(db_url)
    cfg = dataclasses.replace(cfg, email=dataclasses.replace(
        cfg.email, enabled=True, host="127.0.0.1", port=smtp_port, starttls=False))
    clock.set(MONDAY_W48)
    svc = build_services(cfg, clock, channels={"console": RecordingPhone()})
    with svc.sessions() as s, s.begin():
        now = clock.now()
        admin.add_staff(s, now, name="Priya Shah", role="supervisor", email="priya@example.org",
                        channels="email")
        admin.add_staff(s, now, name="Dan Carter", role="mentor", phone="+447700900001",
                        channels="sms", supervisor="Priya Shah")
        sam = admin.add_mentee(s, svc, now, first_name="Sam", last_name="Taylor",
                               phone="+447700900123", mentor="Dan Carter").id
        lee = admin.add_mentee(s, svc, now, first_name="Lee", last_name="Jones",
                               phone="+447700900124", mentor="Dan Carter").id
    start_checkin(svc, sam)
    start_checkin(svc, lee)
    settle(svc)
    for answer in ("2", "no", "3", "yes", "yes", "no"):
        text(svc, answer)
    clock.advance(days=2)  # Lee's check-in expires unanswered
    from bot.service.ticker import tick_until_idle

    tick_until_idle(svc)
    settle(svc)
    return svc


def test_digest_out_writes_html_text_and_csv_with_the_weeks_figures(
        db_url: str, clock: ManualClock, smtp: tuple[Inbox, int], tmp_path: Path) -> None:
    a_week_of_checkins(db_url, clock, smtp[1])
    out = tmp_path / "digest"
    code = main(["--database", db_url, "digest", "--week", "2026-W48", "--out", str(out)])
    assert code == 0
    html = next(out.glob("*.html")).read_text()
    csv_text = next(out.glob("*.csv")).read_text()
    plain = next(out.glob("*.txt")).read_text()
    assert "Sam T." in html and "Lee J." in html
    assert "Taylor" not in html and "+4477" not in html  # first name and initial only
    assert "Sam T." in csv_text and "Lee J." in csv_text
    assert "Dan Carter" in plain
    assert smtp[0].received == []  # --out never sends


def test_the_weekly_job_emails_each_supervisor_once_with_text_html_and_csv(
        db_url: str, clock: ManualClock, smtp: tuple[Inbox, int]) -> None:
    svc = a_week_of_checkins(db_url, clock, smtp[1])
    clock.set(DIGEST_TIME)
    first = send_weekly(svc)
    again = send_weekly(svc)  # a re-run (or a second worker) must not send it twice
    assert [o.status for o in first] == ["sent"]
    assert [o.status for o in again] == ["already sent"]
    assert len(smtp[0].received) == 1
    recipients, raw = smtp[0].received[0]
    assert recipients == ["priya@example.org"]
    email = message_from_bytes(raw, policy=policy.default)
    kinds = [part.get_content_type() for part in email.walk()]
    assert "text/plain" in kinds and "text/html" in kinds and "text/csv" in kinds
    assert "2026-W48" in email["Subject"]
    html = email.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Lee J." in html
