"""SMS end to end: Twilio-signed webhooks into the running service, replies out through the real
twilio client to FakeTwilio, delivery receipts back in, all on 127.0.0.1."""

from __future__ import annotations


import httpx
import pytest

from bot.clock import ManualClock
from bot.gsm7 import is_gsm7
from bot.storage.models import Answer, DueEvent, Mentee, Message, Staff
from tests.bot.service.channels_stack import (  # noqa: F401 - make_stack is a fixture
    ANSWERS,
    CLOSING,
    MENTEE_PHONE,
    MENTOR_PHONE,
    ORG,
    PROMPTS,
    PUBLIC,
    STRANGER_PHONE,
    Stack,
    StackFactory,
    london,
    make_stack,
    new_sid,
    prompt_of,
)


def _answers(stack: Stack, mentee_id: int) -> dict[str, str | None]:
    with stack.svc.sessions() as s:
        rows = s.query(Answer).filter_by(mentee_id=mentee_id).order_by(Answer.id).all()
        return {a.question: a.value for a in rows}


# --- a whole weekly check-in -------------------------------------------------------------------


def test_a_scheduled_weekly_check_in_runs_start_to_finish_over_sms(make_stack: StackFactory,
                                                                   clock: ManualClock) -> None:
    """The service's own loops: the tick starts it, each signed reply gets the next question."""
    stack = make_stack(run_loops=True)
    sam = stack.add_people()
    assert stack.texts_to(MENTEE_PHONE) == []
    clock.set(london(2026, 3, 10, 11, 0))  # the plan's time: the APScheduler tick notices

    for step, key in enumerate(PROMPTS):
        texts = stack.wait_for_texts(MENTEE_PHONE, step + 1)
        assert prompt_of(texts[step]) == key, texts
        clock.advance(minutes=2)
        assert stack.sms(ANSWERS[key]).status_code == 200

    texts = stack.wait_for_texts(MENTEE_PHONE, len(PROMPTS) + 1)
    assert CLOSING in texts[-1]
    assert len(texts) == len(PROMPTS) + 1  # nothing repeated, nothing extra
    stack.wait_for(lambda: stack.conversations(sam)[0].outcome == "completed")
    assert _answers(stack, sam) == {"mood": "4", "sleep": "3", "safe_place": "yes",
                                    "safe_home": "yes", "anything_else": "no"}
    # Every SMS Twilio took asked for a status callback at the public URL and a validity period.
    sent = [m for m in stack.twilio.messages if m["To"] == MENTEE_PHONE]
    assert {m["StatusCallback"] for m in sent} == {PUBLIC + "/twilio/status"}
    assert {m["ValidityPeriod"] for m in sent} == {"3600"}
    assert {m["From"] for m in sent} == {stack.twilio.from_number}
    # And the service recorded each one's Twilio SID (the sender records it just after the send).
    stack.wait_for(lambda: all(m.provider_id for m in stack.messages(direction="out", address=MENTEE_PHONE)))
    out = stack.messages(direction="out", address=MENTEE_PHONE)
    assert [m.provider_id for m in out] == [m["Sid"] for m in sent]


# --- authenticity and malformed requests --------------------------------------------------------


@pytest.mark.parametrize("signature", [None, "", "forged+c2lnbmF0dXJlIG5vdCB2YWxpZA=="])
def test_an_unsigned_or_forged_sms_gets_403_and_nothing_is_stored_or_sent(
        make_stack: StackFactory, signature: str | None) -> None:
    stack = make_stack()
    stack.add_people()
    response = stack.sms("I want to die", signature=signature)
    assert response.status_code == 403
    stack.settle()
    assert stack.messages(direction="in") == []
    assert stack.alerts(1) == []
    assert stack.twilio.messages == []


def test_a_signature_for_the_internal_address_instead_of_the_public_one_gets_403(
        make_stack: StackFactory) -> None:
    stack = make_stack()
    stack.add_people()
    from tests.fakes.twilio_server import inbound_sms_form, post_twilio_webhook

    form = inbound_sms_form(MENTEE_PHONE, "hello", message_sid=new_sid())
    # Signed for http://127.0.0.1:port/..., which is not what Twilio calls behind the proxy.
    response = post_twilio_webhook(stack.server.url + "/twilio/sms", form, stack.twilio.auth_token)
    assert response.status_code == 403
    assert stack.messages(direction="in") == []


