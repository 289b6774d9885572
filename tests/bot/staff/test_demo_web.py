"""`checkins demo --web`: the staff app beside the simulated phones, signed in as Dan by a link."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.cli import main
from bot.demo import Demo, MENTEE_PHONE
from tests.bot.staff.conftest import CRISIS, CSRF_RE


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Demo, io.StringIO]]:
    out = io.StringIO()
    d = Demo(out, tmp_path, datetime(2026, 12, 2, 10, 0, tzinfo=UTC))  # a morning: outside quiet hours
    yield d, out
    d.stop_web()
    d.svc.engine.dispose()


def test_the_demo_link_signs_in_as_the_mentor_who_sees_and_answers_the_alert(
        demo: tuple[Demo, io.StringIO]) -> None:
    d, out = demo
    link = d.start_web(0)
    base = link.split("/staff/")[0]
    browser = httpx.Client(base_url=base, trust_env=False, follow_redirects=False, timeout=20)
    assert browser.get("/staff/demo-sign-in?key=wrong").status_code == 404
    signed = browser.get(link.removeprefix(base))
    assert signed.status_code == 303 and signed.headers["location"] == "/staff/"
    d.text_from(MENTEE_PHONE, CRISIS)
    home = browser.get("/staff/").text
    assert "Signed in as Dan Carter (mentor)" in home and "URGENT" in home
    page = browser.get(f"/staff/mentees/{d.mentee_id}")
    csrf = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
    sent = browser.post(f"/staff/mentees/{d.mentee_id}/reply",
                        data={"csrf": csrf, "text": "Dan here, ringing you now"})
    assert sent.status_code == 303
    d.handle("\n")  # Enter: what was sent from the web goes out
    assert re.search(r"-> Sam \(mentee, SMS\): Dan here, ringing you now", out.getvalue())


def test_a_port_that_is_not_a_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--web", "70000", "--script", "nope.txt"]) == 2
    assert "--web port 70000 is not a port number (1-65535)" in capsys.readouterr().err
