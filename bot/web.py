"""The webhook app: inbound SMS, SMS delivery status, Telegram updates, health.

Every inbound request is authenticated first (Twilio signature / Telegram secret header), stored
durably through the InboundSink, and answered at once; replies go out through the outbox later,
never in the webhook response. Message content is never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Lifespan

from bot.channels.base import InboundMessage, MalformedRequest, StatusUpdate
from bot.channels.telegram import parse_update
from bot.channels.twilio_sms import parse_inbound_sms, parse_status_callback, verify_twilio_signature

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


class InboundSink(Protocol):
    """Where the webhooks put what they receive (the database, in the service)."""

    async def store_inbound(self, message: InboundMessage) -> bool:
        """Store durably (committed on return). True if new, False if the provider id was seen."""
        ...

    async def store_status(self, update: StatusUpdate) -> None:
        """Record a delivery status callback."""
        ...


@dataclass(frozen=True)
class WebSettings:
    public_base_url: str  # e.g. https://bot.example.org, the address providers call
    twilio_auth_token: str | None  # None: the Twilio routes answer 404
    telegram_secret_token: str | None  # None: the Telegram webhook answers 404 (use polling)
    max_body_bytes: int = 64_000


class _BadForm(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def public_url(base_url: str, request: Request) -> str:
    """The URL the provider called, rebuilt from the configured public base.

    Behind a reverse proxy the app sees http://10.0.0.5:8000/...; Twilio signed
    https://bot.example.org/...: so take the base from config and keep path and query exactly
    as received (no decoding, no reordering).
    """
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return base_url.rstrip("/") + path + (f"?{query}" if query else "")


async def _form(request: Request) -> ImmutableMultiDict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise _BadForm(400, "expected a form")
    body = await request.body()  # the app-wide body limit answers 413 while reading
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body), errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        raise _BadForm(400, "malformed form") from None
    return ImmutableMultiDict(pairs)


def _twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="text/xml")


Readiness = Callable[[], Awaitable[tuple[bool, dict[str, str]]]]


def create_app(
    settings: WebSettings, sink: InboundSink, *, lifespan: Lifespan[Starlette] | None = None,
    readiness: Readiness | None = None,
    mounts: Sequence[BaseRoute] = (),
) -> Starlette:
    """The ASGI app; `lifespan` lets the service start its loops alongside it, `readiness`
    answers /readyz (each check's name and "ok" or what is wrong), and `mounts` adds other apps
    beside the webhooks (the staff app under /staff)."""

    async def twilio_authenticated(
        request: Request, handle: Callable[[ImmutableMultiDict[str, str]], Awaitable[None]]
    ) -> Response:
        token = settings.twilio_auth_token
        if not token:
            return PlainTextResponse("Not Found", status_code=404)
        signature = request.headers.get("x-twilio-signature")
        if not signature:
            log.warning("Twilio webhook without a signature on %s", request.url.path)
            return PlainTextResponse("Forbidden", status_code=403)
        try:
            form = await _form(request)
        except _BadForm as exc:
            return PlainTextResponse(str(exc), status_code=exc.status)
        if not verify_twilio_signature(token, public_url(settings.public_base_url, request), form, signature):
            log.warning("Twilio webhook with a bad signature on %s", request.url.path)
            return PlainTextResponse("Forbidden", status_code=403)
        try:
            await handle(form)
        except MalformedRequest as exc:
            return PlainTextResponse(f"Bad Request: {exc}", status_code=400)
        return _twiml()

    async def twilio_sms(request: Request) -> Response:
        async def handle(form: ImmutableMultiDict[str, str]) -> None:
            message = parse_inbound_sms(form)
            if not await sink.store_inbound(message):
                log.info("duplicate SMS delivery %s ignored", message.provider_id)

        return await twilio_authenticated(request, handle)

    async def twilio_status(request: Request) -> Response:
        async def handle(form: ImmutableMultiDict[str, str]) -> None:
            await sink.store_status(parse_status_callback(form))

        return await twilio_authenticated(request, handle)

    async def telegram_webhook(request: Request) -> Response:
        secret = settings.telegram_secret_token
        if not secret:
            return PlainTextResponse("Not Found", status_code=404)
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("Telegram webhook with a missing or wrong secret token")
            return PlainTextResponse("Forbidden", status_code=403)
        try:
            data = json.loads(await request.body())
        except (UnicodeDecodeError, ValueError):
            return PlainTextResponse("Bad Request: malformed JSON", status_code=400)
        except RecursionError:  # the parser recurses once per level: no update is this deep
            return PlainTextResponse("Bad Request: JSON nested too deeply", status_code=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return PlainTextResponse("Bad Request: not an update", status_code=400)
        try:
            message = parse_update(data)
        except MalformedRequest as exc:
            # Authenticated, so it came from Telegram: answering non-2xx would make Telegram
            # resend it and hold back every later update.
            log.warning("ignoring malformed Telegram update %s: %s", data["update_id"], exc)
            return Response(status_code=200)
        if message is not None and not await sink.store_inbound(message):
            log.info("duplicate Telegram update %s ignored", message.provider_id)
        return Response(status_code=200)

    async def healthz(request: Request) -> Response:
        """The process is alive and answering (for a supervisor that restarts it)."""
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        """Ready for traffic: the database answers and the loops have run recently (for a load
        balancer or an uptime monitor). 503 names what is wrong."""
        ready, checks = (True, {}) if readiness is None else await readiness()
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                            status_code=200 if ready else 503)

    routes = [
        Route("/twilio/sms", twilio_sms, methods=["POST"]),
        Route("/twilio/status", twilio_status, methods=["POST"]),
        Route("/telegram/webhook", telegram_webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *mounts,
    ]
    return Starlette(routes=routes, lifespan=lifespan, max_body_size=settings.max_body_bytes)
