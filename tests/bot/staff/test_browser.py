"""The staff app in a real browser: Playwright driving Debian's Chromium against the whole
service on 127.0.0.1 (its own loops running), with SMS through the fake Twilio.

Skipped, with the reason, where /usr/bin/chromium or the playwright package is missing. Never
run `playwright install`: the tests use the system Chromium only.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import load_config
from bot.service import admin
from bot.service.runtime import build_services
from bot.service.server import build_app, build_channels
from bot.storage.models import Message
from escalation.detect import warm_up
from tests.bot.staff.conftest import skip_without_browser
from tests.fakes.server import ThreadedServer
from tests.fakes.twilio_server import FakeTwilio, inbound_sms_form, post_twilio_webhook
from tests.waiting import PATIENCE, wait_until

skip_without_browser()

T = TypeVar("T")
PUBLIC = "http://127.0.0.1:8080"  # what the service believes its address is (plain http: no Secure cookies)
SAM, DAN, PRIYA, OMAR = "+447700900123", "+447700900011", "+447700900012", "+447700900014"
CRISIS = "Got a rope and im doing it tonight, ive had enough"
WIDTH = 360


def wait_for(what: Callable[[], T]) -> T:
    """Wait (real time, bounded by PATIENCE) for the service's own loops to do something."""
    return wait_until(what)


class Service:
    def __init__(self, tmp_path: Path, clock: ManualClock, twilio: FakeTwilio) -> None:
        path = tmp_path / "config.toml"
        path.write_text(f"""
[service]
org_name = "Northside Mentoring"
database_url = "sqlite:///{tmp_path / 'browser.db'}"
public_base_url = "{PUBLIC}"
tick_seconds = 0.2
[twilio]
enabled = true
account_sid = "{twilio.account_sid}"
from_number = "{twilio.from_number}"
api_base_url = "{twilio.url}"
[digest]
enabled = false
[staff]
link_secret = "browser-test-link-secret-0123456789"
""", encoding="utf-8")
        self.config = load_config(path, {"CHECKINS_TWILIO_AUTH_TOKEN": twilio.auth_token})
        self.twilio = twilio
        self.svc = build_services(self.config, clock)
        self.svc.channels = build_channels(self.config, clock)
        app, _ = build_app(self.svc, run_loops=True)
        with self.svc.sessions() as s, s.begin():
            now = clock.now()
            admin.add_staff(s, now, name="Priya Shah", role="supervisor", phone=PRIYA, channels="sms")
            admin.add_staff(s, now, name="Dan Carter", role="mentor", phone=DAN, channels="sms",
                            supervisor="Priya Shah")
            admin.add_staff(s, now, name="Omar Hill", role="mentor", phone=OMAR, channels="sms",
                            supervisor="Priya Shah")
            self.sam = admin.add_mentee(s, self.svc, now, first_name="Sam", last_name="Taylor",
                                        phone=SAM, mentor="Dan Carter", plan="").id
        warm_up()  # the risk model loads once per process: not inside the server's start-up wait
        self.server = ThreadedServer(app).start(timeout=PATIENCE)
        self.url = self.server.url

    def texts_to(self, number: str) -> list[str]:
        return [m["Body"] for m in list(self.twilio.messages) if m["To"] == number]

    def mentee_texts(self, body: str) -> None:
        form = inbound_sms_form(SAM, body, message_sid="SM" + os.urandom(16).hex())
        answer = post_twilio_webhook(self.url + "/twilio/sms", form, self.twilio.auth_token,
                                     public_url=PUBLIC + "/twilio/sms")
        assert answer.status_code == 200

    def code_for(self, number: str, already: int) -> str:
        texts = wait_for(lambda: [t for t in self.texts_to(number) if "sign-in code" in t][already:])
        return re.search(r"code is (\d{6})", texts[-1]).group(1)  # type: ignore[union-attr]

    def close(self) -> None:
        self.server.stop()
        self.svc.engine.dispose()


@pytest.fixture
def service(tmp_path: Path, clock: ManualClock, fake_twilio: FakeTwilio) -> Iterator[Service]:
    s = Service(tmp_path, clock, fake_twilio)
    yield s
    s.close()


