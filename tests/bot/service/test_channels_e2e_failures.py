"""Provider failures end to end: opted out (Twilio 21610), blocked (Telegram 403), rate limits,
server errors and timeouts, with recovery and channel fallback. Driven pass by pass on a
ManualClock so retry times are exact; every send goes through the real clients to the fakes."""

from __future__ import annotations

from typing import Any

from bot.clock import ManualClock
from tests.bot.service.channels_stack import (  # noqa: F401 - make_stack is a fixture
    MENTEE_CHAT,
    MENTEE_PHONE,
    MENTOR_PHONE,
    Stack,
    StackFactory,
    london,
    make_stack,
    prompt_of,
)
from tests.fakes.telegram_server import TelegramFault, start_update, text_update
from tests.fakes.twilio_server import TwilioFault

CHECKIN_TIME = london(2026, 3, 10, 11, 0)


def _creates(stack: Stack) -> list[int]:
    """HTTP status of every Messages.json create Twilio was sent, in order."""
    return [r.response_status for r in list(stack.twilio.requests) if r.path.endswith("/Messages.json")]


def _telegram_sends(stack: Stack) -> list[int]:
    return [r.response_status for r in list(stack.telegram.requests) if r.path.endswith("/sendMessage")]


def _link(stack: Stack, mentee_id: int, clock: ManualClock) -> None:
    stack.telegram_post(start_update(900_001, MENTEE_CHAT, stack.link_code(mentee_id)))
    stack.settle()
    clock.advance(minutes=1)


def _opening(stack: Stack) -> Any:
    [row] = [m for m in stack.messages(direction="out") if prompt_of(m.body) == "mood"
             and m.channel in ("sms", "telegram")][-1:]
    return row


# --- the person cannot be reached on one channel -----------------------------------------------


def test_twilio_21610_marks_sms_unreachable_tells_the_mentor_and_falls_back_to_telegram(
        make_stack: StackFactory, clock: ManualClock) -> None:
    stack = make_stack()
    sam = stack.add_people(preferred="sms", mentor_channels="sms")
    _link(stack, sam, clock)
    stack.twilio.fail_recipient(MENTEE_PHONE, TwilioFault.unsubscribed())  # Sam texted STOP to Twilio
    clock.set(CHECKIN_TIME)
    stack.settle()

    [failed] = [m for m in stack.messages(direction="out", channel="sms") if m.address == MENTEE_PHONE]
    assert (failed.status, failed.error_code) == ("failed", "21610")
    mentee = stack.mentee(sam)
    assert mentee.sms_reachable is False and mentee.unreachable_since == CHECKIN_TIME
    assert [(a.category, a.severity) for a in stack.alerts(sam)] == [("no_contact", "concern")]
    assert any("Sam T.: no contact" in t for t in stack.texts_to(MENTOR_PHONE))
    # The same question went to Telegram instead, buttons and all.
    [question] = stack.telegrams_to(MENTEE_CHAT)[1:]
    assert prompt_of(question["text"]) == "mood" and question["reply_markup"]["inline_keyboard"]
    # And the check-in carries on there; no more SMS is tried.
    clock.advance(minutes=2)
    stack.telegram_post(text_update(900_002, MENTEE_CHAT, "4"))
    stack.settle()
    assert prompt_of(stack.telegrams_to(MENTEE_CHAT)[-1]["text"]) == "sleep"
    assert _creates(stack).count(400) == 1


def test_twilio_21610_without_another_channel_still_raises_a_no_contact_concern(
        make_stack: StackFactory, clock: ManualClock) -> None:
    stack = make_stack()
    sam = stack.add_people()
    stack.twilio.fail_recipient(MENTEE_PHONE, TwilioFault.unsubscribed())
    clock.set(CHECKIN_TIME)
    stack.settle()
    assert stack.mentee(sam).sms_reachable is False
    assert [a.category for a in stack.alerts(sam)] == ["no_contact"]
    assert stack.telegram.sent == []
    assert _creates(stack).count(400) == 1  # a refused number is not retried


