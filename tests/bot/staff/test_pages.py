"""What the pages do, over HTTP: needs attention, the mentee record and reply, the alert page,
the signed link in alert texts, and the others paged being told who has an alert."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime

from sqlalchemy import select

from bot.service import alerting
from bot.storage.models import Alert, Mentee, Message
from bot.staff_links import link_signature
from tests.bot.staff.conftest import LEE_PHONE, SAM_PHONE, StaffWeb
from tests.conftest import RecordingPhone

DAN_PHONE, PRIYA_PHONE = "+447700900001", "+447700900002"


def phone(web: StaffWeb) -> RecordingPhone:
    return web.svc.channels["console"]  # type: ignore[return-value]


def test_needs_attention_puts_urgent_alerts_first_with_how_long_they_have_waited(web: StaffWeb) -> None:
    with web.svc.sessions() as s, s.begin():
        sam = s.get(Mentee, web.world.sam)
        assert sam is not None
        alerting.raise_finding(s, web.svc, sam, "no_contact", "concern", "2 check-ins missed",
                               "missed_streak.2", web.world.clock.now())
    web.settle()
    web.world.clock.advance(minutes=12)
    web.crisis(LEE_PHONE)
    web.world.clock.advance(minutes=5)
    page = web.client(web.world.cora).get("/staff/").text
    alerts = page[page.index("Open alerts"):page.index("Unread messages")]
    assert alerts.index("Lee J.") < alerts.index("Sam T.")  # urgent first, though newer
    assert "raised 5 min ago" in alerts and "raised 17 min ago" in alerts
    assert alerts.count("Nobody has taken it yet") == 2


def test_opening_a_mentee_marks_their_messages_read(web: StaffWeb) -> None:
    web.world.text(SAM_PHONE, "Can you call me later? Stuff with my landlord")
    dan, priya = web.client(web.world.dan), web.client(web.world.priya)
    assert "1 new message" in dan.get("/staff/").text
    record = dan.get(f"/staff/mentees/{web.world.sam}").text
    assert "Stuff with my landlord" in record and 'class="tag new">new' in record
    assert "1 new message" not in dan.get("/staff/").text
    assert "1 new message" in priya.get("/staff/").text  # read markers are each person's own
    assert 'class="tag new">new' not in dan.get(f"/staff/mentees/{web.world.sam}").text
    assert [e.detail for e in web.world.audited("mentee.read")] == ["1 message(s)"]
    assert len(web.world.audited("mentee.view")) == 2


def test_a_reply_goes_through_the_outbox_as_that_staff_member(web: StaffWeb) -> None:
    dan = web.client(web.world.dan)
    text = "Hi Sam, it’s Dan. I’ll ring you at 3 — pick up if you can."
    sent = web.post(dan, f"/staff/mentees/{web.world.sam}/reply", {"text": text},
                    csrf_from=f"/staff/mentees/{web.world.sam}")
    assert sent.status_code == 303 and sent.headers["location"].endswith("#reply")
    page = dan.get(sent.headers["location"]).text
    assert "Your reply is on its way by console." in page  # SMS counts: see the browser test
    web.send()
    assert phone(web).texts_for(SAM_PHONE)[-1] == text
    with web.svc.sessions() as s:
        row = s.scalars(select(Message).where(Message.purpose == "staff_reply")).one()
        assert row.sent_by_staff_id == web.world.dan.staff_id and row.status == "delivered"
    page = dan.get(f"/staff/mentees/{web.world.sam}").text
    assert "Dan Carter by console: delivered" in page
    assert web.world.audited("mentee.reply")


def test_the_mentees_answer_lands_in_the_same_thread_and_is_still_risk_checked(web: StaffWeb) -> None:
    dan = web.client(web.world.dan)
    web.post(dan, f"/staff/mentees/{web.world.sam}/reply", {"text": "How are you doing?"},
             csrf_from=f"/staff/mentees/{web.world.sam}")
    web.send()
    web.world.text(SAM_PHONE, "Got a rope and im doing it tonight, ive had enough")
    page = dan.get(f"/staff/mentees/{web.world.sam}").text
    assert page.index("How are you doing?") < page.index("Got a rope")
    with web.svc.sessions() as s:
        assert s.scalars(select(Alert.severity)).one() == "urgent"


def test_a_reply_to_a_mentee_who_texted_stop_is_refused_with_one_line(web: StaffWeb) -> None:
    web.world.text(SAM_PHONE, "STOP")
    dan = web.client(web.world.dan)
    record = dan.get(f"/staff/mentees/{web.world.sam}").text
    assert "texted STOP, so nothing can be sent" in record and 'name="text"' not in record
    csrf = web.csrf(dan)
    refused = dan.post(f"/staff/mentees/{web.world.sam}/reply", data={"csrf": csrf, "text": "hello?"})
    assert refused.status_code == 400
    assert "Sam T. opted out (texted STOP): nothing can be sent until they text START" in refused.text
    with web.svc.sessions() as s:
        assert not s.scalars(select(Message).where(Message.purpose == "staff_reply")).all()


def test_in_quiet_hours_a_reply_waits_unless_sent_now_anyway(web: StaffWeb) -> None:
    web.world.clock.set(datetime(2026, 3, 10, 22, 15, tzinfo=UTC))  # 22:15 in London (GMT)
    dan = web.client(web.world.dan)
    record = dan.get(f"/staff/mentees/{web.world.sam}").text
    assert "It is Sam's quiet hours (21:00-08:00)" in record and "Send now anyway" in record
    held = web.post(dan, f"/staff/mentees/{web.world.sam}/reply", {"text": "Morning call?"},
                    csrf_from=f"/staff/mentees/{web.world.sam}")
    assert "It will go at Wed 11 Mar 08:00, when their quiet hours end." in dan.get(held.headers["location"]).text
    web.send()
    assert "Morning call?" not in phone(web).texts_for(SAM_PHONE)
    web.post(dan, f"/staff/mentees/{web.world.sam}/reply", {"text": "Ring me now", "send_now": "yes"},
             csrf_from=f"/staff/mentees/{web.world.sam}")
    web.send()
    assert phone(web).texts_for(SAM_PHONE)[-1] == "Ring me now"


def test_a_reply_too_long_is_refused_with_its_count_and_kept_in_the_box(web: StaffWeb) -> None:
    dan = web.client(web.world.dan)
    text = ("word " * 129).strip()  # 644 characters
    refused = web.post(dan, f"/staff/mentees/{web.world.sam}/reply", {"text": text},
                       csrf_from=f"/staff/mentees/{web.world.sam}")
    assert refused.status_code == 400
    assert "the reply is 644 characters; the most is 640" in refused.text
    assert "644 characters, 5 texts" in refused.text and f">{text}</textarea>" in refused.text
    empty = web.post(dan, f"/staff/mentees/{web.world.sam}/reply", {"text": "   "},
                     csrf_from=f"/staff/mentees/{web.world.sam}")
    assert empty.status_code == 400 and "the reply is empty" in empty.text


def test_acknowledging_on_the_alert_page_tells_the_others_paged_who_has_it(web: StaffWeb) -> None:
    code = web.crisis()
    dan = web.client(web.world.dan)
    page = dan.get(f"/staff/alerts/{code}").text
    assert "Got a rope and im doing it tonight, ive had enough" in page and "I'll take it" in page
    done = web.post(dan, f"/staff/alerts/{code}/acknowledge", csrf_from=f"/staff/alerts/{code}")
    assert done.status_code == 303
    page = dan.get(done.headers["location"]).text
    assert f"You have alert {code}" in page and "Taken by Dan Carter" in page
    web.send()
    told = phone(web).texts_for(PRIYA_PHONE)[-1]
    assert told == (f"{code} Sam T.: Dan Carter has taken this alert. Nothing more is needed "
                    "from you unless they ask.")
    assert not any("has taken" in t for t in phone(web).texts_for(DAN_PHONE))
    again = web.post(web.client(web.world.priya), f"/staff/alerts/{code}/acknowledge",
                     csrf_from=f"/staff/alerts/{code}")
    assert again.status_code == 303
    assert len([t for t in phone(web).texts_for(DAN_PHONE) if "has taken" in t]) == 0


def test_ack_by_text_still_works_and_also_tells_the_others(web: StaffWeb) -> None:
    code = web.crisis()
    web.world.text(DAN_PHONE, f"ACK {code}")
    with web.svc.sessions() as s:
        assert s.scalars(select(Alert.status).where(Alert.code == code)).one() == "acknowledged"
    assert "Dan Carter has taken this alert" in phone(web).texts_for(PRIYA_PHONE)[-1]
    assert "Taken by Dan Carter" in web.client(web.world.priya).get(f"/staff/alerts/{code}").text


def test_notes_and_closing_with_a_required_outcome(web: StaffWeb) -> None:
    code = web.crisis()
    dan = web.client(web.world.dan)
    at = f"/staff/alerts/{code}"
    assert web.post(dan, at + "/note", {"note": "Rang Sam; he is with his sister."}, csrf_from=at).status_code == 303
    empty = web.post(dan, at + "/note", {"note": "  "}, csrf_from=at)
    assert empty.status_code == 400 and "the note is empty" in empty.text
    nothing = web.post(dan, at + "/close", {"outcome_kind": "other", "outcome": ""}, csrf_from=at)
    assert nothing.status_code == 400 and "the outcome is empty" in nothing.text
    bogus = web.post(dan, at + "/close", {"outcome_kind": "made-up"}, csrf_from=at)
    assert bogus.status_code == 400 and "choose one of the outcomes listed" in bogus.text
    closed = web.post(dan, at + "/close", {"outcome_kind": "spoke", "outcome": "GP on Monday"}, csrf_from=at)
    assert closed.status_code == 303
    page = dan.get(at).text
    assert "Outcome:</strong> Spoke with them; they are safe for now: GP on Monday" in page
    assert "Rang Sam; he is with his sister." in page and "Close alert" not in page
    history = page[page.index('id="history"'):]
    assert history.index("raised") < history.index("note") < history.index("closed")
    again = web.post(dan, at + "/close", {"outcome_kind": "spoke"}, csrf_from="/staff/")
    assert again.status_code == 400 and "already closed by Dan Carter" in again.text


def test_alert_texts_carry_a_signed_link_that_opens_the_page_after_sign_in(web: StaffWeb) -> None:
    secret = "a-long-random-secret-0123456789"
    web.world.svc.config = dataclasses.replace(
        web.svc.config, staff=dataclasses.replace(web.svc.config.staff, link_secret=secret))
    code = web.crisis()
    [text] = [t for t in phone(web).texts_for(DAN_PHONE) if code in t]
    link = re.search(r"(http\S+/staff/a/\S+)", text).group(1)  # type: ignore[union-attr]
    assert link == f"http://127.0.0.1:8080/staff/a/{code}?s={link_signature(secret, code)}"
    assert len(text) <= 160 and f"Reply ACK {code}" in text
    path = link.removeprefix("http://127.0.0.1:8080")
    signed_out = web.client().get(path)
    assert signed_out.status_code == 303 and "next=%2Fstaff%2Fa%2F" in signed_out.headers["location"]
    opened = web.client(web.world.dan).get(path)
    assert opened.status_code == 303 and opened.headers["location"] == f"/staff/alerts/{code}"
    assert web.client(web.world.dan).get(f"/staff/a/{code}?s=AAAAAAAAAA").status_code == 404
    assert web.client(web.world.omar).get(path).status_code == 303  # the link is genuine...
    assert web.client(web.world.omar).get(f"/staff/alerts/{code}").status_code == 404  # ...the page is not his


def test_without_a_link_secret_alert_texts_carry_no_link(web: StaffWeb) -> None:
    code = web.crisis()
    assert not any("/staff/a/" in t for t in phone(web).texts_for(DAN_PHONE))
    assert web.client(web.world.dan).get(f"/staff/a/{code}?s=anything").status_code == 404
