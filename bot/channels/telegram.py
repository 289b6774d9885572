"""Telegram through python-telegram-bot: send with inline buttons, understand updates.

PTB types (Bot, Update, telegram.error.*) never leave this module. Updates are parsed from the
raw Bot API JSON, so one odd update can never stop a webhook or polling loop.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBUserWarning

from bot.channels.base import (
    Button,
    ChannelName,
    InboundMessage,
    MalformedRequest,
    OutboundText,
    PermanentSendError,
    RateLimitedError,
    SendError,
    SendReceipt,
    TransientSendError,
    storable_text,
)
from bot.channels.ratelimit import Rate, Throttle
from bot.clock import Clock, SystemClock

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.telegram.org"
# Bot FAQ: about one message a second per chat (short bursts pass) and 30 a second overall.
PER_CHAT_RATE = Rate(per_second=1.0, burst=3)
OVERALL_RATE = Rate(per_second=30.0, burst=30)
DEFAULT_CONNECTIONS = 32  # as `[service] send_concurrency`'s default
ALLOWED_UPDATES = ("message", "callback_query")
_MEDIA_KINDS = ("voice", "audio", "video_note", "video", "photo", "sticker", "document", "animation",
                "contact", "location")
MAX_CALLBACK_DATA_BYTES = 64
_START_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # the deep-link parameter alphabet
_CHAT_ID = re.compile(r"^-?[0-9]{1,20}$")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?$", re.DOTALL)


class MalformedUpdate(MalformedRequest):
    """A Telegram update that is not shaped like one."""


class PollError(Exception):
    """getUpdates failed. `fatal` means retrying will not help (bad token, webhook active)."""

    def __init__(self, message: str, retry_after: float | None = None, fatal: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.fatal = fatal


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB's int-vs-timedelta deprecation notice
        return _seconds(exc.retry_after)


def classify_telegram_error(exc: TelegramError) -> SendError:
    """Map a PTB exception to our send errors (order matters: BadRequest is a NetworkError)."""
    if isinstance(exc, RetryAfter):
        return RateLimitedError(exc.message, code="429", retry_after=_retry_seconds(exc))
    if isinstance(exc, Forbidden):  # blocked by the user, user deactivated, kicked
        return PermanentSendError(exc.message, code="403", unreachable=True)
    if isinstance(exc, BadRequest):
        return PermanentSendError(exc.message, code="400")
    if isinstance(exc, TimedOut):
        return TransientSendError(exc.message, code="timeout", uncertain=True)
    if isinstance(exc, NetworkError):  # connection errors and 5xx
        return TransientSendError(exc.message, code="network")
    if isinstance(exc, InvalidToken):
        return PermanentSendError(exc.message, code="401")
    return PermanentSendError(exc.message, code=type(exc).__name__)


def keyboard_rows(buttons: Sequence[Button]) -> list[list[Button]]:
    """Short answers (yes/no, 1-5) side by side on one row; longer labels one per row."""
    if len(buttons) <= 5 and all(len(b.label) <= 12 for b in buttons):
        return [list(buttons)]
    return [[b] for b in buttons]


class TelegramChannel:
    """Sends Telegram messages as a bot and reads its updates by long polling."""

    name: ChannelName = "telegram"

    def __init__(
        self,
        token: str,
        *,
        api_base_url: str = DEFAULT_API_BASE_URL,
        timeout: float = 10.0,
        per_chat_rate: Rate | None = PER_CHAT_RATE,
        overall_rate: Rate | None = OVERALL_RATE,
        clock: Clock | None = None,
        connections: int = DEFAULT_CONNECTIONS,
    ) -> None:
        """`connections`: sends in flight at once (the outbox's `[service] send_concurrency`).
        PTB's default is one: every send waited for the one before, and under a burst the
        wait for the pool became a timeout that looked like a send that may have arrived."""
        base = api_base_url.rstrip("/")
        self.timeout = timeout
        self.clock: Clock = clock or SystemClock()
        self._bot = Bot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=HTTPXRequest(
                connection_pool_size=max(1, connections), connect_timeout=timeout,
                read_timeout=timeout, write_timeout=timeout, pool_timeout=timeout,
            ),
            get_updates_request=HTTPXRequest(
                connection_pool_size=1, connect_timeout=timeout, read_timeout=timeout,
                write_timeout=timeout, pool_timeout=timeout,
            ),
        )
        self._throttle = Throttle(overall=overall_rate, per_key=per_chat_rate)
        self._started = False

    async def start(self) -> None:
        """Open connections and check the token (getMe); learns the bot's username."""
        try:
            await self._bot.initialize()
        except TelegramError as exc:
            raise classify_telegram_error(exc) from None
        self._started = True

    async def _ensure_started(self) -> None:
        if not self._started:
            await self.start()

    async def stop(self) -> None:
        """Close connections."""
        if self._started:
            await self._bot.shutdown()
            self._started = False

    @property
    def username(self) -> str:
        """The bot's @username (after start())."""
        return self._bot.username

    def start_link(self, code: str) -> str:
        """The t.me deep link that makes a new mentee send `/start <code>`."""
        if not _START_CODE.match(code):
            raise ValueError("start codes are 1-64 characters of A-Z a-z 0-9 _ -")
        return f"https://t.me/{self.username}?start={code}"

    async def send(self, message: OutboundText) -> SendReceipt:
        """Send `message` to the chat id in `message.address`, buttons as an inline keyboard.

        Telegram shows Unicode, so the text is not shaped. The provider id is
        "<chat_id>:<message_id>" because message ids are only unique within a chat.
        """
        chat_id = _chat_id(message.address)
        markup = None
        if message.buttons:
            for b in message.buttons:
                if len(b.value.encode()) > MAX_CALLBACK_DATA_BYTES:
                    raise PermanentSendError(f"button value over 64 bytes: {b.value[:20]}...", code="400")
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(b.label, callback_data=b.value) for b in row] for row in keyboard_rows(message.buttons)]
            )
        wait = self._throttle.acquire(self.clock.now().timestamp(), key=str(chat_id))
        if wait > 0:
            raise RateLimitedError("Telegram send rate", code="throttled", retry_after=wait)
        await self._ensure_started()
        try:
            sent = await self._bot.send_message(chat_id=chat_id, text=message.text, reply_markup=markup)
        except TelegramError as exc:
            raise classify_telegram_error(exc) from None
        return SendReceipt(provider_id=f"{chat_id}:{sent.message_id}", status="sent", segments=1)

    async def answer_button(self, callback_query_id: str, text: str | None = None) -> None:
        """Stop the button's spinner (Telegram expects an answer to every press)."""
        await self._ensure_started()
        try:
            await self._bot.answer_callback_query(callback_query_id, text=text)
        except TelegramError as exc:
            raise classify_telegram_error(exc) from None

    async def clear_buttons(self, address: str, message_id: int) -> None:
        """Remove the inline keyboard from a message once it has been answered."""
        await self._ensure_started()
        try:
            await self._bot.edit_message_reply_markup(chat_id=_chat_id(address), message_id=message_id)
        except TelegramError as exc:
            raise classify_telegram_error(exc) from None

    async def set_webhook(self, url: str, secret_token: str, drop_pending_updates: bool = False) -> None:
        """Ask Telegram to POST updates to `url` with `secret_token` in a header."""
        await self._ensure_started()
        try:
            await self._bot.set_webhook(
                url=url, secret_token=secret_token, allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=drop_pending_updates,
            )
        except TelegramError as exc:
            raise classify_telegram_error(exc) from None

    async def delete_webhook(self) -> None:
        """Switch back to polling (getUpdates fails while a webhook is set)."""
        await self._ensure_started()
        try:
            await self._bot.delete_webhook(drop_pending_updates=False)
        except TelegramError as exc:
            raise classify_telegram_error(exc) from None

    async def poll_once(self, offset: int, timeout: int = 0) -> tuple[list[InboundMessage], int]:
        """One getUpdates call: the messages we handle and the offset for the next call.

        Passing the returned offset confirms every update seen, including ones we ignore or
        cannot parse, so a bad update is skipped instead of being fetched forever.
        """
        await self._ensure_started()
        try:
            with warnings.catch_warnings():
                # Raw JSON on purpose (see above); PTB would nudge us towards get_updates().
                warnings.simplefilter("ignore", PTBUserWarning)
                raw = await self._bot.do_api_request(
                    "getUpdates",
                    api_kwargs={"offset": offset, "timeout": timeout, "allowed_updates": list(ALLOWED_UPDATES)},
                    read_timeout=self.timeout + timeout,
                )
        except RetryAfter as exc:
            raise PollError(exc.message, retry_after=_retry_seconds(exc)) from None
        except (Conflict, InvalidToken) as exc:
            raise PollError(exc.message, fatal=True) from None
        except TelegramError as exc:
            raise PollError(exc.message) from None
        messages: list[InboundMessage] = []
        next_offset = offset
        for data in raw if isinstance(raw, list) else []:
            update_id = data.get("update_id") if isinstance(data, dict) else None
            if isinstance(update_id, int):
                next_offset = max(next_offset, update_id + 1)
            try:
                parsed = parse_update(data)
            except MalformedUpdate as exc:
                log.warning("skipping malformed Telegram update %s: %s", update_id, exc)
                continue
            if parsed is not None:
                messages.append(parsed)
        return messages, next_offset