def test_a_telegram_403_blocked_bot_falls_back_to_sms(make_stack: StackFactory,
                                                      clock: ManualClock) -> None:
    stack = make_stack()
    sam = stack.add_people(preferred="telegram")
    _link(stack, sam, clock)
    stack.telegram.fail_chat(MENTEE_CHAT, TelegramFault.blocked())
    clock.set(CHECKIN_TIME)
    stack.settle()

    failed = [m for m in stack.messages(direction="out", channel="telegram") if m.status == "failed"]
    assert [(m.error_code, prompt_of(m.body)) for m in failed] == [("403", "mood")]
    mentee = stack.mentee(sam)
    assert mentee.telegram_reachable is False
    assert [(a.category, a.severity) for a in stack.alerts(sam)] == [("no_contact", "concern")]
    [question] = stack.texts_to(MENTEE_PHONE)
    assert prompt_of(question) == "mood"
    # Sam answers by text; the check-in carries on by SMS.
    clock.advance(minutes=2)
    stack.sms("4")
    stack.settle()
    assert prompt_of(stack.texts_to(MENTEE_PHONE)[-1]) == "sleep"
    assert _telegram_sends(stack).count(403) == 1


def test_a_deactivated_telegram_user_is_unreachable_too(make_stack: StackFactory,
                                                        clock: ManualClock) -> None:
    stack = make_stack()
    sam = stack.add_people(preferred="telegram")
    _link(stack, sam, clock)
    stack.telegram.fail_chat(MENTEE_CHAT, TelegramFault.deactivated())
    clock.set(CHECKIN_TIME)
    stack.settle()
    assert stack.mentee(sam).telegram_reachable is False
    assert prompt_of(stack.texts_to(MENTEE_PHONE)[0]) == "mood"


def test_a_message_from_the_mentee_on_a_channel_marks_it_reachable_again(
        make_stack: StackFactory, clock: ManualClock) -> None:
    stack = make_stack()
    sam = stack.add_people(preferred="telegram")
    _link(stack, sam, clock)
    stack.telegram.fail_chat(MENTEE_CHAT, TelegramFault.blocked())
    clock.set(CHECKIN_TIME)
    stack.settle()
    assert stack.mentee(sam).telegram_reachable is False
    stack.telegram.fail_chat(MENTEE_CHAT, None)  # Sam unblocked the bot and writes
    clock.advance(minutes=5)
    stack.telegram_post(text_update(900_003, MENTEE_CHAT, "4"))
    stack.settle()
    assert stack.mentee(sam).telegram_reachable is True
    assert prompt_of(stack.telegrams_to(MENTEE_CHAT)[-1]["text"]) == "sleep"


# --- transient failures, then recovery ----------------------------------------------------------


def test_twilio_429_waits_for_retry_after_then_sends_once_without_using_up_attempts(
        make_stack: StackFactory, clock: ManualClock) -> None:
    stack = make_stack()
    stack.add_people()
    stack.twilio.fail_next(TwilioFault.rate_limited(retry_after=30))
    clock.set(CHECKIN_TIME)
    stack.settle()
    row = _opening(stack)
    assert row.status == "pending" and row.next_attempt_at == CHECKIN_TIME.replace(second=30)
    assert stack.texts_to(MENTEE_PHONE) == []
    clock.advance(seconds=29)
    stack.settle()
    assert _creates(stack) == [429]  # not before Twilio said
    clock.advance(seconds=1)
    stack.settle()
    assert _creates(stack) == [429, 201]
    [text] = stack.texts_to(MENTEE_PHONE)
    assert prompt_of(text) == "mood"
    row = _opening(stack)
    assert (row.status, row.attempts) == ("queued", 1)  # being told "not yet" is not a failure
    assert row.provider_id == stack.twilio.messages[0]["Sid"]


def test_twilio_5xx_is_retried_with_backoff_and_the_attempts_are_recorded(
        make_stack: StackFactory, clock: ManualClock) -> None:
    stack = make_stack()
    stack.add_people()
    stack.twilio.fail_next(TwilioFault.server_error(503), TwilioFault.server_error(500))
    clock.set(CHECKIN_TIME)
    stack.settle()
    row = _opening(stack)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "internal server error" in (row.error_detail or "").lower()
    first_retry = row.next_attempt_at
    assert first_retry is not None and first_retry > CHECKIN_TIME
    stack.settle()
    assert _creates(stack) == [503]  # backing off, not hammering
    clock.set(first_retry)
    stack.settle()
    row = _opening(stack)
    assert (row.status, row.attempts) == ("pending", 2)
    assert row.next_attempt_at is not None and row.next_attempt_at - first_retry > first_retry - CHECKIN_TIME
    clock.set(row.next_attempt_at)
    stack.settle()
    assert _creates(stack) == [503, 500, 201]
    row = _opening(stack)
    assert (row.status, row.attempts, row.error_detail) == ("queued", 3, None)
    assert len(stack.texts_to(MENTEE_PHONE)) == 1  # sent once


