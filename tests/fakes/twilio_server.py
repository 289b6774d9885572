"""A fake Twilio REST API (Messages) on 127.0.0.1, plus helpers to post Twilio-signed webhooks.

Usage:
    with FakeTwilio() as fake:
        channel = TwilioSmsChannel(fake.account_sid, fake.auth_token, from_number=fake.from_number,
                                   api_base_url=fake.url)
        fake.fail_next(TwilioFault.rate_limited(retry_after=3))
        fake.fail_recipient("+447700900123", TwilioFault.unsubscribed())
        ...
        fake.messages  # every message Twilio accepted, as parsed form fields + "Sid"
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections import deque
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from tests.fakes.server import Fault, FakeProviderServer, RecordedRequest
from tests.waiting import PATIENCE

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
FROM_NUMBER = "+447700900001"
MESSAGING_SERVICE_SID = "MG" + "fedcba9876543210" * 2
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)


def _error_body(code: int, message: str, status: int) -> dict[str, Any]:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


class TwilioFault:
    """Ready-made faults with the bodies Twilio really sends."""

    @staticmethod
    def error(code: int, message: str = "Error", status: int = 400) -> Fault:
        return Fault(status=status, body=_error_body(code, message, status))

    @staticmethod
    def unsubscribed() -> Fault:
        return TwilioFault.error(21610, "Attempt to send to unsubscribed recipient")

    @staticmethod
    def not_mobile() -> Fault:
        return TwilioFault.error(21614, "'To' number is not a valid mobile number")

    @staticmethod
    def rate_limited(retry_after: int | None = 1) -> Fault:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return Fault(status=429, body=_error_body(20429, "Too Many Requests", 429), headers=headers)

    @staticmethod
    def server_error(status: int = 503) -> Fault:
        return Fault(status=status, body=_error_body(20500, "An internal server error has occurred", status))

    @staticmethod
    def slow(seconds: float) -> Fault:
        """Answer normally, but only after `seconds` (longer than the client's timeout)."""
        return Fault(delay=seconds)


def _segments(body: str) -> int:
    # Independent of bot.gsm7 on purpose: the fake must not agree with the code by construction.
    if all(ch in _GSM_BASIC for ch in body):
        septets = sum(2 if ch in "^{}\\[~]|€" else 1 for ch in body)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


class FakeTwilio(FakeProviderServer):
    """Fake `POST /2010-04-01/Accounts/{sid}/Messages.json` (and GET of one message)."""

    def __init__(
        self,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        from_number: str = FROM_NUMBER,
        messaging_service_sid: str = MESSAGING_SERVICE_SID,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.messages: list[dict[str, str]] = []
        self.peers: list[tuple[str, int]] = []  # the client's (host, port) of each create: its connection
        self._by_sid: dict[str, dict[str, Any]] = {}
        self._next_faults: deque[Fault] = deque()
        self._recipient_faults: dict[str, Fault] = {}
        self._counter = 0
        super().__init__()

    def routes(self) -> list[Any]:
        return [
            Route("/2010-04-01/Accounts/{account}/Messages.json", self._create, methods=["POST"]),
            Route("/2010-04-01/Accounts/{account}/Messages/{sid}.json", self._fetch, methods=["GET"]),
        ]

    # --- knobs ---------------------------------------------------------------------------------

    def fail_next(self, *faults: Fault) -> None:
        """The next create requests get these faults, one each, in order."""
        with self._lock:
            self._next_faults.extend(faults)

    def fail_recipient(self, to: str, fault: Fault | None) -> None:
        """Every send to `to` gets `fault` until cleared with None (e.g. an opted-out number)."""
        with self._lock:
            if fault is None:
                self._recipient_faults.pop(to, None)
            else:
                self._recipient_faults[to] = fault

    def message(self, sid: str) -> dict[str, Any]:
        """The API resource of a created message."""
        return self._by_sid[sid]

    def status_callback_form(self, sid: str, status: str, error_code: int | None = None) -> dict[str, str]:
        """The form Twilio posts to a message's StatusCallback when it reaches `status`."""
        msg = self._by_sid[sid]
        form = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": msg["from"] or self.from_number,
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": msg["to"],
        }
        if msg.get("messaging_service_sid"):
            form["MessagingServiceSid"] = msg["messaging_service_sid"]
        if error_code is not None:
            form["ErrorCode"] = str(error_code)
        return form

    # --- handlers ------------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.account_sid and password == self.auth_token

    async def _create(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        if request.client is not None:
            with self._lock:
                self.peers.append((request.client.host, request.client.port))
        response = await self._answer_create(request, form)
        self._record(RecordedRequest(request.method, request.url.path, form, dict(request.headers), response.status_code))
        return response

    async def _answer_create(self, request: Request, form: dict[str, str]) -> Response:
        if not self._authorised(request) or request.path_params["account"] != self.account_sid:
            return JSONResponse(_error_body(20003, "Authenticate", 401), status_code=401)
        to = form.get("To", "")
        with self._lock:
            fault = self._recipient_faults.get(to) or (self._next_faults.popleft() if self._next_faults else None)
        if fault is not None:
            await self._hold(fault.delay)
            if fault.status is not None:
                return JSONResponse(fault.body, status_code=fault.status, headers=fault.headers)
        body = form.get("Body", "")
        if not to:
            return JSONResponse(_error_body(21604, "A 'To' phone number is required.", 400), status_code=400)
        if not _E164.match(to):
            return JSONResponse(_error_body(21211, f"Invalid 'To' Phone Number: {to}", 400), status_code=400)
        if not body:
            return JSONResponse(_error_body(21602, "Message body is required.", 400), status_code=400)
        if len(body) > 1600:
            return JSONResponse(
                _error_body(21617, "The concatenated message body exceeds the 1600 character limit.", 400),
                status_code=400,
            )
        service = form.get("MessagingServiceSid")
        if not form.get("From") and not service:
            return JSONResponse(_error_body(21603, "A 'From' phone number is required.", 400), status_code=400)
        validity = form.get("ValidityPeriod")
        if validity is not None and not (validity.isdigit() and 1 <= int(validity) <= 36000):
            return JSONResponse(_error_body(21623, "Invalid ValidityPeriod", 400), status_code=400)
        with self._lock:
            self._counter += 1
            sid = f"SM{self._counter:032x}"
        now = format_datetime(datetime.now(UTC), usegmt=False)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        resource: dict[str, Any] = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": to,
            "uri": uri,
        }
        with self._lock:
            self._by_sid[sid] = resource
            self.messages.append({**form, "Sid": sid})
        return JSONResponse(resource, status_code=201)

    async def _fetch(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse(_error_body(20003, "Authenticate", 401), status_code=401)
        resource = self._by_sid.get(request.path_params["sid"])
        if resource is None:
            return JSONResponse(_error_body(20404, "The requested resource was not found", 404), status_code=404)
        return JSONResponse(resource)


# --- webhooks Twilio sends to us --------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature for a POST of `params` to `url`, as Twilio computes it."""
    return RequestValidator(auth_token).compute_signature(url, params)


def post_twilio_webhook(
    url: str,
    params: dict[str, str],
    auth_token: str = AUTH_TOKEN,
    *,
    public_url: str | None = None,
    signature: str | None = "sign",
    timeout: float = PATIENCE,
) -> httpx.Response:
    """POST `params` form-encoded to `url`, signed as Twilio signs a call to `public_url`.

    `public_url` (default `url`) is the address Twilio believes it called, e.g. the public
    https URL in front of a reverse proxy. `signature=None` sends no signature header; any other
    string than "sign" is sent as is (a forged signature).
    """
    headers = {"User-Agent": "TwilioProxy/1.1"}
    if signature == "sign":
        headers["X-Twilio-Signature"] = twilio_signature(auth_token, public_url or url, params)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    with httpx.Client(trust_env=False, timeout=timeout) as client:
        return client.post(url, data=params, headers=headers)


def inbound_sms_form(
    from_: str,
    body: str,
    *,
    to: str = FROM_NUMBER,
    message_sid: str | None = None,
    account_sid: str = ACCOUNT_SID,
    num_segments: int = 1,
) -> dict[str, str]:
    """An inbound-SMS webhook form with every field Twilio sends for a UK number."""
    sid = message_sid or "SM" + hashlib.sha256(f"{from_}|{body}".encode()).hexdigest()[:32]
    return {
        "ToCountry": "GB", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "",
        "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "",
        "Body": body, "FromCountry": "GB", "To": to, "ToZip": "", "NumSegments": str(num_segments),
        "MessageSid": sid, "AccountSid": account_sid, "From": from_, "ApiVersion": "2010-04-01",
    }
