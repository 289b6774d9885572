"""Shared pytest fixtures for the fake providers. Import into a conftest:

    from tests.fakes.fixtures import fake_telegram, fake_twilio  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.channels.telegram import TelegramChannel
from bot.channels.twilio_sms import TwilioSmsChannel
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.twilio_server import FakeTwilio


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """A running fake Twilio REST API; `.url` is its base URL."""
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A running fake Telegram Bot API; `.url` is its base URL, `.token` the bot token."""
    with FakeTelegram() as fake:
        yield fake


def twilio_channel_for(fake: FakeTwilio, **overrides: Any) -> TwilioSmsChannel:
    """A real TwilioSmsChannel pointed at `fake` (create it inside the test's event loop)."""
    options: dict[str, Any] = {"from_number": fake.from_number, "api_base_url": fake.url, "timeout": 2.0}
    options.update(overrides)
    return TwilioSmsChannel(fake.account_sid, fake.auth_token, **options)


def telegram_channel_for(fake: FakeTelegram, **overrides: Any) -> TelegramChannel:
    """A real TelegramChannel pointed at `fake` (create it inside the test's event loop)."""
    options: dict[str, Any] = {"api_base_url": fake.url, "timeout": 2.0}
    options.update(overrides)
    return TelegramChannel(fake.token, **options)
