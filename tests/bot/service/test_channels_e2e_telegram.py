"""Telegram end to end: linking with /start <code>, check-ins with inline buttons and typed answers,
in webhook mode (secret token) and in polling mode (getUpdates), through the real
python-telegram-bot client against FakeTelegram on 127.0.0.1."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.storage.models import Answer, Mentee, ServiceState
from tests.bot.service.channels_stack import (  # noqa: F401 - make_stack is a fixture
    ANSWERS,
    CLOSING,
    MENTEE_CHAT,
    MENTEE_PHONE,
    MENTOR_PHONE,
    ORG,
    PROMPTS,
    PUBLIC,
    SECRET,
    STRANGER_CHAT,
    Stack,
    StackFactory,
    london,
    make_stack,
    prompt_of,
)
from tests.fakes.telegram_server import callback_update, start_update, text_update


class Updates:
    """Numbered updates from Telegram, as the Bot API would number them."""

    def __init__(self, first: int = 700_000) -> None:
        self.next_id = first

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def text(self, chat: int, text: str) -> dict[str, Any]:
        return text_update(self._id(), chat, text)

    def start(self, chat: int, code: str) -> dict[str, Any]:
        return start_update(self._id(), chat, code)

    def press(self, chat: int, data: str, message_id: int) -> dict[str, Any]:
        return callback_update(self._id(), chat, data, message_id=message_id)


def _linked(stack: Stack, updates: Updates, clock: ManualClock) -> int:
    """Sam prefers Telegram and has linked chat MENTEE_CHAT (pass-by-pass stacks)."""
    sam = stack.add_people(preferred="telegram")
    assert stack.telegram_post(updates.start(MENTEE_CHAT, stack.link_code(sam))).status_code == 200
    stack.settle()
    clock.advance(minutes=1)
    return sam


def _buttons(sent: dict[str, Any]) -> list[tuple[str, str]]:
    markup = sent.get("reply_markup") or {}
    return [(b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row]


def _answers(stack: Stack, mentee_id: int) -> dict[str, tuple[str, str | None]]:
    with stack.svc.sessions() as s:
        rows = s.query(Answer).filter_by(mentee_id=mentee_id).order_by(Answer.id).all()
        return {a.question: (a.raw_text, a.value) for a in rows}


# --- linking -----------------------------------------------------------------------------------


def test_the_link_printed_by_checkins_mentee_link_connects_the_chat(
        make_stack: StackFactory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Any) -> None:
    from bot.cli import main

    stack = make_stack()
    sam = stack.add_people(preferred="telegram")
    monkeypatch.setenv("CHECKINS_TWILIO_AUTH_TOKEN", stack.twilio.auth_token)
    monkeypatch.setenv("CHECKINS_TELEGRAM_TOKEN", stack.telegram.token)
    monkeypatch.setenv("CHECKINS_TELEGRAM_SECRET_TOKEN", SECRET)
    assert main(["--config", str(tmp_path / "config.toml"), "mentee", "link", "Sam Taylor"]) == 0
    printed = capsys.readouterr().out
    link = re.search(r"https://t\.me/checkins_fake_bot\?start=([A-Za-z0-9_-]+)", printed)
    assert link, printed
    code = link.group(1)
    assert "Sam" not in code and "Taylor" not in code  # the code says nothing about the person

    updates = Updates()
    assert stack.telegram_post(updates.start(MENTEE_CHAT, code)).status_code == 200
    stack.settle()
    [welcome] = stack.telegrams_to(MENTEE_CHAT)
    assert welcome["text"].startswith("Hi Sam, you're connected")
    mentee = stack.mentee(sam)
    assert (mentee.telegram_chat_id, mentee.telegram_link_code) == (str(MENTEE_CHAT), None)

    # The code was single-use: someone else trying it links nothing and is not remembered.
    assert stack.telegram_post(updates.start(STRANGER_CHAT, code)).status_code == 200
    stack.settle()
    [refusal] = stack.telegrams_to(STRANGER_CHAT)
    assert "expired or is not right" in refusal["text"]
    assert stack.mentee(sam).telegram_chat_id == str(MENTEE_CHAT)
    [row] = stack.messages(direction="in", address=str(STRANGER_CHAT))
    assert (row.body, row.status, row.mentee_id) == ("", "unknown_sender", None)


def test_an_expired_link_code_is_refused(make_stack: StackFactory, clock: ManualClock) -> None:
    stack = make_stack()
    sam = stack.add_people(preferred="telegram")
    code = stack.link_code(sam)
    clock.advance(days=8)
    stack.telegram_post(Updates().start(MENTEE_CHAT, code))
    stack.settle()
    assert "expired" in stack.telegrams_to(MENTEE_CHAT)[0]["text"]
    assert stack.mentee(sam).telegram_chat_id is None


# --- whole check-ins ----------------------------------------------------------------------------


def _run_check_in(stack: Stack, clock: ManualClock, deliver: Any) -> int:
    """Link Sam, start Tuesday's check-in and answer it: buttons for mood and a safe place,
    typed answers for the rest. `deliver` hands an update to the service as Telegram would."""
    sam = stack.add_people(preferred="telegram")
    updates = Updates()
    deliver(updates.start(MENTEE_CHAT, stack.link_code(sam)))
    stack.wait_for(lambda: stack.telegrams_to(MENTEE_CHAT))
    clock.set(london(2026, 3, 10, 11, 0))
    pressed = {"mood": "mood=4", "safe_place": "safe_place=yes"}
    for step, key in enumerate(PROMPTS, start=1):
        sent = stack.wait_for_telegrams(MENTEE_CHAT, step + 1)[step]
        assert prompt_of(sent["text"]) == key, sent["text"]
        # Each button carries its question, so a press on an old message is never taken as an
        # answer to a later question.
        if key in ("mood", "sleep"):
            assert _buttons(sent) == [(str(n), f"{key}={n}") for n in range(1, 6)]
        elif key in ("safe_place", "safe_home"):
            assert _buttons(sent) == [("Yes", f"{key}=yes"), ("No", f"{key}=no")]
        else:
            assert _buttons(sent) == []  # free text: nothing to press
        clock.advance(minutes=2)  # people take a moment; also keeps within 1 message/s a chat
        if key in pressed:
            deliver(updates.press(MENTEE_CHAT, pressed[key], message_id=sent["message_id"]))
        else:
            deliver(updates.text(MENTEE_CHAT, {"safe_home": "Yes"}.get(key, ANSWERS[key])))
    closing = stack.wait_for_telegrams(MENTEE_CHAT, len(PROMPTS) + 2)[-1]
    assert CLOSING in closing["text"]
    stack.wait_for(lambda: stack.conversations(sam) and stack.conversations(sam)[0].outcome == "completed")
    assert _answers(stack, sam) == {
        "mood": ("4", "4"), "sleep": ("3", "3"), "safe_place": ("yes", "yes"),
        "safe_home": ("Yes", "yes"), "anything_else": ("no", "no"),
    }
    # Each button press was answered (the spinner stops) once it was stored.
    stack.wait_for(lambda: len(stack.telegram.answered_queries) == len(pressed))
    assert stack.texts_to(MENTEE_PHONE) == []  # all of it on Telegram, none by SMS
    return sam


def test_a_weekly_check_in_over_telegram_in_webhook_mode(make_stack: StackFactory,
                                                         clock: ManualClock) -> None:
    stack = make_stack(run_loops=True, mode="webhook")
    # At start-up the service registered its public webhook URL and secret with Telegram.
    stack.wait_for(lambda: stack.telegram.webhook)
    hook = stack.telegram.webhook
    assert hook is not None
    assert hook["url"] == PUBLIC + "/telegram/webhook"
    assert hook["secret_token"] == SECRET
    assert set(hook["allowed_updates"]) == {"message", "callback_query"}

    def deliver(update: dict[str, Any]) -> None:
        response = stack.telegram_post(update, secret=hook["secret_token"])
        assert response.status_code == 200

    _run_check_in(stack, clock, deliver)


def test_a_weekly_check_in_over_telegram_in_polling_mode(make_stack: StackFactory,
                                                         clock: ManualClock) -> None:
    stack = make_stack(run_loops=True, mode="polling")
    sam = _run_check_in(stack, clock, stack.telegram.push_update)
    assert stack.telegram.webhook is None
    # Every update was confirmed (the next getUpdates offset is stored, so a restart resumes).
    stack.wait_for(lambda: stack.telegram.pending_updates == 0)
    with stack.svc.sessions() as s:
        offset = s.get(ServiceState, "telegram_offset")
        assert offset is not None and int(offset.value) > 700_000
    inbound = stack.messages(direction="in", channel="telegram")
    assert len(inbound) == 1 + len(PROMPTS)  # /start and one per answer: nothing twice
    assert {m.mentee_id for m in inbound} == {sam}
    # In polling mode the webhook route is closed.
    assert stack.telegram_post(text_update(1, MENTEE_CHAT, "hi")).status_code == 404


# --- authenticity, malformed updates, strangers, duplicates ------------------------------------


@pytest.mark.parametrize("secret", [None, "", "tg_e2e-Secret_0123456788", SECRET + "x"])
def test_a_missing_or_wrong_secret_token_gets_403_and_nothing_is_stored(
        make_stack: StackFactory, clock: ManualClock, secret: str | None) -> None:
    stack = make_stack()
    updates = Updates()
    _linked(stack, updates, clock)
    before = [(m.id, m.body) for m in stack.messages()]
    assert stack.telegram_post(updates.text(MENTEE_CHAT, "I want to end it all"), secret=secret).status_code == 403
    stack.settle()
    assert [(m.id, m.body) for m in stack.messages()] == before
    assert stack.alerts(1) == []


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe\x00", b"[1, 2]", b'{"update_id": "7"}'])
def test_malformed_json_gets_400_and_stored_data_is_untouched(make_stack: StackFactory,
                                                              clock: ManualClock, body: bytes) -> None:
    stack = make_stack()
    sam = _linked(stack, Updates(), clock)
    before = [(m.id, m.body, m.status) for m in stack.messages()]
    assert stack.telegram_post(body).status_code == 400
    stack.settle()
    assert [(m.id, m.body, m.status) for m in stack.messages()] == before
    assert stack.mentee(sam).telegram_chat_id == str(MENTEE_CHAT)


def test_an_unregistered_chat_is_told_politely_and_nothing_about_it_is_kept(
        make_stack: StackFactory) -> None:
    stack = make_stack()
    stack.add_people()
    assert stack.telegram_post(Updates().text(STRANGER_CHAT, "hello, I'm Jo from flat 3")).status_code == 200
    stack.settle()
    [reply] = stack.telegrams_to(STRANGER_CHAT)
    assert "isn't linked to anyone" in reply["text"] and ORG in reply["text"]
    [row] = stack.messages(direction="in")
    assert (row.body, row.status, row.mentee_id) == ("", "unknown_sender", None)
    assert not any("flat 3" in m.body for m in stack.messages())
    with stack.svc.sessions() as s:
        assert [m for m in s.query(Mentee) if m.telegram_chat_id == str(STRANGER_CHAT)] == []


def test_the_same_update_delivered_twice_is_handled_once(make_stack: StackFactory,
                                                         clock: ManualClock) -> None:
    stack = make_stack()
    updates = Updates()
    sam = _linked(stack, updates, clock)
    clock.set(london(2026, 3, 10, 11, 0))
    stack.settle()
    [_, question] = stack.telegrams_to(MENTEE_CHAT)
    press = updates.press(MENTEE_CHAT, "2", message_id=question["message_id"])
    assert [stack.telegram_post(press).status_code for _ in range(3)] == [200, 200, 200]
    stack.settle()
    assert len(stack.messages(direction="in", channel="telegram")) == 2  # /start and one press
    assert [prompt_of(m["text"]) for m in stack.telegrams_to(MENTEE_CHAT)[1:]] == ["mood", None]
    assert "would you like your mentor to call you" in stack.telegrams_to(MENTEE_CHAT)[-1]["text"].lower()
    assert _answers(stack, sam) == {"mood": ("2", "2")}


def test_stop_over_telegram_is_confirmed_there_and_the_mentor_is_told(make_stack: StackFactory,
                                                                      clock: ManualClock) -> None:
    stack = make_stack()
    updates = Updates()
    sam = _linked(stack, updates, clock)
    clock.set(london(2026, 3, 10, 11, 0))
    stack.settle()
    clock.advance(minutes=1)
    stack.telegram_post(updates.text(MENTEE_CHAT, "STOP"))
    stack.settle()
    assert stack.mentee(sam).status == "opted_out"
    assert stack.conversations(sam)[0].outcome == "cancelled"
    assert "won't get any more messages" in stack.telegrams_to(MENTEE_CHAT)[-1]["text"]
    assert "replied STOP" in stack.texts_to(MENTOR_PHONE)[-1]
    clock.advance(days=7)
    stack.settle()
    assert "won't get any more messages" in stack.telegrams_to(MENTEE_CHAT)[-1]["text"]


def test_telegram_text_is_sent_as_written_not_shaped_for_sms(make_stack: StackFactory,
                                                             clock: ManualClock) -> None:
    org = "St Mary\u2019s \u2013 Mentoring"
    stack = make_stack(org=org)
    updates = Updates()
    _linked(stack, updates, clock)
    stack.telegram_post(updates.text(MENTEE_CHAT, "HELP"))
    stack.settle()
    assert org in stack.telegrams_to(MENTEE_CHAT)[-1]["text"]
    row = stack.messages(direction="out", channel="telegram")[-1]
    assert row.body.startswith(f"This is {org}.")
    assert row.provider_id == f"{MENTEE_CHAT}:{stack.telegrams_to(MENTEE_CHAT)[-1]['message_id']}"