def test_a_status_callback_with_a_bad_signature_changes_nothing(make_stack: StackFactory) -> None:
    stack = make_stack()
    stack.add_people()
    assert stack.sms("HELP").status_code == 200
    stack.settle()
    [reply] = stack.messages(direction="out")
    form = stack.twilio.status_callback_form(reply.provider_id or "", "undelivered", 30003)
    assert stack.twilio_post(form, path="/twilio/status", signature="bad").status_code == 403
    assert stack.twilio_post(form, path="/twilio/status", signature=None).status_code == 403
    [after] = stack.messages(direction="out")
    assert (after.status, after.error_code) == ("queued", None)


@pytest.mark.parametrize(("content_type", "body"), [
    ("application/x-www-form-urlencoded", b"Body=%FF%FE&From=%2B447700900123"),  # not UTF-8
    ("application/x-www-form-urlencoded", b"just some words"),  # not a form
    ("application/json", b'{"Body": "hi", "From": "+447700900123"}'),
])
def test_a_malformed_form_gets_400_and_stored_data_is_untouched(
        make_stack: StackFactory, content_type: str, body: bytes) -> None:
    stack = make_stack()
    stack.add_people()
    assert stack.sms("HELP").status_code == 200
    stack.settle()
    before = [(m.id, m.body, m.status) for m in stack.messages()]
    response = httpx.post(stack.server.url + "/twilio/sms", content=body, trust_env=False,
                          headers={"Content-Type": content_type, "X-Twilio-Signature": "x"})
    assert response.status_code == 400
    stack.settle()
    assert [(m.id, m.body, m.status) for m in stack.messages()] == before


def test_a_signed_form_without_a_sender_gets_400_and_nothing_is_stored(make_stack: StackFactory) -> None:
    from tests.fakes.twilio_server import inbound_sms_form

    stack = make_stack()
    stack.add_people()
    form = inbound_sms_form(MENTEE_PHONE, "4", message_sid=new_sid())
    del form["From"]
    assert stack.twilio_post(form, path="/twilio/sms").status_code == 400
    form = inbound_sms_form(MENTEE_PHONE, "4", message_sid="not-a-sid")
    for key in ("MessageSid", "SmsSid", "SmsMessageSid"):
        form[key] = "not-a-sid"
    assert stack.twilio_post(form, path="/twilio/sms").status_code == 400
    assert stack.messages(direction="in") == []


# --- who is writing -----------------------------------------------------------------------------


def test_an_unknown_sender_gets_a_polite_reply_and_their_words_are_not_kept(
        make_stack: StackFactory) -> None:
    stack = make_stack()
    stack.add_people()
    people_before = (stack.count(Mentee), stack.count(Staff))
    assert stack.sms("hi is this Dan? my address is 4 Elm Road", sender=STRANGER_PHONE).status_code == 200
    stack.settle()
    [reply] = stack.texts_to(STRANGER_PHONE)
    assert "isn't linked to anyone" in reply and ORG in reply
    [inbound] = stack.messages(direction="in")
    assert (inbound.body, inbound.status, inbound.mentee_id) == ("", "unknown_sender", None)
    assert not any("Elm Road" in m.body for m in stack.messages())
    assert (stack.count(Mentee), stack.count(Staff)) == people_before
    assert stack.texts_to(MENTOR_PHONE) == []  # nobody is bothered about a wrong number


# --- duplicates ---------------------------------------------------------------------------------


def test_a_retried_webhook_with_the_same_message_sid_is_handled_once(make_stack: StackFactory,
                                                                     clock: ManualClock) -> None:
    stack = make_stack()
    sam = stack.add_people()
    clock.set(london(2026, 3, 10, 11, 0))
    stack.settle()
    sid = new_sid()
    responses = [stack.sms("4", sid=sid).status_code for _ in range(3)]  # Twilio retried twice
    assert responses == [200, 200, 200]
    stack.settle()
    assert len(stack.messages(direction="in")) == 1
    texts = stack.texts_to(MENTEE_PHONE)
    assert [prompt_of(t) for t in texts] == ["mood", "sleep"]  # answered once, asked on once
    assert _answers(stack, sam) == {"mood": "4"}


