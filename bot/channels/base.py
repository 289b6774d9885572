"""The Channel interface. Vendor types never leave their adapter module."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

ChannelName = Literal["sms", "telegram", "console", "email"]

# Delivery statuses in the order a message moves through them; a later callback never moves a
# message backwards (callbacks arrive out of order).
STATUS_RANK: dict[str, int] = {
    "pending": 0,
    "sending": 1,
    "accepted": 2,
    "queued": 3,
    "scheduled": 3,
    "sent": 4,
    "delivered": 5,
    "read": 6,
    "undelivered": 5,
    "failed": 5,
    "canceled": 5,
}
TERMINAL_STATUSES = frozenset({"delivered", "read", "undelivered", "failed", "canceled"})


def status_moves_forward(current: str, new: str) -> bool:
    """Whether a status callback may replace `current` with `new`."""
    if current in TERMINAL_STATUSES and new != "read":
        return False
    return STATUS_RANK.get(new, 0) > STATUS_RANK.get(current, 0)


@dataclass(frozen=True)
class Button:
    """A quick-reply button (Telegram inline keyboard); `value` is what a typed answer would be."""

    label: str
    value: str


@dataclass(frozen=True)
class OutboundText:
    """A text to send to one address on one channel."""

    address: str
    text: str
    buttons: tuple[Button, ...] = ()
    validity_seconds: int | None = None


@dataclass(frozen=True)
class SendReceipt:
    provider_id: str
    status: str = "sent"
    segments: int = 1


class SendError(Exception):
    """A send that did not reach the provider; `code` is the provider's error code if any."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransientSendError(SendError):
    """Try again later (rate limit, 5xx, timeout). `retry_after` in seconds if the provider said."""

    def __init__(self, message: str, code: str | None = None, retry_after: float | None = None,
                 *, uncertain: bool = False):
        super().__init__(message, code)
        self.retry_after = retry_after
        # The request may have reached the provider and been accepted (it answered too slowly):
        # trying again may deliver a second copy, so the sender re-sends only within a window.
        self.uncertain = uncertain


class RateLimitedError(TransientSendError):
    """Held back by a rate limit (ours or the provider's 429): not a failed attempt, just "not yet".

    A sender loop should re-queue the message for `retry_after` seconds without counting it
    towards the attempts that make a message fail.
    """


class PermanentSendError(SendError):
    """Will never succeed as sent. `unreachable` means the person opted out or blocked us."""

    def __init__(self, message: str, code: str | None = None, unreachable: bool = False):
        super().__init__(message, code)
        self.unreachable = unreachable


@dataclass(frozen=True)
class InboundMessage:
    """A message from a person, as parsed from a provider request."""

    channel: ChannelName
    provider_id: str
    address: str  # E.164 phone for SMS, chat id for Telegram
    text: str
    received_at: datetime | None = None
    callback_data: str | None = None  # a button the person pressed
    raw_segments: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery status callback for a message we sent."""

    channel: ChannelName
    provider_id: str
    status: str
    error_code: str | None = None
    unreachable: bool = False  # the error code says the person opted out / blocked us


class MalformedRequest(ValueError):
    """A provider request or update that cannot be understood (a bad form, missing fields)."""


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with what no database can hold (NUL, lone surrogates) replaced by U+FFFD.

    A person's words are kept, never refused: PostgreSQL rejects NUL in text and no driver can
    encode a lone surrogate, so either would turn a message into a server error.
    """
    return _UNSTORABLE.sub("\ufffd", text)


class Channel(Protocol):
    """Send text and understand what comes back. One implementation per provider."""

    name: ChannelName

    async def send(self, message: OutboundText) -> SendReceipt:
        """Hand `message` to the provider; raise TransientSendError or PermanentSendError."""
        ...
