"""Signing in with a one-time code, over real HTTP, with the code read where it arrives."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import Config
from bot.service.runtime import Services, build_services
from bot.service.server import build_app
from bot.staff.pages import PRE_COOKIE, SESSION_COOKIE
from bot.storage.models import AuditEntry, Message, SigninCode
from tests.bot.staff.conftest import CSRF_RE, StaffWeb
from tests.conftest import RecordingPhone
from tests.fakes.server import ThreadedServer

DAN_PHONE = "+447700900001"
CODE_RE = re.compile(r"sign-in code is (\d{6})")


def ask(web: StaffWeb, client: httpx.Client, address: str) -> httpx.Response:
    page = client.get("/staff/sign-in")
    csrf = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
    return client.post("/staff/sign-in", data={"csrf": csrf, "address": address, "next": "/staff/"})


def enter(client: httpx.Client, address: str, code: str, next_: str = "/staff/") -> httpx.Response:
    page = client.get("/staff/sign-in")
    csrf = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
    return client.post("/staff/sign-in/code",
                       data={"csrf": csrf, "address": address, "code": code, "next": next_})


def codes_to(web: StaffWeb, address: str) -> list[str]:
    web.send()
    phone: RecordingPhone = web.svc.channels["console"]  # type: ignore[assignment]
    return [m.group(1) for t in phone.texts_for(address) if (m := CODE_RE.search(t))]


def test_a_mentor_signs_in_with_the_code_sent_to_their_phone(web: StaffWeb) -> None:
    browser = web.client()
    asked = ask(web, browser, "07700 900001")  # as people type it
    assert asked.status_code == 200
    assert "a code is on its way" in asked.text
    [code] = codes_to(web, DAN_PHONE)
    signed = enter(browser, "07700 900001", code)
    assert signed.status_code == 303 and signed.headers["location"] == "/staff/"
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie and "Path=/staff" in cookie and "Secure" not in cookie
    home = browser.get("/staff/")
    assert home.status_code == 200 and "Signed in as Dan Carter (mentor)" in home.text
    assert [e.detail for e in web.world.audited("signin")][-1].startswith("from ")


def test_an_unknown_address_gets_the_same_answer_and_nothing_is_sent(web: StaffWeb) -> None:
    known = ask(web, web.client(), "+447700900001")
    unknown = ask(web, web.client(), "+447700900777")
    def same(text: str, address: str) -> str:
        return CSRF_RE.sub("", text).replace(address, "ADDRESS")
    assert known.status_code == unknown.status_code == 200
    assert same(known.text, "+447700900001") == same(unknown.text, "+447700900777")
    assert codes_to(web, "+447700900777") == []
    refused = enter(web.client(), "+447700900777", "123456")
    wrong = enter(web.client(), "+447700900001", "000000" if codes_to(web, DAN_PHONE)[0] != "000000" else "111111")
    assert refused.status_code == wrong.status_code == 400
    assert "That code is wrong or has expired" in refused.text
    assert same(refused.text, "+447700900777") == same(wrong.text, "+447700900001")


def test_asking_for_a_code_takes_as_long_for_a_stranger_as_for_staff(web: StaffWeb) -> None:
    """Every answer is padded to the configured floor, so timing does not reveal who is staff."""
    floor = web.svc.config.staff.code_answer_seconds
    assert floor > 0
    for address in ("+447700900001", "+447700900777", "not-staff@example.org"):
        assert ask(web, web.client(), address).elapsed.total_seconds() >= floor


def test_codes_are_stored_hashed_and_the_sent_text_is_not_kept(web: StaffWeb) -> None:
    ask(web, web.client(), DAN_PHONE)
    [code] = codes_to(web, DAN_PHONE)
    with web.svc.sessions() as s:
        row = s.scalars(select(SigninCode)).one()
        assert code not in row.code_hash and code not in row.salt
        bodies = [m.body for m in s.scalars(select(Message).where(Message.purpose == "signin"))]
    assert bodies and all(code not in b for b in bodies)


def test_a_code_stops_working_after_five_wrong_tries(web: StaffWeb) -> None:
    ask(web, web.client(), DAN_PHONE)
    [code] = codes_to(web, DAN_PHONE)
    wrong = "111111" if code != "111111" else "222222"
    for _ in range(5):
        assert enter(web.client(), DAN_PHONE, wrong).status_code == 400
    late = enter(web.client(), DAN_PHONE, code)
    assert late.status_code == 400 and "wrong or has expired" in late.text
    assert len(web.world.audited("signin.failed")) == 6


def test_a_code_expires_after_ten_minutes(web: StaffWeb, clock: ManualClock) -> None:
    ask(web, web.client(), DAN_PHONE)
    [code] = codes_to(web, DAN_PHONE)
    clock.advance(minutes=10, seconds=1)
    assert enter(web.client(), DAN_PHONE, code).status_code == 400


def test_asking_again_retires_the_earlier_code(web: StaffWeb) -> None:
    browser = web.client()
    ask(web, browser, DAN_PHONE)
    ask(web, browser, DAN_PHONE)
    first, second = codes_to(web, DAN_PHONE)
    if first != second:
        assert enter(browser, DAN_PHONE, first).status_code == 400
    assert enter(browser, DAN_PHONE, second).status_code == 303


def test_codes_are_throttled_per_address_known_or_not(web: StaffWeb) -> None:
    for address in (DAN_PHONE, "+447700900777"):
        answers = [ask(web, web.client(), address).status_code for _ in range(6)]
        assert answers == [200] * 5 + [429]
    blocked = ask(web, web.client(), DAN_PHONE)
    assert "Too many sign-in codes" in blocked.text
    assert len(codes_to(web, DAN_PHONE)) == 5


def test_sign_in_is_throttled_per_client(web: StaffWeb) -> None:
    web.world.svc.config = dataclasses.replace(
        web.svc.config, staff=dataclasses.replace(web.svc.config.staff, signins_per_client_per_hour=4))
    answers = [enter(web.client(), f"+4477009007{i:02d}", "123456").status_code for i in range(5)]
    assert answers == [400] * 4 + [429]
    assert ask(web, web.client(), DAN_PHONE).status_code == 429  # asking for codes too


def test_something_that_is_not_a_phone_or_email_gets_one_line(web: StaffWeb) -> None:
    answer = ask(web, web.client(), "hello there")
    assert answer.status_code == 400
    assert "Enter the mobile number or email address the service has for you." in answer.text


def test_a_coordinator_signs_in_by_email(web: StaffWeb) -> None:
    ask(web, web.client(), "Cora@Example.org")
    [code] = codes_to(web, "cora@example.org") or codes_to(web, "+0")
    assert enter(web.client(), "cora@example.org", code).status_code == 303


def test_sign_in_forms_need_their_csrf_token(web: StaffWeb) -> None:
    browser = web.client()
    browser.get("/staff/sign-in")
    assert PRE_COOKIE in browser.cookies
    refused = browser.post("/staff/sign-in", data={"address": DAN_PHONE})
    assert refused.status_code == 403 and "did not come from this app" in refused.text
    assert codes_to(web, DAN_PHONE) == []


def test_after_sign_in_the_person_goes_back_where_they_were_going_and_never_off_site(web: StaffWeb) -> None:
    ask(web, web.client(), DAN_PHONE)
    [code] = codes_to(web, DAN_PHONE)
    assert enter(web.client(), DAN_PHONE, code, "/staff/alerts").headers["location"] == "/staff/alerts"
    ask(web, web.client(), DAN_PHONE)
    code = codes_to(web, DAN_PHONE)[-1]
    assert enter(web.client(), DAN_PHONE, code, "https://evil.example/").headers["location"] == "/staff/"


def test_a_session_ends_after_the_idle_timeout(web: StaffWeb, clock: ManualClock) -> None:
    browser = web.client(web.world.dan)
    assert browser.get("/staff/").status_code == 200
    clock.advance(minutes=59)
    assert browser.get("/staff/").status_code == 200  # each page keeps it alive
    clock.advance(minutes=60, seconds=1)
    gone = browser.get("/staff/mentees")
    assert gone.status_code == 303
    assert gone.headers["location"] == "/staff/sign-in?next=%2Fstaff%2Fmentees"


def test_a_session_ends_after_its_longest_life_however_busy(web: StaffWeb, clock: ManualClock) -> None:
    browser = web.client(web.world.dan)
    for _ in range(13):
        clock.advance(minutes=59)
        browser.get("/staff/")
    assert browser.get("/staff/").status_code == 303


def test_sign_out_everywhere_ends_every_session_of_that_person(web: StaffWeb) -> None:
    phone, laptop, other = web.client(web.world.dan), web.client(web.world.dan), web.client(web.world.omar)
    out = web.post(phone, "/staff/sign-out-everywhere")
    assert out.status_code == 303 and out.headers["location"] == "/staff/sign-in?m=out"
    assert laptop.get("/staff/").status_code == 303
    assert phone.get("/staff/").status_code == 303
    assert other.get("/staff/").status_code == 200
    assert web.world.audited("signout.everywhere")[-1].detail == "2 session(s)"


def test_sign_out_ends_only_this_session(web: StaffWeb) -> None:
    phone, laptop = web.client(web.world.dan), web.client(web.world.dan)
    assert web.post(phone, "/staff/sign-out").status_code == 303
    assert phone.get("/staff/").status_code == 303
    assert laptop.get("/staff/").status_code == 200


def test_pausing_a_staff_member_ends_their_sessions(web: StaffWeb) -> None:
    from bot.app import staff

    browser = web.client(web.world.dan)
    staff.pause(web.svc, web.world.operator, "Dan Carter")
    assert browser.get("/staff/").status_code == 303


@pytest.fixture
def https_web(tmp_path: object, clock: ManualClock) -> Iterator[tuple[str, Services]]:
    config = Config().with_database(f"sqlite:///{tmp_path}/https.db")
    config = dataclasses.replace(config, service=dataclasses.replace(
        config.service, public_base_url="https://checkins.example.org"))
    svc = build_services(config, clock, channels={"console": RecordingPhone()})
    app, _ = build_app(svc, run_loops=False)
    with ThreadedServer(app) as server:
        yield server.url, svc
    svc.engine.dispose()


def test_cookies_are_secure_when_the_public_address_is_https(https_web: tuple[str, Services]) -> None:
    url, _ = https_web
    page = httpx.get(url + "/staff/sign-in", trust_env=False)
    assert "Secure" in page.headers["set-cookie"]


def test_every_staff_page_carries_the_security_headers(web: StaffWeb) -> None:
    for response in (web.client().get("/staff/sign-in"), web.client(web.world.dan).get("/staff/")):
        h = response.headers
        assert h["content-security-policy"].startswith("default-src 'self'; frame-ancestors 'none'")
        assert "script-src" not in h["content-security-policy"]  # so no inline script runs
        assert h["referrer-policy"] == "no-referrer"
        assert h["x-content-type-options"] == "nosniff"
        assert h["cache-control"] == "no-store"
    assert "<script>" not in web.client(web.world.dan).get(f"/staff/mentees/{web.world.sam}").text


def test_audit_never_keeps_the_address_typed(web: StaffWeb) -> None:
    ask(web, web.client(), "+447700900777")
    with web.svc.sessions() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "signin.code")).all()
    assert rows and all("900777" not in (r.detail + r.target) for r in rows)
