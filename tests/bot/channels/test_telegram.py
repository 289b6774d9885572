"""TelegramChannel (real python-telegram-bot) against a fake Bot API, and update parsing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from bot.channels.base import (
    Button,
    InboundMessage,
    MalformedRequest,
    OutboundText,
    PermanentSendError,
    RateLimitedError,
    SendReceipt,
    TransientSendError,
)
from bot.channels.ratelimit import Rate
from bot.channels.telegram import (
    MalformedUpdate,
    PollError,
    TelegramChannel,
    keyboard_rows,
    parse_update,
)
from bot.clock import ManualClock
from tests.fakes.fixtures import fake_telegram, telegram_channel_for  # noqa: F401
from tests.fakes.telegram_server import (
    FakeTelegram,
    TelegramFault,
    callback_update,
    start_update,
    text_update,
)

T = TypeVar("T")
CHAT = 424242
T0 = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def with_channel(fake: FakeTelegram, use: Callable[[TelegramChannel], Awaitable[T]], **options: Any) -> T:
    async def go() -> T:
        channel = telegram_channel_for(fake, **options)
        await channel.start()
        try:
            return await use(channel)
        finally:
            await channel.stop()

    return asyncio.run(go())


def send(fake: FakeTelegram, message: OutboundText, **options: Any) -> SendReceipt:
    return with_channel(fake, lambda c: c.send(message), **options)


def send_error(fake: FakeTelegram, message: OutboundText, **options: Any) -> Exception:
    with pytest.raises((TransientSendError, PermanentSendError)) as caught:
        send(fake, message, **options)
    return caught.value


def calls(fake: FakeTelegram, method: str) -> list[dict[str, str]]:
    return [r.form for r in fake.requests if r.path.endswith("/" + method)]


# --- sending -----------------------------------------------------------------------------------


def test_start_checks_the_token_and_learns_the_bot_username_for_deep_links(fake_telegram: FakeTelegram) -> None:
    async def use(channel: TelegramChannel) -> str:
        return channel.start_link("Xy7_k2")

    link = with_channel(fake_telegram, use)
    assert link == "https://t.me/checkins_fake_bot?start=Xy7_k2"
    assert len(calls(fake_telegram, "getMe")) == 1


def test_a_wrong_token_fails_permanently_at_start(fake_telegram: FakeTelegram) -> None:
    async def go() -> None:
        await TelegramChannel("999:wrong", api_base_url=fake_telegram.url).start()

    with pytest.raises(PermanentSendError):
        asyncio.run(go())


def test_a_sent_message_keeps_its_unicode_and_returns_chat_and_message_id(fake_telegram: FakeTelegram) -> None:
    receipt = send(fake_telegram, OutboundText(str(CHAT), "How’s your week been? 🙂"))
    [sent] = fake_telegram.sent
    assert sent["chat_id"] == CHAT
    assert sent["text"] == "How’s your week been? 🙂"
    assert "reply_markup" not in sent
    assert receipt == SendReceipt(provider_id=f"{CHAT}:{sent['message_id']}", status="sent", segments=1)


def test_buttons_are_sent_as_an_inline_keyboard_carrying_the_typed_answer(fake_telegram: FakeTelegram) -> None:
    buttons = tuple(Button(str(n), str(n)) for n in range(1, 6))
    send(fake_telegram, OutboundText(str(CHAT), "How are you feeling, 1 to 5?", buttons=buttons))
    [sent] = fake_telegram.sent
    assert sent["reply_markup"] == {
        "inline_keyboard": [[{"text": str(n), "callback_data": str(n)} for n in range(1, 6)]]
    }


def test_short_answers_share_a_row_and_long_ones_get_a_row_each() -> None:
    yes_no = (Button("Yes", "yes"), Button("No", "no"))
    long = (Button("Call my mentor", "call"), Button("Not now", "later"))
    assert keyboard_rows(yes_no) == [list(yes_no)]
    assert keyboard_rows(long) == [[long[0]], [long[1]]]


def test_a_button_value_over_64_bytes_is_refused_before_calling_telegram(fake_telegram: FakeTelegram) -> None:
    error = send_error(fake_telegram, OutboundText(str(CHAT), "?", buttons=(Button("x", "v" * 65),)))
    assert isinstance(error, PermanentSendError)
    assert calls(fake_telegram, "sendMessage") == []


def test_an_address_that_is_not_a_chat_id_is_permanent(fake_telegram: FakeTelegram) -> None:
    error = send_error(fake_telegram, OutboundText("+447700900123", "hi"))
    assert isinstance(error, PermanentSendError) and not error.unreachable
    assert calls(fake_telegram, "sendMessage") == []


def test_flood_control_is_a_rate_limit_with_telegrams_retry_after(fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next(TelegramFault.flood(retry_after=5))
    error = send_error(fake_telegram, OutboundText(str(CHAT), "hi"))
    assert isinstance(error, RateLimitedError) and isinstance(error, TransientSendError)
    assert error.retry_after == 5.0


@pytest.mark.parametrize("fault", [TelegramFault.blocked(), TelegramFault.deactivated()])
def test_a_blocked_or_deactivated_user_is_permanently_unreachable(fake_telegram: FakeTelegram, fault: Any) -> None:
    fake_telegram.fail_chat(CHAT, fault)
    error = send_error(fake_telegram, OutboundText(str(CHAT), "hi"))
    assert isinstance(error, PermanentSendError)
    assert error.unreachable and error.code == "403"


def test_a_bad_request_is_permanent_but_not_an_opt_out(fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next(TelegramFault.bad_request("Bad Request: chat not found"))
    error = send_error(fake_telegram, OutboundText(str(CHAT), "hi"))
    assert isinstance(error, PermanentSendError) and not error.unreachable and error.code == "400"


def test_a_message_over_telegrams_length_limit_is_permanent(fake_telegram: FakeTelegram) -> None:
    error = send_error(fake_telegram, OutboundText(str(CHAT), "x" * 5000))
    assert isinstance(error, PermanentSendError) and "too long" in str(error)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_telegram_server_errors_are_transient(fake_telegram: FakeTelegram, status: int) -> None:
    fake_telegram.fail_next(TelegramFault.server_error(status))
    error = send_error(fake_telegram, OutboundText(str(CHAT), "hi"))
    assert type(error) is TransientSendError


def test_a_slow_telegram_times_out_as_transient(fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next(TelegramFault.slow(30))
    error = send_error(fake_telegram, OutboundText(str(CHAT), "hi"), timeout=0.2)
    assert type(error) is TransientSendError and error.code == "timeout"


def test_sending_works_again_once_telegram_recovers(fake_telegram: FakeTelegram) -> None:
    async def use(channel: TelegramChannel) -> SendReceipt:
        with pytest.raises(RateLimitedError):
            await channel.send(OutboundText(str(CHAT), "hi"))
        return await channel.send(OutboundText(str(CHAT), "hi"))

    fake_telegram.fail_next(TelegramFault.flood(1))
    receipt = with_channel(fake_telegram, use)
    assert receipt.provider_id == f"{CHAT}:{fake_telegram.sent[0]['message_id']}"


def test_each_chat_gets_about_one_message_a_second_after_a_short_burst(fake_telegram: FakeTelegram) -> None:
    clock = ManualClock(T0)

    async def use(channel: TelegramChannel) -> list[float | None]:
        waits: list[float | None] = []
        for _ in range(2):
            await channel.send(OutboundText(str(CHAT), "burst"))
        with pytest.raises(RateLimitedError) as held:
            await channel.send(OutboundText(str(CHAT), "third"))
        waits.append(held.value.retry_after)
        await channel.send(OutboundText("777", "another chat is not held back"))
        clock.advance(seconds=1)
        await channel.send(OutboundText(str(CHAT), "third"))
        return waits

    waits = with_channel(fake_telegram, use, clock=clock, per_chat_rate=Rate(1.0, burst=2))
    assert waits == [pytest.approx(1.0)]
    assert [m["text"] for m in fake_telegram.sent] == ["burst", "burst", "another chat is not held back", "third"]


def test_the_overall_rate_holds_back_every_chat(fake_telegram: FakeTelegram) -> None:
    clock = ManualClock(T0)

    async def use(channel: TelegramChannel) -> float:
        await channel.send(OutboundText("1", "a"))
        await channel.send(OutboundText("2", "b"))
        with pytest.raises(RateLimitedError) as held:
            await channel.send(OutboundText("3", "c"))
        return held.value.retry_after or 0.0

    wait = with_channel(fake_telegram, use, clock=clock, overall_rate=Rate(30.0, burst=2))
    assert wait == pytest.approx(1 / 30)
    assert len(fake_telegram.sent) == 2


def test_a_button_press_is_answered_and_its_keyboard_removed(fake_telegram: FakeTelegram) -> None:
    async def use(channel: TelegramChannel) -> None:
        receipt = await channel.send(OutboundText(str(CHAT), "Ok?", buttons=(Button("Yes", "yes"), Button("No", "no"))))
        message_id = int(receipt.provider_id.split(":")[1])
        press = parse_update(callback_update(1, CHAT, "yes", message_id=message_id))
        assert press is not None
        await channel.answer_button(press.extra["callback_query_id"])
        await channel.clear_buttons(press.address, int(press.extra["message_id"]))

    with_channel(fake_telegram, use)
    [answer] = fake_telegram.answered_queries
    assert answer["callback_query_id"] == f"{CHAT}00000001"
    [edit] = fake_telegram.edited_markups
    assert edit["chat_id"] == CHAT and "reply_markup" not in edit


def test_set_webhook_sends_the_secret_and_only_the_update_types_we_handle(fake_telegram: FakeTelegram) -> None:
    with_channel(fake_telegram, lambda c: c.set_webhook("https://bot.example.org/telegram/webhook", "s3cret-Token_1"))
    assert fake_telegram.webhook is not None
    assert fake_telegram.webhook["secret_token"] == "s3cret-Token_1"
    assert fake_telegram.webhook["allowed_updates"] == ["message", "callback_query"]
    with_channel(fake_telegram, lambda c: c.delete_webhook())
    assert fake_telegram.webhook is None


# --- long polling ------------------------------------------------------------------------------


def test_polling_returns_text_start_and_button_updates_and_the_next_offset(fake_telegram: FakeTelegram) -> None:
    fake_telegram.push_update(fake_telegram.start_update(CHAT, "Ab3_x"))
    fake_telegram.push_update(fake_telegram.text_update(CHAT, "fine thanks"))
    fake_telegram.push_update(fake_telegram.callback_update(CHAT, "4"))

    async def use(channel: TelegramChannel) -> tuple[list[InboundMessage], int, list[InboundMessage], int]:
        first, offset = await channel.poll_once(0)
        again, offset2 = await channel.poll_once(offset)
        return first, offset, again, offset2

    first, offset, again, offset2 = with_channel(fake_telegram, use)
    assert [m.text for m in first] == ["/start Ab3_x", "fine thanks", "4"]
    assert first[0].extra["start_code"] == "Ab3_x"
    assert first[2].callback_data == "4"
    assert offset == int(first[2].provider_id) + 1
    assert (again, offset2) == ([], offset)
    assert fake_telegram.pending_updates == 0  # confirmed by the second call's offset
    assert json.loads(calls(fake_telegram, "getUpdates")[0]["allowed_updates"]) == ["message", "callback_query"]


def test_polling_skips_but_confirms_updates_it_cannot_or_need_not_handle(fake_telegram: FakeTelegram) -> None:
    fake_telegram.push_update({"update_id": 10, "message": {"text": "no chat"}})
    fake_telegram.push_update({"update_id": 11, "edited_message": text_update(0, CHAT, "edit")["message"]})
    fake_telegram.push_update(text_update(12, CHAT, "real one"))

    messages, offset = with_channel(fake_telegram, lambda c: c.poll_once(0))
    assert [m.text for m in messages] == ["real one"]
    assert offset == 13


def test_polling_while_a_webhook_is_set_is_a_fatal_poll_error(fake_telegram: FakeTelegram) -> None:
    async def use(channel: TelegramChannel) -> None:
        await channel.set_webhook("https://bot.example.org/telegram/webhook", "secret")
        await channel.poll_once(0)

    with pytest.raises(PollError) as caught:
        with_channel(fake_telegram, use)
    assert caught.value.fatal


def test_polling_under_flood_control_says_when_to_retry(fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next(TelegramFault.flood(3), method="getUpdates")
    with pytest.raises(PollError) as caught:
        with_channel(fake_telegram, lambda c: c.poll_once(0))
    assert caught.value.retry_after == 3.0 and not caught.value.fatal


# --- parsing -----------------------------------------------------------------------------------


def test_a_private_text_message_becomes_an_inbound_message() -> None:
    message = parse_update(text_update(900, CHAT, "Not great today", message_id=7, date=1_741_082_400))
    assert message == InboundMessage(
        channel="telegram", provider_id="900", address=str(CHAT), text="Not great today",
        received_at=datetime(2025, 3, 4, 10, 0, tzinfo=UTC), extra={"message_id": "7"},
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [("/start Ab3_x-9", "Ab3_x-9"), ("/start@checkins_fake_bot Ab3", "Ab3"), ("/start", None),
     ("/start bad code!", None), ("/START Ab3", "Ab3")],
)
def test_start_carries_a_well_formed_code_only(text: str, code: str | None) -> None:
    message = parse_update(text_update(901, CHAT, text))
    assert message is not None and message.extra["command"] == "start"
    assert message.extra.get("start_code") == code


def test_start_update_builder_matches_the_deep_link_shape() -> None:
    message = parse_update(start_update(902, CHAT, "Zz9"))
    assert message is not None and message.extra["start_code"] == "Zz9" and message.text == "/start Zz9"


def test_a_button_press_becomes_an_answer_with_its_query_id() -> None:
    message = parse_update(callback_update(903, CHAT, "yes", message_id=55, query_id="q1"))
    assert message == InboundMessage(
        channel="telegram", provider_id="903", address=str(CHAT), text="yes", callback_data="yes",
        extra={"callback_query_id": "q1", "message_id": "55"},
    )


def test_a_press_on_a_message_too_old_to_include_uses_the_senders_id() -> None:
    update = callback_update(904, CHAT, "no", query_id="q2")
    del update["callback_query"]["message"]
    message = parse_update(update)
    assert message is not None and message.address == str(CHAT) and message.extra == {"callback_query_id": "q2"}


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1, "edited_message": text_update(1, CHAT, "x")["message"]},
        {"update_id": 2, "message": {**text_update(2, CHAT, "x")["message"], "text": None, "pinned_message": {}}},
        {"update_id": 3, "message": {**text_update(3, CHAT, "x")["message"], "chat": {"id": -100, "type": "group"}}},
        {"update_id": 4, "my_chat_member": {}},
        {"update_id": 5, "callback_query": {"id": "q", "from": {"id": CHAT}, "game_short_name": "g"}},
    ],
)
def test_updates_we_do_not_handle_are_ignored(update: dict[str, Any]) -> None:
    assert parse_update(update) is None


@pytest.mark.parametrize(
    "data",
    [
        [],
        "text",
        {"message": text_update(1, CHAT, "x")["message"]},
        {"update_id": "1", "message": {}},
        {"update_id": True, "message": {}},
        {"update_id": 1, "message": {"text": "no chat"}},
        {"update_id": 1, "message": {"chat": {"id": "42", "type": "private"}, "text": "x"}},
        {"update_id": 1, "callback_query": {"data": "x"}},
        {"update_id": 1, "callback_query": {"id": "q", "data": "x"}},
    ],
)
def test_data_not_shaped_like_an_update_is_malformed(data: Any) -> None:
    with pytest.raises(MalformedUpdate):
        parse_update(data)
    assert issubclass(MalformedUpdate, MalformedRequest) and issubclass(MalformedUpdate, ValueError)


def test_a_voice_note_is_passed_on_as_an_empty_message_marked_as_media() -> None:
    from bot.channels.telegram import parse_update

    update = {"update_id": 9, "message": {"message_id": 5, "date": 1_700_000_000,
                                          "chat": {"id": 42, "type": "private"},
                                          "from": {"id": 42, "is_bot": False, "first_name": "S"},
                                          "voice": {"file_id": "v", "duration": 12}}}
    message = parse_update(update)
    assert message is not None
    assert (message.text, message.extra.get("media"), message.address) == ("", "voice", "42")


def test_sends_to_different_chats_go_out_together_not_one_at_a_time(fake_telegram: FakeTelegram) -> None:
    """The fake answers no send until four are in flight at once: a one-connection pool (PTB's
    default) would wait out its timeout instead (the outbox sends up to 32 at once)."""
    fake_telegram.hold_sends_until(4)

    async def four(channel: TelegramChannel) -> list[SendReceipt]:
        return list(await asyncio.gather(*(channel.send(OutboundText(str(CHAT + i), f"hi {i}"))
                                           for i in range(4))))

    receipts = with_channel(fake_telegram, four, connections=4, overall_rate=None, per_chat_rate=None)
    assert len({r.provider_id for r in receipts}) == 4
    assert fake_telegram.most_sends_in_flight == 4