def _chat_id(address: str) -> int:
    # Strict: int() would also accept "+447700900123", a phone number given by mistake.
    if not _CHAT_ID.match(address):
        raise PermanentSendError("not a Telegram chat id", code="400")
    return int(address)


_ID_LIMIT = 2**63  # Bot API ids are 64-bit signed integers at most (chat ids fit in 52 bits)
_DATE_LIMIT = 2**33  # a Unix time in the year 2242: anything later is not a real date


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedUpdate(f"{what} is not an integer")
    if not -_ID_LIMIT < value < _ID_LIMIT:
        raise MalformedUpdate(f"{what} is out of range")
    return value


def _when(value: Any) -> datetime | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value < _DATE_LIMIT
    return datetime.fromtimestamp(value, UTC) if ok else None


def parse_update(data: Any) -> InboundMessage | None:
    """A Bot API Update (decoded JSON) as an InboundMessage.

    Handles text messages and inline-button presses in private chats; `/start <code>` puts the
    code in extra["start_code"]. Returns None for anything else (edits, stickers, groups).
    Raises MalformedUpdate (a ValueError) if the data is not shaped like an update.
    """
    if not isinstance(data, dict):
        raise MalformedUpdate("an update must be a JSON object")
    update_id = _int(data.get("update_id"), "update_id")
    if "message" in data:
        return _parse_message(update_id, data["message"])
    if "callback_query" in data:
        return _parse_callback(update_id, data["callback_query"])
    return None


