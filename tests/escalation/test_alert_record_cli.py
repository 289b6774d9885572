"""`checkins alerts list|show|ack|close`: every step of an alert's life, read back from the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import ManualClock
from tests.escalation.escalation_world import (
    MENTEE_PHONE,
    MENTOR_PHONE,
    SUPERVISOR_CHAT,
    running_world,
)
from tests.fakes.telegram_server import TelegramFault

START = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)
CRISIS = "Got a rope and im doing it tonight, ive had enough"


def _cli(capsys: pytest.CaptureFixture[str], db_url: str, *args: str) -> list[str]:
    capsys.readouterr()
    assert main(["--database", db_url, *args]) == 0
    return capsys.readouterr().out.splitlines()


def test_alerts_show_prints_every_step_from_raised_to_closed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "coordinator")
    db_url = f"sqlite:///{tmp_path / 'checkins.db'}"
    with running_world(db_url, ManualClock(START)) as world:
        world.add_people()
        world.telegram.fail_chat(SUPERVISOR_CHAT, TelegramFault.blocked())
        world.sms_from(MENTEE_PHONE, CRISIS)
        world.run()
        world.at(START + timedelta(minutes=15))
        world.clock.set(START + timedelta(minutes=21))
        code = world.alert().code
        world.sms_from(MENTOR_PHONE, f"ACK {code}")
        world.run()

    [listed] = _cli(capsys, db_url, "alerts", "list")
    assert listed.startswith(code) and "acknowledged" in listed and "Jo B." in listed
    closed = _cli(capsys, db_url, "alerts", "close", code, "--outcome", "Spoke to Jo; GP seen today")
    assert closed == [f"closed alert {code}: Spoke to Jo; GP seen today"]
    assert _cli(capsys, db_url, "alerts", "list") == ["no open alerts"]

    out = _cli(capsys, db_url, "alerts", "show", code)
    assert out[0] == f"alert {code}: urgent crisis for Jo B. - closed"
    assert out[1].strip().startswith("evidence: ")
    # Closed by whoever ran the command, not by a name typed after --by.
    assert "outcome: Spoke to Jo; GP seen today (closed by shell:coordinator)" in out[2]
    kinds = out[3:]
    joined = "\n".join(kinds)
    for kind in ("raised", "queued", "notified", "failed", "fallback", "re-escalated",
                 "acknowledged", "closed"):
        assert f" {kind} " in joined, f"{kind} missing from:\n{joined}"
    # In order: raised first, closed last; the ACK after the climb.
    positions = [next(i for i, line in enumerate(kinds) if f" {k} " in line)
                 for k in ("raised", "re-escalated", "acknowledged", "closed")]
    assert positions == sorted(positions) and positions[0] == 0 and positions[-1] == len(kinds) - 1
    # Who and how: the mentor's SMS, the supervisor's failed Telegram then email, the duty email.
    assert any(" notified " in line and "Maya Patel" in line and " sms " in line for line in kinds)
    assert any(" failed " in line and "Sam Okafor" in line and "telegram" in line for line in kinds)
    assert any(" notified " in line and "Sam Okafor" in line and " email " in line for line in kinds)
    assert any(" notified " in line and "Dee Duty" in line and " email " in line for line in kinds)
    assert any(" acknowledged " in line and "Maya Patel" in line and " sms " in line for line in kinds)
    # Local times (GMT in March): raised 10:30, re-escalated 10:45, acknowledged 10:51.
    assert "10:30" in kinds[0] and "10:45" in next(l for l in kinds if " re-escalated " in l)
    assert "10:51" in next(l for l in kinds if " acknowledged " in l)


def test_alerts_ack_from_the_command_line_stops_the_ladder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_url = f"sqlite:///{tmp_path / 'checkins.db'}"
    with running_world(db_url, ManualClock(START)) as world:
        world.add_people()
        world.sms_from(MENTEE_PHONE, CRISIS)
        world.run()
        code = world.alert().code
        out = _cli(capsys, db_url, "alerts", "ack", code.lower(), "--by", "Sam Okafor")
        assert out == [f"Thanks. Alert {code} for Jo B. is acknowledged and the reminders have stopped."]
        world.at(START + timedelta(hours=1))
        alert = world.alert()
        assert (alert.status, alert.ack_via) == ("acknowledged", "cli")
        assert alert.acknowledged_by == world.people.supervisor_id  # type: ignore[union-attr]
        assert world.emails_to("duty@bridges.example") == []
