"""Logging for the service and the command line, set up once: nothing secret or personal in it.

Two guards, because either alone leaks:
- Libraries that write what they send are held at WARNING whatever `[service] log_level` says:
  httpx logs every request URL at INFO, and the Telegram one carries the bot token
  (`/bot<token>/sendMessage`); PTB logs each call's parameters (chat id, text) at DEBUG; twilio
  logs the form it posts (To, Body) at INFO.
- A redacting filter on our handler rewrites every record, traceback included, before it is
  written: configured secrets by value, anything shaped like a bot token, a phone number, an
  email address or a password in a URL. It cannot recognise a name or a message body, so our own
  log lines carry ids (mentee 12, message 345), never names or words; tests hold them to that.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    from bot.config import Config

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# The least a library may log at, whatever the service's level (they log requests below this).
LIBRARY_FLOORS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "telegram": logging.WARNING,
    "twilio": logging.WARNING,
    "urllib3": logging.WARNING,
    "aiohttp": logging.WARNING,
    "hpack": logging.WARNING,
    "apscheduler": logging.WARNING,  # "Running job ..." every tick says nothing new
    "sqlalchemy": logging.WARNING,  # engine echo would print statements and their values
    "alembic": logging.WARNING,
    "multipart": logging.WARNING,
    "asyncio": logging.WARNING,
    "transitions": logging.WARNING,  # a line per state change: the turn logs what matters
    "uvicorn": logging.INFO,
}

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<=/bot)[^/\s]+(?=/)"), "[token]"),  # Bot API URLs: /bot<token>/method
    (re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}"), "[token]"),  # a bare Telegram bot token
    (re.compile(r"(?<=://)[^/\s:@]*:[^/\s@]*(?=@)"), "[secret]"),  # user:password@ in a URL
    (re.compile(r"\bAC[0-9a-fA-F]{32}\b"), "AC[account]"),  # Twilio account SID (in API URLs)
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # Phone numbers: E.164 (+447700900123), spaced (+44 7700 900123), national (07700 900123),
    # and long bare digit runs (Telegram chat ids identify a person as well as a number does).
    (re.compile(r"(?<![\w.:])\+\d[\d ()-]{6,18}\d(?!\w|\.\d)"), "[phone]"),
    (re.compile(r"(?i)%2B\d{7,15}(?!\d)"), "[phone]"),  # URL-encoded, e.g. in an access log
    (re.compile(r"(?<![\w.:])0\d{3,4}[ -]?\d{3}[ -]?\d{3,4}(?!\w|\.\d)"), "[phone]"),
    (re.compile(r"(?<![\w.:/-])\d{7,15}(?!\w|\.\d)"), "[number]"),
]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with secrets, tokens, phone numbers, emails and URL passwords blanked."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "[secret]")
        text = text.replace(quote(secret, safe=""), "[secret]")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, traceback and stack so no handler writes a secret."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if len(s) >= 4)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what can be kept
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def secrets_of(config: Config | None) -> list[str]:
    """Every secret the configuration holds (tokens, passwords, the database password)."""
    if config is None:
        return []
    found = [config.twilio.auth_token, config.telegram.token, config.telegram.secret_token,
             config.email.password]
    try:
        password = urlsplit(config.service.database_url).password
    except ValueError:
        password = None
    if password:
        found.append(password)
    return [s for s in found if s]


_HANDLER_NAME = "checkins"


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to `stream`, or to whatever sys.stderr is at the time (as logging's last resort)."""

    def __init__(self, stream: IO[str] | None) -> None:
        logging.Handler.__init__(self)
        self._fixed = stream

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return self._fixed if self._fixed is not None else sys.stderr


def configure(config: Config | None = None, *, level: str | None = None,
              stream: IO[str] | None = None) -> logging.Handler:
    """Set up logging (again, replacing what an earlier call set up); returns our handler.

    `level` defaults to `[service] log_level`; libraries never go below their floor.
    """
    name = (level or (config.service.log_level if config is not None else "warning")).lower()
    threshold = LEVELS[name]
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    handler = _Handler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter(secrets_of(config)))
    root.addHandler(handler)
    root.setLevel(threshold)
    for library, floor in LIBRARY_FLOORS.items():
        logging.getLogger(library).setLevel(max(floor, threshold))
    for name in UVICORN_LOGGERS:  # if uvicorn set up its own handlers earlier, ours replace them
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        if name != "uvicorn":  # the children follow the "uvicorn" floor set above
            uvicorn_logger.setLevel(logging.NOTSET)
    logging.captureWarnings(True)  # warnings pass through the same filter
    return handler