# --- STOP, START, HELP --------------------------------------------------------------------------


def test_stop_in_the_middle_of_a_check_in_opts_out_cancels_it_and_tells_the_mentor(
        make_stack: StackFactory, clock: ManualClock) -> None:
    stack = make_stack()
    sam = stack.add_people(plan="tue,thu 11:00")
    clock.set(london(2026, 3, 10, 11, 0))
    stack.settle()
    assert stack.sms("4").status_code == 200
    stack.settle()
    sent_before = len(stack.texts_to(MENTEE_PHONE))

    assert stack.sms("Stop").status_code == 200
    stack.settle()

    mentee = stack.mentee(sam)
    assert mentee.status == "opted_out" and mentee.opted_out_at == clock.now()
    [conversation] = stack.conversations(sam)
    assert conversation.outcome == "cancelled"
    [note] = stack.texts_to(MENTOR_PHONE)
    assert "Sam T. replied STOP" in note
    # Twilio confirms STOP itself: we send nothing more, not even the next question.
    assert len(stack.texts_to(MENTEE_PHONE)) == sent_before
    with stack.svc.sessions() as s:
        pending = s.query(DueEvent).filter_by(mentee_id=sam, status="pending").all()
        assert [e.kind for e in pending] == []
    # Thursday's check-in time passes: nothing goes out.
    clock.set(london(2026, 3, 12, 11, 0))
    stack.settle()
    clock.advance(days=7)
    stack.settle()
    assert len(stack.texts_to(MENTEE_PHONE)) == sent_before
    assert len(stack.conversations(sam)) == 1


@pytest.mark.parametrize("word", ["STOP", "stopall", "UNSUBSCRIBE", "Cancel", "END", "quit", "revoke", "OPTOUT"])
def test_every_carrier_stop_word_opts_out(make_stack: StackFactory, word: str) -> None:
    stack = make_stack()
    sam = stack.add_people()
    stack.sms(word)
    stack.settle()
    assert stack.mentee(sam).status == "opted_out"


def test_stop_inside_a_sentence_is_a_message_not_an_opt_out(make_stack: StackFactory) -> None:
    stack = make_stack()
    sam = stack.add_people()
    stack.sms("cant stop laughing at that")
    stack.settle()
    assert stack.mentee(sam).status == "active"
    assert "between check-ins" in stack.texts_to(MENTOR_PHONE)[0]


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
def test_start_resubscribes_and_check_ins_come_back(make_stack: StackFactory, clock: ManualClock,
                                                    word: str) -> None:
    stack = make_stack()
    sam = stack.add_people()
    stack.sms("STOP")
    stack.settle()
    assert stack.mentee(sam).status == "opted_out"
    clock.set(london(2026, 3, 10, 11, 0))  # today's check-in time passes while opted out
    stack.settle()
    assert stack.texts_to(MENTEE_PHONE) == []

    clock.set(london(2026, 3, 11, 9, 0))
    assert stack.sms(word).status_code == 200
    stack.settle()
    assert stack.mentee(sam).status == "active"
    [welcome] = stack.texts_to(MENTEE_PHONE)
    assert "Welcome back" in welcome
    assert "texted START" in stack.texts_to(MENTOR_PHONE)[-1]
    clock.set(london(2026, 3, 17, 11, 0))  # next Tuesday
    stack.settle()
    assert prompt_of(stack.texts_to(MENTEE_PHONE)[-1]) == "mood"


def test_help_says_who_runs_the_service_and_how_to_reach_the_mentor_without_moving_the_check_in(
        make_stack: StackFactory, clock: ManualClock) -> None:
    stack = make_stack()
    sam = stack.add_people()
    clock.set(london(2026, 3, 10, 11, 0))
    stack.settle()
    assert stack.sms("help").status_code == 200
    stack.settle()
    help_text = stack.texts_to(MENTEE_PHONE)[-1]
    assert ORG in help_text and "Dan" in help_text and MENTOR_PHONE in help_text
    assert "STOP" in help_text
    [row] = [m for m in stack.messages(direction="out", address=MENTEE_PHONE) if m.body == help_text]
    assert row.segments == 1
    [conversation] = stack.conversations(sam)
    assert conversation.state == "mood" and conversation.outcome == "open"
    stack.sms("5")  # the check-in carries on where it was
    stack.settle()
    assert prompt_of(stack.texts_to(MENTEE_PHONE)[-1]) == "sleep"


