"""A fake Telegram Bot API on 127.0.0.1: the methods our bot calls, an update queue, faults.

Usage:
    with FakeTelegram() as fake:
        channel = TelegramChannel(fake.token, api_base_url=fake.url)
        fake.push_update(fake.text_update(chat_id=42, text="hello"))
        fake.fail_chat(42, TelegramFault.blocked())
        fake.fail_next(TelegramFault.flood(retry_after=5))
        fake.sent  # every sendMessage Telegram accepted, as decoded parameters
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.waiting import PATIENCE
from tests.fakes.server import Fault, FakeProviderServer, RecordedRequest

TOKEN = "123456:FAKE-token_0123456789abcdefghijkl"
BOT_ID = 123456
BOT_USERNAME = "checkins_fake_bot"
_SECRET_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _error(code: int, description: str, **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


class TelegramFault:
    """Ready-made faults with the bodies the Bot API really sends."""

    @staticmethod
    def flood(retry_after: int = 1) -> Fault:
        return Fault(429, _error(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after))

    @staticmethod
    def blocked() -> Fault:
        return Fault(403, _error(403, "Forbidden: bot was blocked by the user"))

    @staticmethod
    def deactivated() -> Fault:
        return Fault(403, _error(403, "Forbidden: user is deactivated"))

    @staticmethod
    def bad_request(description: str = "Bad Request: chat not found") -> Fault:
        return Fault(400, _error(400, description))

    @staticmethod
    def server_error(status: int = 502) -> Fault:
        return Fault(status, _error(status, "Bad Gateway"))

    @staticmethod
    def slow(seconds: float) -> Fault:
        """Answer normally, but only after `seconds` (longer than the client's timeout)."""
        return Fault(delay=seconds)


_STRING_PARAMS = frozenset({"text", "callback_query_id", "url", "secret_token", "parse_mode", "ip_address"})


def _decode(name: str, value: str) -> Any:
    # PTB JSON-encodes everything except plain strings: '42', 'true', '{"inline_keyboard":..}'.
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def private_chat(chat_id: int, first_name: str = "Sam") -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": first_name}


def user(user_id: int, first_name: str = "Sam") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}


def text_update(update_id: int, chat_id: int, text: str, *, message_id: int = 1, date: int | None = None) -> dict[str, Any]:
    """An Update carrying a private text message, shaped as Telegram sends it."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": user(chat_id),
        "chat": private_chat(chat_id),
        "date": date if date is not None else int(time.time()),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split(" ", 1)[0]
        message["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
    return {"update_id": update_id, "message": message}


def start_update(update_id: int, chat_id: int, code: str | None, **kw: Any) -> dict[str, Any]:
    """What arrives when someone opens t.me/<bot>?start=<code> and taps Start."""
    return text_update(update_id, chat_id, f"/start {code}" if code else "/start", **kw)


def callback_update(
    update_id: int, chat_id: int, data: str, *, message_id: int = 101, query_id: str | None = None,
    message_text: str = "Question?",
) -> dict[str, Any]:
    """An Update for a press on an inline keyboard button under bot message `message_id`."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id or f"{chat_id}{update_id:08d}",
            "from": user(chat_id),
            "message": {
                "message_id": message_id,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Check-ins", "username": BOT_USERNAME},
                "chat": private_chat(chat_id),
                "date": int(time.time()),
                "text": message_text,
            },
            "chat_instance": str(-abs(chat_id) * 7919),
            "data": data,
        },
    }


