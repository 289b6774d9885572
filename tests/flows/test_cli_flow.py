"""`checkins flow check|preview|list` and `checkins wording check` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.flows.files import DEFAULTS


def test_flow_check_says_ok_or_one_line_per_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "weekly.toml"
    bad.write_text((DEFAULTS / "weekly.toml").read_text(encoding="utf-8").replace(
        'next = "safe_home"\nbranches = { no', 'next = "safe_hom"\nbranches = { no'), encoding="utf-8")
    assert main(["flow", "check", str(DEFAULTS / "welfare.toml"), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert "welfare.toml: ok: flow welfare, 3 questions" in out
    assert err.strip().splitlines() == [f"{bad}:38: weekly.safe_place: next names unknown state 'safe_hom'"]


def test_flow_preview_runs_a_file_from_a_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "replies.txt"
    script.write_text("1\nyes\n", encoding="utf-8")
    assert main(["flow", "preview", str(DEFAULTS / "welfare.toml"), "--script", str(script), "--name", "Kim"]) == 0
    out = capsys.readouterr().out
    assert "bot> Hi Kim, how are things since we spoke?" in out
    assert "[to the mentor: asked for a call (welfare follow-up)]" in out


def test_flow_list_names_every_flow_and_translation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flow", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("weekly ", "release_week", "welfare", "monthly", "safe_check", "weekly (cy)"):
        assert name in out


def test_wording_check_refuses_a_two_segment_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cy = tmp_path / "cy.toml"
    cy.write_text('[texts]\nhelp_discreet = "' + "Anfonwch CHECKIN " * 12 + '"\n', encoding="utf-8")
    assert main(["wording", "check", str(cy)]) == 1
    assert "help_discreet: would cost 2 SMS segments with long names, 1 allowed" in capsys.readouterr().err
