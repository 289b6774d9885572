"""The data protection commands end to end: one line for every mistake, files only the owner reads."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import ManualClock
from bot.config import Config
from bot.keyring import read_key_file
from bot.service.runtime import build_services
from tests.bot.app.conftest import SAM_PHONE, World, build_world
from tests.bot.protect.conftest import CRISIS
from tests.conftest import RecordingPhone


@pytest.fixture
def cli_world(db_url: str, clock: ManualClock) -> Iterator[World]:
    svc = build_services(Config().with_database(db_url), clock, channels={"console": RecordingPhone()})
    try:
        yield build_world(svc, clock)
    finally:
        svc.engine.dispose()


def run(db_url: str, *argv: str) -> int:
    return main(["--database", db_url, *argv])


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_export_writes_three_private_files(cli_world: World, db_url: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    cli_world.text(SAM_PHONE, "see you thursday")
    out = tmp_path / "sar"
    assert run(db_url, "mentee", "export", "Sam Taylor", "--out", str(out)) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == [f"mentee-{cli_world.sam}-export.{s}" for s in ("html", "json", "txt")]
    assert all(mode(out / f) == 0o600 for f in files)
    assert "see you thursday" in (out / files[1]).read_text(encoding="utf-8")
    assert "check it for other people's details" in capsys.readouterr().out


def test_erase_with_an_open_alert_is_one_line_and_forcing_needs_a_reason(
        cli_world: World, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    cli_world.text(SAM_PHONE, CRISIS)
    capsys.readouterr()
    assert run(db_url, "mentee", "erase", "Sam Taylor", "--yes") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has an alert still open" in err
    assert run(db_url, "mentee", "erase", "Sam Taylor", "--yes", "--reason", "asked") == 2
    assert capsys.readouterr().err == "checkins: error: --reason goes with --force\n"
    assert run(db_url, "mentee", "erase", "Sam Taylor", "--yes", "--force") == 2
    assert "reason" in capsys.readouterr().err
    assert run(db_url, "mentee", "erase", "Sam Taylor", "--yes", "--force", "--reason", "asked") == 0
    out = capsys.readouterr().out
    assert f"the record is now 'Erased mentee #{cli_world.sam}'" in out and "alerts closed:" in out


def test_purge_dry_run_and_rotate_key_report_in_plain_lines(
        cli_world: World, db_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    cli_world.text(SAM_PHONE, "an old message")  # at the test clock's start, in March 2026
    capsys.readouterr()
    # The CLI reads the real clock (later than the test's): a 30-day rule makes March "old".
    monkeypatch.setenv("CHECKINS_SERVICE_RETENTION_DAYS", "30")
    assert run(db_url, "purge", "--dry-run") == 0
    out = capsys.readouterr().out
    assert out.startswith("would remove the words of") and f"mentee {cli_world.sam} (Sam T.)" in out
    assert run(db_url, "rotate-key", "--batch", "3") == 0
    out = capsys.readouterr().out
    assert "re-encrypted" in out and "done: every stored value is under key k1" in out


def test_keygen_prints_a_section_writes_a_private_file_and_never_overwrites(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen"]) == 0
    printed = capsys.readouterr().out
    assert "[security]" in printed and "[security.keys]" in printed and 'active_key = "k1"' in printed
    path = tmp_path / "keys.toml"
    assert main(["keygen", "--out", str(path)]) == 0
    assert mode(path) == 0o600 and read_key_file(path).active == "k1"
    capsys.readouterr()
    assert main(["keygen", "--out", str(path)]) == 2
    assert "already exists: keys are never overwritten" in capsys.readouterr().err


def test_init_makes_the_key_file_beside_sqlite_and_add_key_makes_a_new_one_active(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("CHECKINS_SECURITY_KEY_FILE", raising=False)
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert main(["--database", url, "init"]) == 0
    assert f"encryption keys: {tmp_path / 'c.db.keys'}" in capsys.readouterr().out
    assert main(["--database", url, "keygen", "--add-key"]) == 0
    ring = read_key_file(tmp_path / "c.db.keys")
    assert ring.active == "k2" and set(ring.keys) == {"k1", "k2"}
    assert mode(tmp_path / "c.db.keys") == 0o600


def test_postgresql_without_keys_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("CHECKINS_SECURITY_KEY_FILE", raising=False)
    assert main(["--database", "postgresql://nobody@127.0.0.1:1/none", "mentee", "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PostgreSQL needs encryption keys" in err