def phone_page(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": WIDTH, "height": 740}, device_scale_factor=1)
    context.set_default_timeout(PATIENCE * 1000)  # Playwright's waits end on the event, not at 30 s
    return context.new_page()


def fits(page: Any, shots: Path, name: str) -> None:
    """A 360 px screenshot of the page, and no sideways scrolling."""
    # The README's copies show the first screen a phone sees; the test's own, the whole page.
    page.screenshot(path=str(shots / f"staff-{name}.png"),
                    full_page="CHECKINS_STAFF_SCREENSHOTS" not in os.environ)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{name} is {width} px wide at {WIDTH} px"


def sign_in(page: Any, service: Service, url: str, number: str, shots: Path | None = None) -> None:
    already = len([t for t in service.texts_to(number) if "sign-in code" in t])
    page.goto(url)
    assert "/staff/sign-in" in page.url
    page.get_by_label("Your mobile number or email address").fill(number)
    if shots is not None:
        fits(page, shots, "sign-in")
    page.get_by_role("button", name="Send me a code").click()
    page.get_by_label("6-digit code").fill(service.code_for(number, already))
    page.get_by_role("button", name="Sign in").click()
    # The code form redirects to where the person was going: wait for that page, not the click
    # (reading the page mid-navigation gives "" on a busy machine).
    page.wait_for_url(lambda url: "/sign-in" not in url)
    page.wait_for_load_state()


def test_a_mentor_answers_an_alert_from_sign_in_to_reply(service: Service, browser: Any, shots: Path) -> None:
    service.mentee_texts(CRISIS)
    alert_text = wait_for(lambda: [t for t in service.texts_to(DAN) if "URGENT" in t])[0]
    link = re.search(r"(http\S+/staff/a/\S+)", alert_text).group(1)  # type: ignore[union-attr]
    page = phone_page(browser)

    # From the link in the alert text, through sign-in, to the alert.
    sign_in(page, service, service.url + link.removeprefix(PUBLIC), DAN, shots)
    assert re.search(r"/staff/alerts/[A-Z0-9]+$", page.url)
    code = page.url.rsplit("/", 1)[1]
    assert CRISIS in page.locator("main").inner_text()  # what Sam wrote, in full
    fits(page, shots, "alert")

    # Needs attention: the urgent alert first.
    page.get_by_role("link", name="Needs attention").click()
    first = page.locator("section[aria-labelledby=h-alerts] li.card").first
    assert "URGENT" in first.inner_text() and "Sam T." in first.inner_text()
    assert "Nobody has taken it yet" in first.inner_text()
    fits(page, shots, "needs-attention")

    # Open the mentee and read the message.
    first.get_by_role("link").click()
    page.get_by_role("link", name="Read everything Sam T. wrote").click()
    assert page.locator(".timeline .item.in.new").first.inner_text().count(CRISIS) == 1
    fits(page, shots, "mentee")

    # Acknowledge: the supervisor, paged too, hears who has it.
    page.get_by_role("link", name=re.compile(f"Alert {code}")).first.click()
    page.get_by_role("button", name="I'll take it (acknowledge)").click()
    assert f"You have alert {code}" in page.locator(".flash").inner_text()
    wait_for(lambda: [t for t in service.texts_to(PRIYA) if "Dan Carter has taken this alert" in t])

    # Reply, with the live count, and the reply reaches Sam's phone.
    page.get_by_role("link", name=re.compile("reply")).click()
    box = page.get_by_label("Your message")
    box.fill("Hi Sam, it’s Dan. I’m ringing you in 5 minutes.")
    assert page.locator("#count").inner_text() == (
        "47 characters, 1 text; a basic phone can't show ’, so they will be changed.")
    page.get_by_role("button", name="Send reply").click()
    assert "Your reply is on its way by text (47 characters)." in page.locator(".flash").inner_text()
    wait_for(lambda: "Hi Sam, it's Dan. I'm ringing you in 5 minutes." in service.texts_to(SAM))
    page.locator(".timeline").get_by_text("Dan Carter by sms").first.wait_for()


def test_a_mentor_cannot_open_another_mentors_mentee(service: Service, browser: Any, shots: Path) -> None:
    page = phone_page(browser)
    sign_in(page, service, service.url + "/staff/", OMAR)
    assert "Signed in as Omar Hill" in page.locator("body").inner_text()
    assert "Sam T." not in page.content()
    response = page.goto(f"{service.url}/staff/mentees/{service.sam}")
    assert response is not None and response.status == 404
    assert "no mentee" in page.locator("main").inner_text()
    fits(page, shots, "not-found")


def test_a_form_without_its_csrf_token_is_refused(service: Service, browser: Any) -> None:
    service.mentee_texts(CRISIS)
    wait_for(lambda: [t for t in service.texts_to(DAN) if "URGENT" in t])
    page = phone_page(browser)
    sign_in(page, service, service.url + f"/staff/mentees/{service.sam}", DAN)
    page.locator("#reply input[name=csrf]").evaluate("element => element.remove()")
    page.get_by_label("Your message").fill("This should not be sent")
    page.get_by_role("button", name="Send reply").click()
    assert "nothing was done" in page.locator("main").inner_text()
    forged = page.context.request.post(f"{service.url}/staff/mentees/{service.sam}/reply",
                                       form={"text": "Nor this"})
    assert forged.status == 403
    # A refused form queues nothing (the request's own transaction would have: no wait needed),
    # and so nothing can reach Sam.
    with service.svc.sessions() as s:
        queued = [m.body for m in s.scalars(select(Message).where(Message.direction == "out",
                                                                  Message.mentee_id == service.sam))]
    assert not any("should not" in b or "Nor this" in b for b in queued)
    assert not any("should not" in t or "Nor this" in t for t in service.texts_to(SAM))
    assert json.dumps(service.texts_to(SAM)).count("Dan") == 0