class FakeTelegram(FakeProviderServer):
    """Fake `POST /bot<token>/<method>` for the Bot API methods the service uses."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.sent: list[dict[str, Any]] = []
        self.answered_queries: list[dict[str, Any]] = []
        self.edited_markups: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] | None = None
        self._updates: deque[dict[str, Any]] = deque()
        self._next_update_id = 1000
        self._message_ids: dict[int, int] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._next_faults: deque[tuple[str, Fault]] = deque()
        self._chat_faults: dict[int, Fault] = {}
        self._new_update: asyncio.Event | None = None
        self._hold_sends = 0  # see hold_sends_until
        self._sends_in_flight = 0
        self.most_sends_in_flight = 0
        self._sends_released: asyncio.Event | None = None
        super().__init__()

    def hold_sends_until(self, count: int) -> None:
        """Answer no sendMessage until `count` of them are in flight at once (then all of them):
        a client that sends one at a time waits out its own timeout."""
        self._hold_sends = count

    def routes(self) -> list[Any]:
        return [Route("/bot{token}/{method}", self._dispatch, methods=["GET", "POST"])]

    # --- knobs ---------------------------------------------------------------------------------

    def fail_next(self, fault: Fault, method: str = "sendMessage") -> None:
        """The next call of `method` gets `fault` (queue several by calling again)."""
        with self._lock:
            self._next_faults.append((method, fault))

    def fail_chat(self, chat_id: int, fault: Fault | None) -> None:
        """Every call addressed to `chat_id` gets `fault` until cleared with None."""
        with self._lock:
            if fault is None:
                self._chat_faults.pop(chat_id, None)
            else:
                self._chat_faults[chat_id] = fault

    def next_update_id(self) -> int:
        with self._lock:
            self._next_update_id += 1
            return self._next_update_id

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates (as if a person had written to the bot)."""
        with self._lock:
            self._updates.append(update)
        self.call_in_loop(self._wake)

    def text_update(self, chat_id: int, text: str) -> dict[str, Any]:
        return text_update(self.next_update_id(), chat_id, text)

    def start_update(self, chat_id: int, code: str | None) -> dict[str, Any]:
        return start_update(self.next_update_id(), chat_id, code)

    def callback_update(self, chat_id: int, data: str, message_id: int = 101) -> dict[str, Any]:
        return callback_update(self.next_update_id(), chat_id, data, message_id=message_id)

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    # --- handlers ------------------------------------------------------------------------------

    def _wake(self) -> None:
        if self._new_update is not None:
            self._new_update.set()

    async def _params(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            return dict(json.loads(raw or b"{}"))
        params: dict[str, Any] = {k: _decode(k, v) for k, v in parse_qsl(raw.decode(), keep_blank_values=True)}
        params.update({k: _decode(k, v) for k, v in request.query_params.items()})
        return params

    async def _dispatch(self, request: Request) -> Response:
        params = await self._params(request)
        method = request.path_params["method"]
        status, body = await self._answer(request, method, params)
        form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        self._record(RecordedRequest(request.method, f"/bot<token>/{method}", form, dict(request.headers), status))
        return JSONResponse(body, status_code=status)

    def _fault_for(self, method: str, params: dict[str, Any]) -> Fault | None:
        with self._lock:
            chat = params.get("chat_id")
            if isinstance(chat, int) and chat in self._chat_faults:
                return self._chat_faults[chat]
            for i, (m, fault) in enumerate(self._next_faults):
                if m == method:
                    del self._next_faults[i]
                    return fault
        return None

    async def _answer(self, request: Request, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        if request.path_params["token"] != self.token:
            return 401, _error(401, "Unauthorized")
        fault = self._fault_for(method, params)
        if fault is not None:
            await self._hold(fault.delay)
            if fault.status is not None:
                return fault.status, fault.body
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return 404, _error(404, "Not Found")
        if method == "sendMessage":
            await self._send_gate()
        return await handler(params)

    async def _send_gate(self) -> None:
        if self._sends_released is None:
            self._sends_released = asyncio.Event()
        self._sends_in_flight += 1  # on the server's one loop: no lock needed
        self.most_sends_in_flight = max(self.most_sends_in_flight, self._sends_in_flight)
        try:
            if self._hold_sends and self._sends_in_flight >= self._hold_sends:
                self._sends_released.set()
            if self._hold_sends and not self._sends_released.is_set():
                assert self._closing is not None
                waits = [asyncio.ensure_future(e.wait()) for e in (self._sends_released, self._closing)]
                _, pending = await asyncio.wait(waits, timeout=PATIENCE, return_when=asyncio.FIRST_COMPLETED)
                for waiting in pending:
                    waiting.cancel()
        finally:
            self._sends_in_flight -= 1

    async def _m_getMe(self, params: dict[str, Any]) -> tuple[int, Any]:
        return 200, {"ok": True, "result": {
            "id": BOT_ID, "is_bot": True, "first_name": "Check-ins", "username": BOT_USERNAME,
            "can_join_groups": False, "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }}

    async def _m_setWebhook(self, params: dict[str, Any]) -> tuple[int, Any]:
        url = params.get("url", "")
        secret = params.get("secret_token")
        if secret is not None and not (1 <= len(str(secret)) <= 256 and set(str(secret)) <= _SECRET_CHARS):
            return 400, _error(400, "Bad Request: secret token contains unallowed characters")
        if not url:
            return await self._m_deleteWebhook(params)
        if not str(url).startswith("https://"):
            return 400, _error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = dict(params)
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return 200, {"ok": True, "result": True, "description": "Webhook was set"}

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> tuple[int, Any]:
        was_set = self.webhook is not None
        self.webhook = None
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return 200, {"ok": True, "result": True,
                     "description": "Webhook was deleted" if was_set else "Webhook is already deleted"}

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> tuple[int, Any]:
        info = {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}
        return 200, {"ok": True, "result": info}

    async def _m_getUpdates(self, params: dict[str, Any]) -> tuple[int, Any]:
        if self.webhook is not None:
            return 409, _error(409, "Conflict: can't use getUpdates method while webhook is active; "
                                    "use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = float(params.get("timeout") or 0)
        self._confirm(offset)
        if not self._updates and timeout > 0:
            self._new_update = asyncio.Event()
            await self._wait_update(timeout)
            self._confirm(offset)
        with self._lock:
            batch = list(self._updates)[:limit]
        return 200, {"ok": True, "result": batch}

    def _confirm(self, offset: int) -> None:
        # "An update is considered confirmed as soon as getUpdates is called with an offset
        # higher than its update_id."
        with self._lock:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()

    async def _wait_update(self, timeout: float) -> None:
        assert self._new_update is not None and self._closing is not None
        waiters = {asyncio.ensure_future(self._new_update.wait()), asyncio.ensure_future(self._closing.wait())}
        _, pending = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()

    async def _m_sendMessage(self, params: dict[str, Any]) -> tuple[int, Any]:
        chat_id = params.get("chat_id")
        text = params.get("text")
        if not isinstance(chat_id, int):
            return 400, _error(400, "Bad Request: chat not found")
        if text is None or str(text) == "":
            return 400, _error(400, "Bad Request: message text is empty")
        text = str(text)
        if len(text) > 4096:
            return 400, _error(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        if markup is not None:
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if len(str(button.get("callback_data", "")).encode()) > 64:
                        return 400, _error(400, "Bad Request: BUTTON_DATA_INVALID")
        with self._lock:
            message_id = self._message_ids.get(chat_id, 100) + 1
            self._message_ids[chat_id] = message_id
            message: dict[str, Any] = {
                "message_id": message_id,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Check-ins", "username": BOT_USERNAME},
                "chat": private_chat(chat_id),
                "date": int(time.time()),
                "text": text,
            }
            if markup is not None:
                message["reply_markup"] = markup
            self._messages[(chat_id, message_id)] = message
            self.sent.append({**params, "message_id": message_id})
        return 200, {"ok": True, "result": message}

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> tuple[int, Any]:
        if not params.get("callback_query_id"):
            return 400, _error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self.answered_queries.append(params)
        return 200, {"ok": True, "result": True}

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> tuple[int, Any]:
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        message = self._messages.get((chat_id, message_id)) if isinstance(chat_id, int) and isinstance(message_id, int) else None
        if message is None:
            return 400, _error(400, "Bad Request: message to edit not found")
        markup = params.get("reply_markup")
        if not markup or not markup.get("inline_keyboard"):
            if "reply_markup" not in message:
                return 400, _error(400, "Bad Request: message is not modified")
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        self.edited_markups.append(params)
        return 200, {"ok": True, "result": message}
