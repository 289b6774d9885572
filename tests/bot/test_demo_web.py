"""`checkins demo --web`: the staff app beside the terminal demo, on 127.0.0.1, entered by a
one-off link printed in the terminal; both sides of an alert are then in view."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
import pytest

from bot.cli import main
from bot.demo import Demo
from bot.demo_web import DemoWeb, require_loopback

CRISIS = "Got a rope and im doing it tonight, ive had enough"


@pytest.fixture
def demo(tmp_path: Path):  # type: ignore[no-untyped-def]
    from bot.demo import free_port
    port = free_port()
    out = io.StringIO()
    d = Demo(out, tmp_path, web_port=port)
    d.web = DemoWeb(d.svc, d.mentor_id(), port)
    d.web.start()  # no helper thread: the test settles the demo itself
    yield d, out
    d.web.stop()
    d.svc.engine.dispose()


def _browser(demo: Demo) -> httpx.Client:
    assert demo.web is not None
    return httpx.Client(base_url=demo.web.base_url, follow_redirects=False, trust_env=False, timeout=20)


def test_the_link_signs_in_as_the_demo_mentor_once(demo) -> None:  # type: ignore[no-untyped-def]
    d, _ = demo
    link = d.web.sign_in_link()
    client = _browser(d)
    answer = client.get(link)
    assert answer.status_code == 303 and answer.headers["location"] == "/staff/"
    home = client.get("/staff/")
    assert home.status_code == 200 and "Signed in as Dan Carter (mentor" in home.text
    again = _browser(d).get(link)
    assert again.status_code == 404 and "/web" in again.text
    assert _browser(d).get("/demo-sign-in/made-up").status_code == 404
    assert _browser(d).get("/staff/").status_code == 303  # no link, no session


def test_both_sides_of_an_alert(demo) -> None:  # type: ignore[no-untyped-def]
    d, out = demo
    d.handle(CRISIS)
    # The signature is URL-safe base64, so it may hold "-" and "_".
    alert_link = re.search(r"(http://127\.0\.0\.1:\d+/staff/a/\w+\?s=[\w-]+)", out.getvalue())
    assert alert_link, "the alert text to Dan carries the link to the alert page"
    client = _browser(d)
    client.get(d.web.sign_in_link())
    alert_page = client.get(alert_link.group(1), follow_redirects=True)
    assert alert_page.status_code == 200 and "Sam T." in alert_page.text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', alert_page.text).group(1)  # type: ignore[union-attr]
    sam = client.get("/staff/mentees").text
    mentee_path = re.search(r'href="(/staff/mentees/\d+)"', sam).group(1)  # type: ignore[union-attr]
    sent = client.post(mentee_path + "/reply", data={"csrf": csrf, "text": "Sam, it's Dan. Calling you now.",
                                                     "send_now": "yes"})
    assert sent.status_code == 303
    d.settle()
    assert "-> Sam (mentee, SMS): Sam, it's Dan. Calling you now." in out.getvalue()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "example.org", ""])
def test_the_demo_staff_app_never_listens_beyond_loopback(host: str) -> None:
    with pytest.raises(ValueError, match="only runs on 127.0.0.1"):
        require_loopback(host)


def test_checkins_demo_web_prints_the_address_and_a_link(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "s.txt"
    script.write_text("/web\n/quit\n", encoding="utf-8")
    assert main(["demo", "--script", str(script), "--web", "0"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"The staff app is at http://127\.0\.0\.1:\d+/staff/ \(this computer only\)", out)
    assert len(re.findall(r"signed in as Dan \(works once\): http://127\.0\.0\.1:\d+/demo-sign-in/\S+", out)) == 2


def test_a_busy_port_gets_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        script = tmp_path / "s.txt"
        script.write_text("/quit\n", encoding="utf-8")
        code = main(["demo", "--script", str(script), "--web", str(port)])
    assert code == 2
    assert f"port {port} on 127.0.0.1 is in use: try --web {port + 1}" in capsys.readouterr().err
