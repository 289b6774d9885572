"""SMS through Twilio: send with the real twilio client, understand Twilio's webhooks.

Twilio types (Client, TwilioRestException) never leave this module: callers see OutboundText,
SendReceipt, the SendError family, InboundMessage and StatusUpdate from bot.channels.base.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.base import (
    ChannelName,
    InboundMessage,
    MalformedRequest,
    OutboundText,
    PermanentSendError,
    RateLimitedError,
    SendReceipt,
    StatusUpdate,
    TransientSendError,
    storable_text,
)
from bot.channels.ratelimit import Rate, Throttle
from bot.clock import Clock, SystemClock
from bot.gsm7 import segment_count, to_gsm7

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.twilio.com"
MAX_VALIDITY_SECONDS = 36_000  # Twilio's maximum and default queue time

OPTED_OUT_CODES = frozenset({21610})  # "Attempt to send to unsubscribed recipient"
# Codes Twilio returns for a full queue or too many requests: the message itself is fine.
THROTTLE_CODES = frozenset({20429, 21611, 30001})
# Error codes that mean "try later" even when they arrive with a 4xx status.
TRANSIENT_CODES = THROTTLE_CODES | frozenset({20500, 20503})

_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
_STATUS = re.compile(r"^[a-z_]{1,40}$")
# A number (E.164, "whatsapp:+44...") or an alphanumeric sender id: printable, and short
# enough for the address column.
_ADDRESS = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,63}")
_ERROR_CODE = re.compile(r"[0-9]{1,10}")
_MAX_SEGMENTS = 100  # Twilio's 1,600-character cap is at most 24 segments

# Response headers of the request in flight, per task, so concurrent sends don't mix up their
# Retry-After values (TwilioRestException does not carry headers).
_response_headers: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("twilio_headers")


class _AiohttpTwilioClient(AsyncHttpClient):  # type: ignore[misc]  # twilio ships no types
    """twilio's async transport on aiohttp (as twilio's own AsyncTwilioHttpClient), with
    enforced timeouts and one pooled keep-alive session per event loop.

    twilio's own client ignores its `timeout` argument; this makes a slow provider a
    TransientSendError instead of a hung sender loop. aiohttp rather than httpx: httpx's
    connection pool costs 1.6 ms of CPU a send at 16-32 sends in flight (it checks every pooled
    connection for every request), aiohttp's 0.3 ms (`benchmarks/twilio_send_cpu.py`).
    """

    def __init__(self, timeout: float) -> None:
        super().__init__(logger=log, is_async=True, timeout=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _session_here(self) -> aiohttp.ClientSession:
        """This loop's session: tests and the CLI run one channel under several asyncio.run()s,
        and an aiohttp session belongs to the loop it was made in."""
        loop = asyncio.get_running_loop()
        if self._session is not None and (self._loop is not loop or self._session.closed):
            old, old_loop = self._session, self._loop
            self._session = None
            if old_loop is None or old_loop.is_closed():
                await old.close()  # its connections died with their loop: this only marks it
            elif old_loop.is_running():
                asyncio.run_coroutine_threadsafe(old.close(), old_loop)
        if self._session is None:
            # trust_env: HTTPS_PROXY is honoured, like twilio's and httpx's own clients.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=POOL_CONNECTIONS), trust_env=True,
                auto_decompress=True, raise_for_status=False)
            self._loop = loop
        return self._session

    async def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        seconds = timeout or self.timeout
        sent = dict(headers or {})
        if auth is not None:
            sent["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        session = await self._session_here()
        # connect covers waiting for a pooled connection and opening one; sock_read an answer
        # that stops coming; total bounds a provider that trickles.
        limits = aiohttp.ClientTimeout(total=3 * seconds, connect=seconds, sock_read=seconds)
        async with session.request(method.upper(), uri, params=_pairs(params), data=_pairs(data),
                                   headers=sent, timeout=limits, allow_redirects=allow_redirects) as response:
            text = await response.text()
        holder = _response_headers.get(None)
        if holder is not None:
            holder.update({k.lower(): v for k, v in response.headers.items()})
        return TwilioResponse(response.status, text, response.headers)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and self._loop is not None and not self._loop.is_closed():
            await session.close()


POOL_CONNECTIONS = 64  # keep-alive connections to Twilio at most; the outbox's gate is 32


def _pairs(values: dict[str, object] | None) -> list[tuple[str, str]] | None:
    """Form or query fields as pairs, a list value repeated (Twilio's MediaUrl), None left out."""
    if not values:
        return None
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        for one in value if isinstance(value, (list, tuple)) else [value]:
            if one is not None:
                pairs.append((key, str(one)))
    return pairs


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A Retry-After header (seconds or an HTTP date) as seconds from `now`; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def classify_twilio_error(
    status: int | None, code: int | None, message: str, retry_after: float | None = None
) -> TransientSendError | PermanentSendError:
    """Map an HTTP status and Twilio error code to our send error.

    429, 5xx and queue-overflow codes are worth retrying; 21610 means the person texted STOP;
    any other 4xx will fail the same way again.
    """
    code_text = str(code) if code is not None else (str(status) if status is not None else None)
    if status == 429 or code in THROTTLE_CODES:
        return RateLimitedError(message, code=code_text, retry_after=retry_after)
    if status is None or status >= 500 or code in TRANSIENT_CODES:
        return TransientSendError(message, code=code_text, retry_after=retry_after)
    return PermanentSendError(message, code=code_text, unreachable=code in OPTED_OUT_CODES)


class TwilioSmsChannel:
    """Sends SMS through Twilio's Messages API."""

    name: ChannelName = "sms"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        api_base_url: str = DEFAULT_API_BASE_URL,
        status_callback_url: str | None = None,
        validity_seconds: int | None = MAX_VALIDITY_SECONDS,
        timeout: float = 10.0,
        messages_per_second: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        """`messages_per_second` is the sender's throughput in segments (Twilio counts segments);
        None leaves throttling to Twilio's queue."""
        if not (from_number or messaging_service_sid):
            raise ValueError("TwilioSmsChannel needs from_number or messaging_service_sid")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback_url = status_callback_url
        self.validity_seconds = validity_seconds
        self.clock: Clock = clock or SystemClock()
        self._http = _AiohttpTwilioClient(timeout=timeout)
        # environment={} keeps TWILIO_REGION / TWILIO_EDGE from rewriting the API host.
        self._client = Client(account_sid, auth_token, http_client=self._http, environment={})
        self._client.api.base_url = api_base_url.rstrip("/")
        self._throttle = Throttle(
            overall=Rate(messages_per_second, burst=max(1.0, messages_per_second))
            if messages_per_second
            else None
        )

    async def send(self, message: OutboundText) -> SendReceipt:
        """Send `message.text`, shaped into GSM-7, to the E.164 number `message.address`."""
        body = to_gsm7(message.text)
        if not body.strip():
            raise PermanentSendError("nothing left to send after GSM-7 shaping", code="21602")
        segments = segment_count(body)
        wait = self._throttle.acquire(self.clock.now().timestamp(), cost=segments)
        if wait > 0:
            raise RateLimitedError("sender throughput limit", code="throttled", retry_after=wait)

        params: dict[str, Any] = {"to": message.address, "body": body}
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        else:
            params["from_"] = self.from_number
        if self.status_callback_url:
            params["status_callback"] = self.status_callback_url
        validity = message.validity_seconds or self.validity_seconds
        if validity is not None:
            params["validity_period"] = min(MAX_VALIDITY_SECONDS, max(1, int(validity)))

        headers: dict[str, str] = {}
        token = _response_headers.set(headers)
        try:
            created = await self._client.messages.create_async(**params)
        except (TwilioRestException, TwilioServiceException) as exc:
            code = exc.code if isinstance(exc.code, int) else None
            text = exc.msg if isinstance(exc, TwilioRestException) else str(exc.title)
            after = retry_after_seconds(headers.get("retry-after"), self.clock.now())
            raise classify_twilio_error(exc.status, code, text, after) from None
        except aiohttp.ConnectionTimeoutError:  # the request never left: safe to try again
            raise TransientSendError("cannot reach Twilio: ConnectTimeout", code="network") from None
        except TimeoutError:  # asked, and no answer in time: it may have been accepted
            raise TransientSendError("Twilio did not answer in time", code="timeout",
                                     uncertain=True) from None
        except aiohttp.ClientError as exc:  # the type only: a message may hold the URL
            raise TransientSendError(f"cannot reach Twilio: {type(exc).__name__}", code="network") from None
        finally:
            _response_headers.reset(token)
        return SendReceipt(provider_id=str(created.sid), status=str(created.status or "queued"), segments=segments)

    async def close(self) -> None:
        """Close the HTTP connections (call once, on shutdown)."""
        await self._http.close()


# --- webhooks ----------------------------------------------------------------------------------


def verify_twilio_signature(
    auth_token: str, public_url: str, params: Mapping[str, Any], signature: str | None
) -> bool:
    """Whether `signature` (X-Twilio-Signature) signs `public_url` + `params` with `auth_token`.

    `public_url` must be the exact URL Twilio called (public base + path + raw query string).
    `params` may be a multidict; every received parameter must be passed.
    """
    if not signature or not auth_token:
        return False
    return bool(RequestValidator(auth_token).validate(public_url, params, signature))


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if value is None or not str(value).strip():
        raise MalformedRequest(f"missing {name}")
    return str(value)


def _sid(form: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = form.get(name)
        if value:
            if not _SID.fullmatch(value):
                raise MalformedRequest(f"{name} is not a Twilio SID")
            return value
    raise MalformedRequest(f"missing {names[0]}")


def parse_inbound_sms(form: Mapping[str, str]) -> InboundMessage:
    """An incoming SMS webhook as an InboundMessage. Raises MalformedRequest (a ValueError).

    Only what the service needs is kept: Twilio's geo fields (FromCity, FromZip...) are dropped.
    """
    sid = _sid(form, "MessageSid", "SmsMessageSid", "SmsSid")
    sender = _required(form, "From").strip()
    if not _ADDRESS.fullmatch(sender):
        raise MalformedRequest("From is not a phone number or sender id")
    segments: int | None = None
    if form.get("NumSegments"):
        raw = form["NumSegments"].strip()
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and 0 < int(raw) <= _MAX_SEGMENTS):
            raise MalformedRequest(f"NumSegments is not a number from 1 to {_MAX_SEGMENTS}")
        segments = int(raw)
    extra = {k: str(form[k]) for k in ("To", "OptOutType", "NumMedia") if form.get(k)}
    return InboundMessage(
        channel="sms",
        provider_id=sid,
        address=sender,
        text=storable_text(str(form.get("Body") or "")),
        raw_segments=segments,
        extra=extra,
    )


def parse_status_callback(form: Mapping[str, str]) -> StatusUpdate:
    """A delivery status callback as a StatusUpdate. Raises MalformedRequest (a ValueError).

    Statuses Twilio may add later pass through; status_moves_forward() ranks unknown ones lowest.
    """
    sid = _sid(form, "MessageSid", "SmsSid")
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    if not _STATUS.match(status):
        raise MalformedRequest("missing or odd MessageStatus")
    error_code = (form.get("ErrorCode") or "").strip() or None
    if error_code is not None and not _ERROR_CODE.fullmatch(error_code):
        raise MalformedRequest("ErrorCode is not a Twilio error number")
    unreachable = error_code is not None and error_code.isdigit() and int(error_code) in OPTED_OUT_CODES
    return StatusUpdate(
        channel="sms", provider_id=sid, status=status, error_code=error_code, unreachable=unreachable
    )