# --- delivery status callbacks -------------------------------------------------------------------


def _one_sent_sms(stack: Stack) -> Message:
    stack.add_people()
    stack.sms("HELP")
    stack.settle()
    [row] = stack.messages(direction="out")
    assert row.provider_id and row.status == "queued"
    return row


def test_delivered_then_a_late_sent_callback_stays_delivered(make_stack: StackFactory) -> None:
    stack = make_stack()
    row = _one_sent_sms(stack)
    sid = row.provider_id or ""
    for status in ("sent", "delivered", "sent", "queued"):
        assert stack.status(sid, status).status_code == 200
    [after] = stack.messages(direction="out")
    assert after.status == "delivered"


def test_an_out_of_order_sent_after_undelivered_keeps_the_failure_and_its_error_code(
        make_stack: StackFactory) -> None:
    stack = make_stack()
    row = _one_sent_sms(stack)
    sid = row.provider_id or ""
    assert stack.status(sid, "undelivered", error_code=30003).status_code == 200
    assert stack.status(sid, "sent").status_code == 200
    [after] = stack.messages(direction="out")
    assert (after.status, after.error_code) == ("undelivered", "30003")


def test_a_status_callback_for_a_message_we_never_sent_is_accepted_and_ignored(
        make_stack: StackFactory) -> None:
    stack = make_stack()
    _one_sent_sms(stack)
    form = {"MessageSid": new_sid(), "MessageStatus": "delivered", "AccountSid": stack.twilio.account_sid}
    assert stack.twilio_post(form, path="/twilio/status").status_code == 200
    assert [m.status for m in stack.messages(direction="out")] == ["queued"]


def test_an_undelivered_callback_with_21610_marks_the_mentee_unreachable_by_sms(
        make_stack: StackFactory) -> None:
    stack = make_stack()
    row = _one_sent_sms(stack)
    assert stack.status(row.provider_id or "", "undelivered", error_code=21610).status_code == 200
    stack.settle()
    mentee = stack.mentee(1)
    assert mentee.sms_reachable is False
    assert [a.category for a in stack.alerts(1)] == ["no_contact"]


# --- what a basic phone receives ------------------------------------------------------------------


def test_curly_quotes_dashes_and_emoji_reach_twilio_as_gsm7_with_segments_stored(
        make_stack: StackFactory) -> None:
    org = "St Mary\u2019s \u2013 \u201cNorthside\u201d Mentoring \U0001f642\u2026"
    stack = make_stack(org=org)
    stack.add_people()
    stack.sms("HELP")
    stack.settle()
    [sent] = stack.twilio.messages
    body = sent["Body"]
    assert is_gsm7(body)
    assert "St Mary's - \"Northside\" Mentoring :)..." in body
    [row] = stack.messages(direction="out")
    assert row.body == body  # what we stored is what went
    # Twilio's own count (the fake counts independently of bot.gsm7) matches ours: one segment,
    # where the raw text would have gone as UCS-2 in two or more.
    assert row.segments == int(stack.twilio.message(sent["Sid"])["num_segments"]) == 1


def test_a_long_text_is_split_between_words_into_single_segment_texts_sent_in_order(
        make_stack: StackFactory) -> None:
    org = "The Northside and Riverside Community Peer Mentoring and Resettlement Partnership Trust"
    stack = make_stack(org=org)
    stack.add_people()
    stack.sms("HELP")
    stack.settle()
    stack.clock.advance(seconds=5)  # later parts wait a moment so they arrive in order
    stack.settle()
    bodies = [m["Body"] for m in stack.twilio.messages]
    assert len(bodies) == 2
    assert all(len(b) <= 160 for b in bodies)
    assert bodies[0].startswith("This is The Northside")
    assert not bodies[0].endswith(" ") and not bodies[1].startswith(" ")  # split between words
    rows = stack.messages(direction="out")
    assert [r.body for r in rows] == bodies
    for row, sent in zip(rows, stack.twilio.messages, strict=True):
        assert row.segments == int(stack.twilio.message(sent["Sid"])["num_segments"]) == 1