def _parse_message(update_id: int, message: Any) -> InboundMessage | None:
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        raise MalformedUpdate("message without a chat")
    chat = message["chat"]
    chat_id = _int(chat.get("id"), "chat.id")
    if chat.get("type") != "private":
        return None  # the bot serves one-to-one chats only
    text = message.get("text")
    extra: dict[str, str] = {}
    if not isinstance(text, str):
        media = next((kind for kind in _MEDIA_KINDS if kind in message), None)
        if media is None:
            return None  # service messages (joins, pins...): nothing a person said
        # A voice note or photo can carry anything, even a plea for help: it is passed on as an
        # empty message so the service answers and a human is told, never silently dropped.
        text = str(message.get("caption") or "")
        extra["media"] = media
    if isinstance(message.get("message_id"), int):
        extra["message_id"] = str(message["message_id"])
    command = _COMMAND.match(text.strip())
    if command:
        extra["command"] = command.group(1).lower()
        argument = (command.group(2) or "").strip()
        if extra["command"] == "start" and _START_CODE.match(argument):
            extra["start_code"] = argument
    return InboundMessage(
        channel="telegram",
        provider_id=str(update_id),
        address=str(chat_id),
        text=storable_text(text),
        received_at=_when(message.get("date")),
        extra=extra,
    )


def _parse_callback(update_id: int, query: Any) -> InboundMessage | None:
    if not isinstance(query, dict) or not isinstance(query.get("id"), str):
        raise MalformedUpdate("callback_query without an id")
    data = query.get("data")
    if not isinstance(data, str):
        return None  # game buttons carry no data
    message = query.get("message")
    extra = {"callback_query_id": storable_text(query["id"])}
    if isinstance(message, dict) and isinstance(message.get("chat"), dict):
        if message["chat"].get("type", "private") != "private":
            return None
        chat_id = _int(message["chat"].get("id"), "chat.id")
        if isinstance(message.get("message_id"), int):
            extra["message_id"] = str(message["message_id"])
    else:
        # The pressed message is too old to be included: in a private chat the chat id is the
        # user id.
        sender = query.get("from")
        if not isinstance(sender, dict):
            raise MalformedUpdate("callback_query without a sender")
        chat_id = _int(sender.get("id"), "from.id")
    return InboundMessage(
        channel="telegram",
        provider_id=str(update_id),
        address=str(chat_id),
        text=storable_text(data),
        callback_data=storable_text(data),
        extra=extra,
    )