def test_a_twilio_timeout_is_retried(make_stack: StackFactory, clock: ManualClock) -> None:
    stack = make_stack(provider_timeout=0.5)
    stack.add_people()
    stack.twilio.fail_next(TwilioFault.slow(60))
    clock.set(CHECKIN_TIME)
    stack.settle()
    row = _opening(stack)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "did not answer in time" in (row.error_detail or "")
    assert stack.texts_to(MENTEE_PHONE) == []  # the slow request has not been taken (yet)
    assert row.next_attempt_at is not None
    clock.set(row.next_attempt_at)
    stack.settle()
    row = _opening(stack)
    assert (row.status, row.attempts) == ("queued", 2)
    [taken] = stack.twilio.messages
    assert row.provider_id == taken["Sid"] and prompt_of(taken["Body"]) == "mood"


def test_telegram_flood_control_waits_for_retry_after(make_stack: StackFactory,
                                                      clock: ManualClock) -> None:
    stack = make_stack()
    sam = stack.add_people(preferred="telegram")
    _link(stack, sam, clock)
    stack.telegram.fail_next(TelegramFault.flood(retry_after=7))
    clock.set(CHECKIN_TIME)
    stack.settle()
    row = _opening(stack)
    assert (row.status, row.channel) == ("pending", "telegram")
    assert row.next_attempt_at == CHECKIN_TIME.replace(second=7)
    clock.advance(seconds=7)
    stack.settle()
    row = _opening(stack)
    assert (row.status, row.attempts) == ("sent", 1)
    assert [prompt_of(m["text"]) for m in stack.telegrams_to(MENTEE_CHAT)[1:]] == ["mood"]
    assert stack.texts_to(MENTEE_PHONE) == []  # a rate limit is no reason to switch channel


def test_telegram_server_errors_and_timeouts_are_retried_until_sent_once(
        make_stack: StackFactory, clock: ManualClock) -> None:
    stack = make_stack(provider_timeout=0.5)
    sam = stack.add_people(preferred="telegram")
    _link(stack, sam, clock)
    stack.telegram.fail_next(TelegramFault.server_error(502))
    stack.telegram.fail_next(TelegramFault.slow(60))
    clock.set(CHECKIN_TIME)
    for attempt in (1, 2):
        stack.settle()
        row = _opening(stack)
        assert (row.status, row.attempts) == ("pending", attempt)
        assert row.next_attempt_at is not None
        clock.set(row.next_attempt_at)
    stack.settle()
    row = _opening(stack)
    assert (row.status, row.attempts, row.channel) == ("sent", 3, "telegram")
    questions = [m for m in stack.telegrams_to(MENTEE_CHAT) if prompt_of(m["text"]) == "mood"]
    assert len(questions) == 1
    assert row.provider_id == f"{MENTEE_CHAT}:{questions[0]['message_id']}"
    assert stack.texts_to(MENTEE_PHONE) == []


def test_our_own_sms_throughput_limit_holds_messages_back_and_sends_them_all(
        make_stack: StackFactory, clock: ManualClock) -> None:
    """messages_per_second = 1: a burst of replies to strangers goes out one a second."""
    stack = make_stack(messages_per_second=1)
    stack.add_people()
    for n in range(3):
        stack.sms("hello?", sender=f"+4477009009{n:02d}")
    stack.settle()
    assert len(stack.twilio.messages) == 1
    clock.advance(seconds=1)
    stack.settle()
    assert len(stack.twilio.messages) == 2
    clock.advance(seconds=1)
    stack.settle()
    assert sorted(m["To"] for m in stack.twilio.messages) == [f"+4477009009{n:02d}" for n in range(3)]
    assert all(m.attempts == 1 for m in stack.messages(direction="out"))


