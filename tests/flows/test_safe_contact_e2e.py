"""Safe contact end to end over SMS and Telegram: the real service on 127.0.0.1, the real twilio
and python-telegram-bot clients against the fakes, real signed webhooks, a ManualClock."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.app import mentees, safety
from bot.app.actor import Actor
from bot.clock import ManualClock
from bot.service.safe_contact import CODE_WORD_EVIDENCE
from bot.wording.discreet import giveaways
from tests.bot.service.channels_stack import (  # noqa: F401 - make_stack is a fixture
    MENTEE_CHAT,
    MENTOR_PHONE,
    ORG,
    Stack,
    StackFactory,
    london,
    make_stack,
)
from tests.fakes.telegram_server import start_update, text_update

OPERATOR = Actor.operator("tester")
SAFE_CHECK = "is it safe for us to text you at this number"
_ids = itertools.count(800_000)


class Phone:
    """Sam's phone on one channel: what Sam sends and what reaches Sam."""

    def __init__(self, stack: Stack, channel: str) -> None:
        self.stack, self.channel = stack, channel
        self.sam = stack.add_people(preferred=channel, plan="")
        if channel == "telegram":
            stack.telegram_post(start_update(next(_ids), MENTEE_CHAT, stack.link_code(self.sam)))
            stack.settle()
        self.seen = len(self.received())

    def say(self, text: str) -> None:
        if self.channel == "sms":
            assert self.stack.sms(text).status_code == 200
        else:
            assert self.stack.telegram_post(text_update(next(_ids), MENTEE_CHAT, text)).status_code == 200
        self.stack.settle()
        self.stack.clock.advance(seconds=5)  # the sender paces texts to one person
        self.stack.settle()

    def received(self) -> list[str]:
        if self.channel == "sms":
            from tests.bot.service.channels_stack import MENTEE_PHONE

            return self.stack.texts_to(MENTEE_PHONE)
        return [m["text"] for m in self.stack.telegrams_to(MENTEE_CHAT)]

    def new(self) -> list[str]:
        """Texts that reached Sam since the last look."""
        got = self.received()
        fresh, self.seen = got[self.seen:], len(got)
        return fresh


CHANNELS = ["sms", "telegram"]
PhoneFactory = Callable[[], Phone]


@pytest.fixture(params=CHANNELS)
def phone(request: pytest.FixtureRequest, make_stack: StackFactory) -> Phone:
    return Phone(make_stack(), request.param)


def check_in_now(phone: Phone) -> None:
    mentees.start_checkin(phone.stack.svc, OPERATOR, phone.sam)
    phone.stack.settle()
    phone.stack.clock.advance(seconds=5)
    phone.stack.settle()


def test_the_code_word_sends_nothing_back_stops_messages_and_alerts_the_mentor(
        phone: Phone, clock: ManualClock) -> None:
    stack = phone.stack
    safety.change(stack.svc, OPERATOR, phone.sam, safety.SafetyChanges(code_word="Blue Moon"))
    check_in_now(phone)
    assert "it's your check-in" in phone.new()[-1]
    mentor_before = len(stack.texts_to(MENTOR_PHONE))
    phone.say("blue moon!")
    assert phone.new() == []  # nothing that could give it away
    [alert] = stack.alerts(phone.sam)
    assert (alert.category, alert.severity, alert.evidence) == ("domestic_abuse", "urgent", CODE_WORD_EVIDENCE)
    assert len(stack.texts_to(MENTOR_PHONE)) > mentor_before  # the mentor is alerted at once
    assert stack.conversations(phone.sam)[-1].outcome == "cancelled"
    assert not any(m.body for m in stack.messages(direction="in") if m.status == "code_word")
    # Messages stop for the hold: a check-in started now waits, then first asks if texting is safe.
    clock.advance(hours=1)
    check_in_now(phone)
    assert phone.new() == []
    clock.advance(hours=10)  # still inside the 12-hour hold
    stack.settle()
    assert phone.new() == []
    clock.advance(hours=12)  # the hold ended overnight; quiet hours end at 08:00
    stack.settle()
    [question] = phone.new()
    assert SAFE_CHECK in question


def test_after_a_domestic_abuse_flag_the_next_contact_asks_if_texting_is_safe_and_honours_no(
        phone: Phone, clock: ManualClock) -> None:
    stack = phone.stack
    check_in_now(phone)
    for answer in ("4", "4", "yes", "no", "no"):  # "no" to feeling safe at home: a DA concern
        phone.say(answer)
    assert stack.alerts(phone.sam)[0].category == "domestic_abuse"
    phone.new()
    clock.advance(days=2)
    check_in_now(phone)
    got = phone.new()
    assert len(got) == 1, got
    assert SAFE_CHECK in got[0]
    mentor_before = len(stack.texts_to(MENTOR_PHONE))
    phone.say("no")
    assert phone.new() == ["Thanks Sam."]
    assert any("not safe to text them at this number" in t for t in stack.texts_to(MENTOR_PHONE)[mentor_before:])
    clock.advance(days=2)
    check_in_now(phone)  # nothing goes to this number now, by anyone
    clock.advance(days=1)
    stack.settle()
    assert phone.new() == []


def test_a_yes_to_the_safe_check_goes_straight_on_with_the_check_in(phone: Phone) -> None:
    safety.change(phone.stack.svc, OPERATOR, phone.sam, safety.SafetyChanges(safe_to_text="ask"))
    check_in_now(phone)
    assert SAFE_CHECK in phone.new()[-1]
    phone.say("yes")
    thanks, first = phone.new()
    assert thanks == "Thanks Sam." and "it's your check-in" in first


def test_messages_wait_for_a_safe_to_text_window(phone: Phone, clock: ManualClock) -> None:
    safety.change(phone.stack.svc, OPERATOR, phone.sam,
                  safety.SafetyChanges(windows="mon-fri 10:00-14:00"))
    clock.set(london(2026, 3, 13, 15, 0))  # Friday 15:00: outside the window, not quiet hours
    check_in_now(phone)
    assert phone.new() == []
    clock.set(london(2026, 3, 16, 9, 59))  # Monday, a minute before
    phone.stack.settle()
    assert phone.new() == []
    clock.set(london(2026, 3, 16, 10, 0, ))
    phone.stack.settle()
    assert "it's your check-in" in phone.new()[-1]


def test_discreet_mode_gives_nothing_away_in_any_text(phone: Phone) -> None:
    safety.change(phone.stack.svc, OPERATOR, phone.sam, safety.SafetyChanges(discreet=True))
    check_in_now(phone)
    for answer in ("1", "yes", "3", "no", "yes", "Leeds", "yes", "all ok"):
        phone.say(answer)
    phone.say("HELP")
    phone.say("just saying hello")
    sent = phone.new()
    assert len(sent) >= 10
    for text in sent:
        assert giveaways(text, ORG) == [], text
    assert phone.stack.alerts(phone.sam)[0].category == "housing"  # staff alerts unchanged
