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


# ---- issue 13 end to end at the terminal: `checkins match`, and `serve` refusing a bad flow ----
from tests.bot.test_cli import Cli, cli, db, staffed  # noqa: E402,F401  (fixtures)


def test_match_lists_suggestions_with_reasons_never_over_a_caseload_and_records_the_choice(
        staffed: Cli) -> None:
    staffed.ok("staff", "add", "Kay Lee", "--phone", "+447700900007", "--supervisor", "Priya Shah")
    staffed.ok("staff", "add", "Bob Full", "--phone", "+447700900008", "--supervisor", "Priya Shah")
    staffed.ok("facts", "staff", "Kay Lee", "--gender", "woman", "--area", "Leeds",
               "--lived-experience", "domestic abuse", "--caseload-limit", "5")
    staffed.ok("facts", "staff", "Bob Full", "--gender", "woman", "--area", "Leeds",
               "--caseload-limit", "1")
    staffed.ok("mentee", "add", "Ann", "--phone", "07700900131", "--mentor", "Bob Full")  # Bob: full
    staffed.ok("mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Dan Carter")
    staffed.ok("facts", "mentee", "Sam", "--gender", "woman", "--wants-mentor", "woman",
               "--area", "leeds", "--needs", "domestic abuse")
    out = staffed.ok("match", "Sam").splitlines()
    assert out[0].startswith("1. Kay Lee (id ") and "woman" in out[0] and "domestic abuse" in out[0]
    assert not any(line.startswith(("1. Bob", "2. Bob")) for line in out)
    assert any(line.strip().startswith("not Bob Full:") and "caseload" in line for line in out)
    code, _, err = staffed("match", "Sam", "--assign", "Bob Full")
    assert code == 2 and "caseload is full" in err and "Traceback" not in err
    done = staffed.ok("match", "Sam", "--assign", "Kay Lee", "--reason", "asked for a woman")
    assert done.strip() == "Sam now has Kay Lee as mentor (asked for a woman)"


def test_serve_will_not_start_with_a_bad_flow_file(tmp_path: Path, db: str) -> None:
    """Start-up checks every flow file: one line naming the file and line, exit 2, and the
    port is never opened (the command returns)."""
    import subprocess
    import sys

    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "court.toml").write_text('name = "court"\nclosing = "Bye"\n\n[questions.a]\n'
                                       'prompt = "Ready?"\nanswer = "yes_or_no"\n', encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[service]\nport = 1\n\n[flows]\nfolder = "{folder}"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "--config", str(config), "--database", db,
                           "serve"], capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 2, done.stderr[-500:]
    [line] = [ln for ln in done.stderr.splitlines() if "court.toml" in ln]
    assert f"{folder / 'court.toml'}:6:" in line and "yes_or_no" in line
    assert "Traceback" not in done.stderr


def test_schedule_set_warns_about_quiet_hours_and_show_looks_however_far_ahead(staffed: Cli) -> None:
    """A plan that starts in 30 days is listed (not "nothing scheduled"), with its flow; a time
    inside quiet hours is accepted with a warning saying when it will really go."""
    from datetime import date, timedelta

    staffed.ok("mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Dan Carter")
    start = (date.today() + timedelta(days=30)).isoformat()
    out = staffed.ok("schedule", "set", "Sam", "mon 22:30", "--start", start, "--flow", "monthly")
    assert out.startswith("Sam: plan is now mon 22:30, flow monthly")
    [warning] = [line for line in out.splitlines() if line.startswith("warning:")]
    assert "22:30" in warning and "quiet hours (21:00-08:00): it will go at Tue" in warning
    shown = staffed.ok("schedule", "show", "Sam").splitlines()
    assert shown[0].startswith("Sam: plan mon 22:30 (Europe/London), flow monthly")
    assert "nothing scheduled" not in "\n".join(shown)
    assert len([line for line in shown if line.strip().endswith("planned")]) >= 4
    assert any(line.strip().startswith("warning:") for line in shown)