def test_a_provider_that_keeps_failing_ends_in_failed_after_the_last_attempt_and_falls_back(
        make_stack: StackFactory, clock: ManualClock) -> None:
    from bot.service.outbox import MAX_ATTEMPTS

    stack = make_stack()
    sam = stack.add_people(preferred="sms")
    _link(stack, sam, clock)
    stack.twilio.fail_recipient(MENTEE_PHONE, TwilioFault.server_error(503))  # down for hours
    clock.set(CHECKIN_TIME)
    stack.settle()
    for _ in range(MAX_ATTEMPTS - 1):
        row = [m for m in stack.messages(direction="out", channel="sms") if m.address == MENTEE_PHONE][0]
        assert row.status == "pending" and row.next_attempt_at is not None
        clock.set(row.next_attempt_at)
        stack.settle()
    [row] = [m for m in stack.messages(direction="out", channel="sms") if m.address == MENTEE_PHONE]
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert _creates(stack) == [503] * MAX_ATTEMPTS
    assert stack.mentee(sam).sms_reachable is True  # an outage says nothing about the person
    # The question was not lost: it went to Sam's other channel.
    assert [prompt_of(m["text"]) for m in stack.telegrams_to(MENTEE_CHAT)[1:]] == ["mood"]


def test_a_staff_message_refused_by_sms_goes_to_their_telegram(make_stack: StackFactory,
                                                               clock: ManualClock) -> None:
    from bot.service import admin
    from bot.storage.models import Staff

    stack = make_stack()
    stack.add_people(mentor_channels="sms,telegram")
    with stack.svc.sessions() as s, s.begin():
        mentor = s.query(Staff).filter_by(name="Dan Carter").one()
        code = admin.new_staff_link_code(mentor)
    mentor_chat = 5550011
    stack.telegram_post(start_update(900_010, mentor_chat, code))
    stack.settle()
    assert "alerts for your mentees will come here" in stack.telegrams_to(mentor_chat)[0]["text"]
    stack.twilio.fail_recipient(MENTOR_PHONE, TwilioFault.not_mobile())
    clock.advance(minutes=1)
    stack.sms("STOP")
    stack.settle()
    [refused] = [m for m in stack.messages(direction="out", channel="sms") if m.address == MENTOR_PHONE]
    assert (refused.status, refused.error_code) == ("failed", "21614")
    assert "Sam T. replied STOP" in stack.telegrams_to(mentor_chat)[-1]["text"]


def test_a_staff_reply_no_channel_can_deliver_is_reported_to_its_writer(make_stack: StackFactory,
                                                                        clock: ManualClock) -> None:
    """Sam has only SMS and Twilio refuses the number for good: Dan is told, not just the log."""
    from bot.app import messages
    from bot.app.actor import Actor
    from bot.storage.models import Staff

    stack = make_stack()
    sam = stack.add_people(preferred="sms")
    with stack.svc.sessions() as s:
        dan = s.query(Staff).filter_by(name="Dan Carter").one()
        dan_actor = Actor.staff(dan.id, dan.name)
    clock.set(london(2026, 3, 10, 12, 0))
    stack.twilio.fail_recipient(MENTEE_PHONE, TwilioFault.error(30006, "Landline or unreachable carrier"))
    messages.reply_to_mentee(stack.svc, dan_actor, sam, "Are you free for a call at 3?")
    stack.settle()
    [reply] = [m for m in stack.messages(direction="out") if m.purpose == "staff_reply"]
    assert reply.status == "failed"
    assert stack.texts_to(MENTOR_PHONE)[-1] == (
        "Your message to Sam T. could not be delivered on any channel. "
        "Please try to reach them another way.")


def test_a_check_in_question_no_channel_can_deliver_tells_no_one_at_once(make_stack: StackFactory,
                                                                         clock: ManualClock) -> None:
    """A question that cannot arrive is left to the missed check-in (one no-contact rule), not a text per question."""
    stack = make_stack()
    stack.add_people(preferred="sms")
    stack.twilio.fail_recipient(MENTEE_PHONE, TwilioFault.error(30006, "Landline or unreachable carrier"))
    clock.set(CHECKIN_TIME)
    stack.settle()
    assert [m.status for m in stack.messages(direction="out") if m.address == MENTEE_PHONE] == ["failed"]
    assert stack.texts_to(MENTOR_PHONE) == []
