"""TwilioSmsChannel against a fake Twilio REST API, and the pure Twilio webhook parsers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.channels.base import (
    MalformedRequest,
    OutboundText,
    PermanentSendError,
    RateLimitedError,
    SendReceipt,
    TransientSendError,
)
from bot.channels.twilio_sms import (
    TwilioSmsChannel,
    classify_twilio_error,
    parse_inbound_sms,
    parse_status_callback,
    retry_after_seconds,
    verify_twilio_signature,
)
from bot.clock import ManualClock
from tests.fakes.fixtures import fake_twilio, twilio_channel_for  # noqa: F401
from tests.fakes.server import Fault
from tests.fakes.twilio_server import AUTH_TOKEN, FakeTwilio, TwilioFault, inbound_sms_form, twilio_signature

MENTEE = "+447700900123"
T0 = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def send(fake: FakeTwilio, message: OutboundText, **options: object) -> SendReceipt:
    async def go() -> SendReceipt:
        channel = twilio_channel_for(fake, **options)
        try:
            return await channel.send(message)
        finally:
            await channel.close()

    return asyncio.run(go())


def send_error(fake: FakeTwilio, message: OutboundText, **options: object) -> Exception:
    with pytest.raises((TransientSendError, PermanentSendError)) as caught:
        send(fake, message, **options)
    return caught.value


# --- sending -----------------------------------------------------------------------------------


def test_a_sent_sms_reaches_twilio_with_sender_callback_and_validity_and_returns_the_sid(fake_twilio: FakeTwilio) -> None:
    receipt = send(
        fake_twilio, OutboundText(MENTEE, "Hi Sam, how are you today?"),
        status_callback_url="https://bot.example.org/twilio/status", validity_seconds=3600,
    )
    [sent] = fake_twilio.messages
    assert sent["To"] == MENTEE
    assert sent["From"] == fake_twilio.from_number
    assert sent["Body"] == "Hi Sam, how are you today?"
    assert sent["StatusCallback"] == "https://bot.example.org/twilio/status"
    assert sent["ValidityPeriod"] == "3600"
    assert receipt == SendReceipt(provider_id=sent["Sid"], status="queued", segments=1)


def test_a_messaging_service_sends_instead_of_a_single_number(fake_twilio: FakeTwilio) -> None:
    receipt = send(
        fake_twilio, OutboundText(MENTEE, "Hello"),
        from_number=None, messaging_service_sid=fake_twilio.messaging_service_sid,
    )
    [sent] = fake_twilio.messages
    assert sent["MessagingServiceSid"] == fake_twilio.messaging_service_sid
    assert "From" not in sent
    assert receipt.status == "accepted"


def test_a_message_validity_overrides_the_channel_default_and_is_capped_at_ten_hours(fake_twilio: FakeTwilio) -> None:
    send(fake_twilio, OutboundText(MENTEE, "one", validity_seconds=900), validity_seconds=3600)
    send(fake_twilio, OutboundText(MENTEE, "two", validity_seconds=100_000))
    assert [m["ValidityPeriod"] for m in fake_twilio.messages] == ["900", "36000"]


def test_curly_quotes_dashes_ellipses_and_emoji_are_replaced_so_the_sms_stays_gsm7(fake_twilio: FakeTwilio) -> None:
    receipt = send(fake_twilio, OutboundText(MENTEE, "“Thanks” — you’re doing well… 🙂"))
    [sent] = fake_twilio.messages
    assert sent["Body"] == "\"Thanks\" - you're doing well... :)"
    assert receipt.segments == 1
    assert fake_twilio.message(sent["Sid"])["num_segments"] == "1"


def test_segments_are_counted_as_twilio_counts_them(fake_twilio: FakeTwilio) -> None:
    text = " ".join(["word"] * 40)  # 199 GSM-7 characters: two 153-character segments
    receipt = send(fake_twilio, OutboundText(MENTEE, text))
    assert receipt.segments == 2
    assert fake_twilio.message(receipt.provider_id)["num_segments"] == "2"


def test_a_text_that_shapes_to_nothing_fails_permanently_without_calling_twilio(fake_twilio: FakeTwilio) -> None:
    error = send_error(fake_twilio, OutboundText(MENTEE, "👋 ✅"))
    assert isinstance(error, PermanentSendError)
    assert fake_twilio.requests == []


def test_twilio_429_is_a_rate_limit_carrying_retry_after(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(TwilioFault.rate_limited(retry_after=7))
    error = send_error(fake_twilio, OutboundText(MENTEE, "hi"))
    assert isinstance(error, RateLimitedError) and isinstance(error, TransientSendError)
    assert error.retry_after == 7.0
    assert error.code == "20429"


def test_a_retry_after_given_as_a_date_is_measured_from_the_injected_clock(fake_twilio: FakeTwilio) -> None:
    clock = ManualClock(T0)
    later = format_datetime(T0 + timedelta(seconds=30), usegmt=True)
    fake_twilio.fail_next(Fault(429, {"code": 20429, "message": "Too Many Requests", "status": 429}, {"Retry-After": later}))
    error = send_error(fake_twilio, OutboundText(MENTEE, "hi"), clock=clock)
    assert isinstance(error, TransientSendError) and error.retry_after == 30.0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_twilio_server_errors_are_transient(fake_twilio: FakeTwilio, status: int) -> None:
    fake_twilio.fail_next(TwilioFault.server_error(status))
    error = send_error(fake_twilio, OutboundText(MENTEE, "hi"))
    assert type(error) is TransientSendError


def test_a_slow_twilio_times_out_as_transient(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(TwilioFault.slow(30))
    error = send_error(fake_twilio, OutboundText(MENTEE, "hi"), timeout=0.2)
    assert type(error) is TransientSendError and error.code == "timeout"


def test_an_unreachable_twilio_is_transient() -> None:
    with FakeTwilio() as fake:
        closed_port_url = fake.url

    async def go() -> None:
        channel = TwilioSmsChannel(fake.account_sid, fake.auth_token, from_number=fake.from_number, api_base_url=closed_port_url)
        try:
            await channel.send(OutboundText(MENTEE, "hi"))
        finally:
            await channel.close()

    with pytest.raises(TransientSendError) as caught:
        asyncio.run(go())
    assert type(caught.value) is TransientSendError and caught.value.code == "network"


def test_a_full_sender_queue_is_a_rate_limit_not_a_failure(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(TwilioFault.error(21611, "This 'From' number has exceeded the maximum number of queued messages"))
    assert isinstance(send_error(fake_twilio, OutboundText(MENTEE, "hi")), RateLimitedError)


def test_sending_works_again_once_twilio_recovers(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(TwilioFault.server_error(503))
    send_error(fake_twilio, OutboundText(MENTEE, "hi"))
    receipt = send(fake_twilio, OutboundText(MENTEE, "hi"))
    assert [m["Sid"] for m in fake_twilio.messages] == [receipt.provider_id]


def test_error_21610_means_the_mentee_texted_stop_and_is_unreachable(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_recipient(MENTEE, TwilioFault.unsubscribed())
    error = send_error(fake_twilio, OutboundText(MENTEE, "hi"))
    assert isinstance(error, PermanentSendError)
    assert error.unreachable and error.code == "21610"


def test_other_twilio_4xx_errors_are_permanent_but_not_an_opt_out(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_recipient(MENTEE, TwilioFault.not_mobile())
    not_mobile = send_error(fake_twilio, OutboundText(MENTEE, "hi"))
    bad_number = send_error(fake_twilio, OutboundText("07700 900123", "hi"))  # not E.164
    assert isinstance(not_mobile, PermanentSendError) and not not_mobile.unreachable
    assert not_mobile.code == "21614"
    assert isinstance(bad_number, PermanentSendError) and bad_number.code == "21211"


def test_wrong_credentials_are_permanent(fake_twilio: FakeTwilio) -> None:
    async def go() -> None:
        channel = TwilioSmsChannel(fake_twilio.account_sid, "wrong", from_number="+447700900001", api_base_url=fake_twilio.url)
        try:
            await channel.send(OutboundText(MENTEE, "hi"))
        finally:
            await channel.close()

    with pytest.raises(PermanentSendError) as caught:
        asyncio.run(go())
    assert caught.value.code == "20003"


def test_the_configured_rate_holds_messages_back_by_segments_on_the_injected_clock(fake_twilio: FakeTwilio) -> None:
    clock = ManualClock(T0)

    async def go() -> list[object]:
        channel = twilio_channel_for(fake_twilio, messages_per_second=1.0, clock=clock)
        outcomes: list[object] = []
        try:
            outcomes.append(await channel.send(OutboundText(MENTEE, "first")))
            try:
                await channel.send(OutboundText(MENTEE, "second"))
            except RateLimitedError as exc:
                outcomes.append(exc.retry_after)
            clock.advance(seconds=1)
            outcomes.append(await channel.send(OutboundText(MENTEE, "second")))
        finally:
            await channel.close()
        return outcomes

    first, wait, second = asyncio.run(go())
    assert wait == pytest.approx(1.0)
    assert [m["Body"] for m in fake_twilio.messages] == ["first", "second"]


# --- pure helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "kind", "unreachable"),
    [
        (429, 20429, RateLimitedError, False),
        (400, 21611, RateLimitedError, False),
        (503, None, TransientSendError, False),
        (None, None, TransientSendError, False),
        (400, 21610, PermanentSendError, True),
        (400, 21614, PermanentSendError, False),
        (400, 21408, PermanentSendError, False),
        (404, 20404, PermanentSendError, False),
    ],
)
def test_twilio_errors_map_to_transient_or_permanent(status, code, kind, unreachable) -> None:
    error = classify_twilio_error(status, code, "x")
    assert type(error) is kind
    assert getattr(error, "unreachable", False) is unreachable


def test_retry_after_reads_seconds_or_a_date_and_ignores_nonsense() -> None:
    assert retry_after_seconds("12", T0) == 12.0
    assert retry_after_seconds(format_datetime(T0 + timedelta(minutes=2), usegmt=True), T0) == 120.0
    assert retry_after_seconds("soon", T0) is None
    assert retry_after_seconds(None, T0) is None


def test_an_inbound_sms_form_becomes_a_message_without_twilios_location_fields() -> None:
    form = inbound_sms_form("+447700900123", "Feeling ok", message_sid="SM" + "a" * 32, num_segments=1)
    form["FromCity"] = "LEEDS"
    message = parse_inbound_sms(form)
    assert (message.channel, message.provider_id, message.address, message.text) == ("sms", "SM" + "a" * 32, "+447700900123", "Feeling ok")
    assert message.raw_segments == 1
    assert message.extra == {"To": form["To"], "NumMedia": "0"}
    assert "LEEDS" not in repr(message)


def test_an_inbound_opt_out_keeps_twilios_opt_out_type() -> None:
    form = inbound_sms_form("+447700900123", "STOP") | {"OptOutType": "STOP"}
    assert parse_inbound_sms(form).extra["OptOutType"] == "STOP"


def test_an_inbound_picture_message_without_text_has_empty_text() -> None:
    form = inbound_sms_form("+447700900123", "") | {"NumMedia": "1"}
    del form["Body"]
    assert parse_inbound_sms(form).text == ""


@pytest.mark.parametrize(
    "change",
    [
        {"MessageSid": None, "SmsMessageSid": None, "SmsSid": None},
        {"MessageSid": "not-a-sid"},
        {"From": None},
        {"From": "  "},
        {"NumSegments": "two"},
    ],
)
def test_a_malformed_inbound_form_is_rejected_as_a_value_error(change: dict[str, str | None]) -> None:
    form = inbound_sms_form("+447700900123", "hi")
    for key, value in change.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    with pytest.raises(MalformedRequest):
        parse_inbound_sms(form)
    assert issubclass(MalformedRequest, ValueError)


def test_status_callbacks_map_to_status_updates(fake_twilio: FakeTwilio) -> None:
    receipt = send(fake_twilio, OutboundText(MENTEE, "hi"))
    delivered = parse_status_callback(fake_twilio.status_callback_form(receipt.provider_id, "delivered"))
    undelivered = parse_status_callback(fake_twilio.status_callback_form(receipt.provider_id, "undelivered", 30003))
    opted_out = parse_status_callback(fake_twilio.status_callback_form(receipt.provider_id, "failed", 21610))
    assert (delivered.channel, delivered.provider_id, delivered.status, delivered.error_code) == ("sms", receipt.provider_id, "delivered", None)
    assert (undelivered.status, undelivered.error_code, undelivered.unreachable) == ("undelivered", "30003", False)
    assert (opted_out.status, opted_out.error_code, opted_out.unreachable) == ("failed", "21610", True)


def test_a_status_callback_without_a_status_or_sid_is_malformed() -> None:
    good = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "sent"}
    assert parse_status_callback({"SmsSid": "SM" + "b" * 32, "SmsStatus": "Sent"}).status == "sent"
    with pytest.raises(MalformedRequest):
        parse_status_callback({**good, "MessageStatus": ""})
    with pytest.raises(MalformedRequest):
        parse_status_callback({"MessageStatus": "sent"})


def test_a_signature_only_verifies_for_the_same_token_url_and_parameters() -> None:
    url = "https://bot.example.org/twilio/sms?tenant=a%20b"
    params = inbound_sms_form("+447700900123", "hi")
    signature = twilio_signature(AUTH_TOKEN, url, params)
    assert verify_twilio_signature(AUTH_TOKEN, url, params, signature)
    assert verify_twilio_signature(AUTH_TOKEN, "https://bot.example.org:443/twilio/sms?tenant=a%20b", params, signature)
    assert not verify_twilio_signature("another-token", url, params, signature)
    assert not verify_twilio_signature(AUTH_TOKEN, "http://10.0.0.5:8000/twilio/sms?tenant=a%20b", params, signature)
    assert not verify_twilio_signature(AUTH_TOKEN, url, params | {"Body": "hj"}, signature)
    assert not verify_twilio_signature(AUTH_TOKEN, url, params, "")
    assert not verify_twilio_signature(AUTH_TOKEN, url, params, None)


# --- the transport: one pooled keep-alive session, bounded waits -----------------------------


def test_sends_reuse_one_kept_alive_connection(fake_twilio: FakeTwilio) -> None:
    """A new TCP connection (and, to the real Twilio, a TLS handshake) per SMS would cost more
    than the send itself."""
    async def go() -> None:
        channel = twilio_channel_for(fake_twilio)
        try:
            for i in range(5):
                await channel.send(OutboundText(MENTEE, f"message {i}"))
        finally:
            await channel.close()

    asyncio.run(go())
    assert len(fake_twilio.messages) == 5
    assert len(set(fake_twilio.peers)) == 1


def test_concurrent_sends_share_a_bounded_pool_and_each_gets_its_own_sid(fake_twilio: FakeTwilio) -> None:
    async def go() -> list[SendReceipt]:
        channel = twilio_channel_for(fake_twilio)
        try:
            return list(await asyncio.gather(*(channel.send(OutboundText(f"+4477009{i:05d}", "hi"))
                                               for i in range(40))))
        finally:
            await channel.close()

    receipts = asyncio.run(go())
    assert sorted(r.provider_id for r in receipts) == sorted(m["Sid"] for m in fake_twilio.messages)
    assert len({r.provider_id for r in receipts}) == 40
    assert {m["To"] for m in fake_twilio.messages} == {f"+4477009{i:05d}" for i in range(40)}


def test_one_channel_keeps_sending_across_event_loops(fake_twilio: FakeTwilio) -> None:
    """The CLI and tests run the sender under one asyncio.run() after another with the same
    channel: a session belongs to its loop, so the next loop gets a fresh one."""
    channel = twilio_channel_for(fake_twilio)
    first = asyncio.run(channel.send(OutboundText(MENTEE, "one")))
    second = asyncio.run(channel.send(OutboundText(MENTEE, "two")))
    asyncio.run(channel.close())
    assert [m["Body"] for m in fake_twilio.messages] == ["one", "two"]
    assert first.provider_id != second.provider_id


def test_a_slow_answer_is_bounded_per_request_and_the_next_send_works(fake_twilio: FakeTwilio) -> None:
    """A timed-out request may have been accepted (uncertain); the pool is not left stuck."""
    async def go() -> tuple[Exception | None, SendReceipt]:
        channel = twilio_channel_for(fake_twilio, timeout=0.2)
        try:
            fake_twilio.fail_next(TwilioFault.slow(30))
            failed: Exception | None = None
            try:
                await channel.send(OutboundText(MENTEE, "slow"))
            except TransientSendError as exc:
                failed = exc
            return failed, await channel.send(OutboundText(MENTEE, "next"))
        finally:
            await channel.close()

    failed, receipt = asyncio.run(go())
    assert isinstance(failed, TransientSendError) and failed.uncertain and failed.code == "timeout"
    assert receipt.provider_id == fake_twilio.messages[-1]["Sid"]


def test_a_send_error_names_neither_the_auth_token_nor_the_account(caplog: pytest.LogCaptureFixture) -> None:
    with FakeTwilio() as fake:
        closed_port_url = fake.url

    async def go() -> None:
        channel = TwilioSmsChannel(fake.account_sid, fake.auth_token, from_number=fake.from_number,
                                   api_base_url=closed_port_url)
        try:
            await channel.send(OutboundText(MENTEE, "hi"))
        finally:
            await channel.close()

    caplog.set_level("DEBUG")
    with pytest.raises(TransientSendError) as caught:
        asyncio.run(go())
    said = f"{caught.value!s} {caught.value!r} {caplog.text}"
    assert fake.auth_token not in said and fake.account_sid not in said
