"""`checkins demo`: a whole check-in on a fresh machine, no credentials, driven by a script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.demo import demo_start

CLOSING = "Thanks Sam, that's it for this week. Your mentor will see your answers."
# A fixed morning, so what is sent never depends on the hour the tests run (quiet hours).
AT_TEN = ["--at", "2026-12-02T10:00"]
GOOD_WEEK = "# a good week: mood, sleep, somewhere safe, safe at home, nothing to add\n4\n3 i guess\nyeh\nyes\nno\n"


def script(tmp_path: Path, text: str) -> str:
    path = tmp_path / "replies.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


def mentee_lines(out: str) -> list[str]:
    return [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("  -> Sam (mentee")]


def test_demo_script_completes_a_whole_check_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", *AT_TEN, "--script", script(tmp_path, GOOD_WEEK)])
    out = capsys.readouterr().out
    assert code == 0
    said = mentee_lines(out)
    assert said[0].startswith("Hi Sam, it's your check-in.")
    assert said[-1].startswith(CLOSING)
    assert len(said) == 6  # five questions and the closing: no re-asks for these replies
    assert out.index("Sam texts: no") < out.index(CLOSING)
    assert out.rstrip().endswith("demo finished; the temporary database has been deleted.")


def test_demo_shows_staff_alerts_as_they_would_arrive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replies = "4\n4\nno\nyes\nLeeds\nyes\nno\n/ack\n/quit\nnever read\n"
    code = main(["demo", *AT_TEN, "--script", script(tmp_path, replies)])
    out = capsys.readouterr().out
    assert code == 0
    to_mentor = [line for line in out.splitlines() if line.startswith("  -> Dan (mentor): ")]
    to_supervisor = [line for line in out.splitlines() if line.startswith("  -> Priya (supervisor): ")]
    assert any("URGENT" in line and "ACK" in line for line in to_mentor)
    assert any("URGENT" in line and "ACK" in line for line in to_supervisor)
    assert "Dan (mentor) texts: ACK " in out and "is acknowledged" in out
    assert mentee_lines(out)[-1].startswith(CLOSING)
    assert "never read" not in out  # /quit ends the script


def test_a_missing_script_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", *AT_TEN, "--script", str(tmp_path / "nope.txt")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [f"checkins: error: script file not found: {tmp_path / 'nope.txt'}"]


def installed_checkins() -> str:
    path = Path(sys.executable).parent / "checkins"
    if not path.exists():
        pytest.skip("the checkins console script is not installed in this environment")
    return str(path)


def test_the_installed_command_runs_the_demo_script_and_leaves_nothing_behind(tmp_path: Path) -> None:
    workdir = tmp_path / "fresh"
    workdir.mkdir()
    result = subprocess.run([installed_checkins(), "demo", *AT_TEN, "--script", script(tmp_path, GOOD_WEEK)],
                            cwd=workdir, capture_output=True, text=True, timeout=120,
                            env={"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert CLOSING in result.stdout
    assert list(workdir.iterdir()) == []  # the demo's database was temporary


def test_the_demo_reads_piped_stdin_too(tmp_path: Path) -> None:
    result = subprocess.run([installed_checkins(), "demo", *AT_TEN], input=GOOD_WEEK, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert CLOSING in result.stdout
    assert "Sam> " not in result.stdout  # not interactive: no prompts in the transcript


def test_the_demo_sends_no_check_in_to_a_mentee_who_texted_stop(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """/checkin after STOP says why nothing went, instead of texting Sam anyway."""
    code = main(["demo", *AT_TEN, "--script", script(tmp_path, "STOP\n/checkin\n")])
    out = capsys.readouterr().out
    assert code == 0
    after = out[out.index("Sam texts: STOP"):]
    assert "opted out (texted STOP); no check-in sent" in after
    assert not any("it's your check-in" in line for line in mentee_lines(after))


def test_a_demo_started_in_quiet_hours_starts_its_clock_when_they_end(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Tried at 10pm, the demo still shows a check-in: its simulated clock starts at 8am."""
    code = main(["demo", "--at", "2026-12-02T22:15", "--script", script(tmp_path, GOOD_WEEK)])
    out = capsys.readouterr().out
    assert code == 0
    assert "It is quiet hours for Sam now (21:00-08:00: nothing goes to a mentee)" in out
    assert "starts when they end: Thu 3 Dec 08:00 GMT." in out
    assert mentee_lines(out)[0].startswith("Hi Sam, it's your check-in.")
    assert mentee_lines(out)[-1].startswith(CLOSING)


def test_the_demo_clock_starts_now_outside_quiet_hours_and_at_their_end_inside() -> None:
    from datetime import UTC, datetime

    assert demo_start(datetime(2026, 6, 3, 9, 30, 42, tzinfo=UTC), "21:00-08:00") == datetime(2026, 6, 3, 9, 30, tzinfo=UTC)
    # 21:30 BST is 20:30 UTC: quiet; 08:00 BST next day is 07:00 UTC
    assert demo_start(datetime(2026, 6, 3, 20, 30, tzinfo=UTC), "21:00-08:00") == datetime(2026, 6, 4, 7, 0, tzinfo=UTC)
    assert demo_start(datetime(2026, 6, 3, 20, 30, tzinfo=UTC), "") == datetime(2026, 6, 3, 20, 30, tzinfo=UTC)


def test_a_demo_time_that_is_not_a_time_is_one_line_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--at", "teatime", "--script", script(tmp_path, GOOD_WEEK)])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "checkins: error: --at 'teatime' is not a time; write it like 2026-12-04T10:00"]
