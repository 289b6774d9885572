"""Logs: a whole run at DEBUG over both channels writes no secret, number, name or message.

The real service against the fake Twilio and Telegram servers (real twilio and
python-telegram-bot clients over HTTP on 127.0.0.1), logging configured by bot.logs at DEBUG
into a buffer: sign-up, a Telegram link, a check-in, a crisis message, the mentor's alert and
acknowledgement, status callbacks, a stranger, a forged request, a failing send.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from bot.clock import ManualClock
from bot.logs import LIBRARY_FLOORS, UVICORN_LOGGERS, RedactingFilter, configure, redact
from tests.bot.service.channels_stack import (  # noqa: F401 - make_stack is a fixture
    ANSWERS,
    MENTEE_CHAT,
    MENTEE_PHONE,
    MENTOR_PHONE,
    PLAN,
    SECRET,
    STRANGER_CHAT,
    STRANGER_PHONE,
    SUPERVISOR_PHONE,
    StackFactory,
    london,
    make_stack,
)
from tests.fakes.telegram_server import start_update, text_update

CRISIS = "Got a rope and im doing it tonight, ive had enough"
STRANGER_WORDS = "hello is this the council housing line"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the process's logging back as it was (the test sets it to DEBUG)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    names = [*LIBRARY_FLOORS, *UVICORN_LOGGERS]
    saved = {n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers),
                 logging.getLogger(n).propagate) for n in names}
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    for name, (old_level, old_handlers, old_propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(old_level)
        logger.handlers[:] = old_handlers
        logger.propagate = old_propagate
    logging.captureWarnings(False)


def _forms(number: str) -> list[str]:
    """A phone number as it might be written: +447700900123, 447700900123, 07700900123, 7700 900123."""
    digits = number.lstrip("+")
    national = "0" + digits[2:]
    return [number, digits, national, f"{national[:5]} {national[5:]}", quote(number)]


def test_a_full_run_at_debug_logs_no_secret_number_name_or_words(
        make_stack: StackFactory, clock: ManualClock, restore_logging: None) -> None:
    stack = make_stack()
    buffer = io.StringIO()
    configure(stack.config, level="debug", stream=buffer)
    updates = iter(range(900_001, 900_100))

    # Sign-up: staff and a mentee with both channels; the mentee links Telegram.
    sam = stack.add_people(preferred="telegram")
    assert stack.telegram_post(start_update(next(updates), MENTEE_CHAT, stack.link_code(sam))).status_code == 200
    stack.settle()

    # A check-in over Telegram, answered by typing.
    clock.set(london(2026, 3, 10, 11, 0))
    stack.settle()
    for key in ("mood", "sleep", "safe_place", "safe_home", "anything_else"):
        clock.advance(minutes=2)
        assert stack.telegram_post(text_update(next(updates), MENTEE_CHAT, ANSWERS[key])).status_code == 200
        stack.settle()

    # A crisis message by SMS: helplines to Sam, an alert to the mentor by SMS, who acknowledges.
    clock.advance(minutes=5)
    assert stack.sms(CRISIS).status_code == 200
    stack.settle()
    [alert] = stack.alerts(sam)
    for sent in list(stack.twilio.messages):
        stack.status(sent["Sid"], "delivered")
    clock.advance(minutes=3)
    assert stack.sms(f"ACK {alert.code}", sender=MENTOR_PHONE).status_code == 200
    stack.settle()
    assert stack.alerts(sam)[0].status == "acknowledged"

    # A stranger on each channel, a forged webhook, a wrong Telegram secret.
    assert stack.sms(STRANGER_WORDS, sender=STRANGER_PHONE).status_code == 200
    assert stack.telegram_post(text_update(next(updates), STRANGER_CHAT, STRANGER_WORDS)).status_code == 200
    assert stack.sms("forged", signature="Zm9yZ2Vk").status_code == 403
    assert stack.telegram_post(text_update(next(updates), MENTEE_CHAT, "x"), secret="wrong").status_code == 403
    stack.settle()

    logged = buffer.getvalue()
    assert "checkins" in logged or "bot." in logged  # our loggers did write at DEBUG/INFO/WARNING
    forbidden = {
        "Twilio auth token": stack.twilio.auth_token,
        "Telegram bot token": stack.telegram.token,
        "Telegram token's secret half": stack.telegram.token.split(":", 1)[1],
        "Telegram webhook secret": SECRET,
        "mentee chat id": str(MENTEE_CHAT),
        "stranger chat id": str(STRANGER_CHAT),
        "mentee's first name": "Sam",
        "mentee's last name": "Taylor",
        "mentor's name": "Dan Carter",
        "supervisor's name": "Priya Shah",
        "crisis words": "rope",
        "stranger's words": "council housing",
        "a question's words": "your check-in",
        "helpline reply": "Samaritans",
    }
    for who in (MENTEE_PHONE, MENTOR_PHONE, SUPERVISOR_PHONE, STRANGER_PHONE):
        for i, form in enumerate(_forms(who)):
            forbidden[f"phone {who} form {i}"] = form
    leaks = {what: value for what, value in forbidden.items() if value in logged}
    assert not leaks, f"leaked {sorted(leaks)} in:\n{logged[:3000]}"


def test_library_loggers_stay_quiet_even_at_debug(restore_logging: None) -> None:
    configure(level="debug", stream=io.StringIO())
    for name in ("httpx", "httpcore", "telegram", "twilio.http_client"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
    assert logging.getLogger("bot.service").isEnabledFor(logging.DEBUG)


def test_a_library_that_logs_a_token_url_anyway_is_redacted(restore_logging: None) -> None:
    buffer = io.StringIO()
    configure(level="debug", stream=buffer)
    logging.getLogger("httpx").warning(
        'HTTP Request: POST http://127.0.0.1:9/bot123456:AAF-secret_part_0123456789abc/sendMessage "HTTP/1.1 502"')
    assert "secret_part" not in buffer.getvalue()
    assert "/bot[token]/sendMessage" in buffer.getvalue()


def test_configured_secrets_are_blanked_in_messages_and_tracebacks(restore_logging: None) -> None:
    handler_filter = RedactingFilter(["s3cret-auth-token-value"])
    record = logging.LogRecord("bot.x", logging.ERROR, __file__, 1, "sending with %s", ("s3cret-auth-token-value",), None)
    try:
        raise RuntimeError("refused for s3cret-auth-token-value to +447700900123")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    handler_filter.filter(record)
    text = logging.Formatter().format(record)
    assert "s3cret" not in text and "+447700900123" not in text
    assert "sending with [secret]" in text


@pytest.mark.parametrize(("text", "expected"), [
    ("to +447700900123 now", "to [phone] now"),
    ("to +44 7700 900123.", "to [phone]."),
    ("ring 07700 900123", "ring [phone]"),
    ('"GET /healthz?to=%2B447700900123 HTTP/1.1" 200', '"GET /healthz?to=[phone] HTTP/1.1" 200'),
    ("chat 5550123 said", "chat [number] said"),
    ("mail dan.carter@example.org", "mail [email]"),
    ("postgresql://checkins:pa55@db/checkins", "postgresql://[secret]@db/checkins"),
    ("https://api.twilio.com/2010-04-01/Accounts/AC" + "a" * 32 + "/Messages.json",
     "https://api.twilio.com/2010-04-01/Accounts/AC[account]/Messages.json"),
    ("mentee 12, message 345, alert K7Q2 at 2026-03-10 10:30 on 127.0.0.1:8080",
     "mentee 12, message 345, alert K7Q2 at 2026-03-10 10:30 on 127.0.0.1:8080"),
])
def test_redact_blanks_numbers_emails_and_passwords_but_keeps_ids_dates_and_ports(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_an_unknown_log_level_in_config_is_one_line(tmp_path: object) -> None:
    from bot.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=r"\[service\] log_level: must be debug, info, warning or error"):
        load_config(None, {"CHECKINS_SERVICE_LOG_LEVEL": "loud"})


def test_uvicorns_access_log_goes_through_the_same_filter(restore_logging: None) -> None:
    """`checkins serve` runs uvicorn with log_config=None, so its loggers reach our handler."""
    import uvicorn

    uvicorn.Config(lambda *a: None, log_level="warning")  # uvicorn's own set-up, as a test server does
    buffer = io.StringIO()
    configure(level="info", stream=buffer)
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                                             "/healthz?to=%2B447700900123", "1.1", 200)
    assert 'uvicorn.access 127.0.0.1:5000 - "GET /healthz?to=[phone] HTTP/1.1" 200' in buffer.getvalue()
