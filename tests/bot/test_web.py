"""The webhook app over real HTTP: Twilio-signed forms, Telegram secret tokens, limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from bot.channels.base import InboundMessage, StatusUpdate
from bot.web import WebSettings, create_app
from tests.fakes.server import ThreadedServer
from tests.fakes.sink import MemorySink
from tests.fakes.telegram_server import callback_update, start_update, text_update
from tests.fakes.twilio_server import AUTH_TOKEN, inbound_sms_form, post_twilio_webhook, twilio_signature

PUBLIC = "https://bot.example.org"
SECRET = "tg-Secret_0123456789"
MENTEE = "+447700900123"
SID = "SM" + "c" * 32


@dataclass
class Web:
    url: str
    sink: MemorySink

    def sms(self, params: dict[str, str], path: str = "/twilio/sms", **kw: object) -> httpx.Response:
        """POST as Twilio would, signing the public URL it believes it called."""
        return post_twilio_webhook(self.url + path, params, AUTH_TOKEN, public_url=PUBLIC + path, **kw)  # type: ignore[arg-type]

    def telegram(self, body: bytes | str, secret: str | None = SECRET) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        return httpx.post(self.url + "/telegram/webhook", content=body, headers=headers, trust_env=False)


def serve(settings: WebSettings) -> Iterator[Web]:
    sink = MemorySink()
    with ThreadedServer(create_app(settings, sink)) as server:
        yield Web(server.url, sink)


@pytest.fixture
def web() -> Iterator[Web]:
    yield from serve(WebSettings(PUBLIC, AUTH_TOKEN, SECRET, max_body_bytes=4_000))


# --- Twilio inbound SMS ------------------------------------------------------------------------


def test_a_correctly_signed_sms_is_stored_and_answered_with_empty_twiml(web: Web) -> None:
    response = web.sms(inbound_sms_form(MENTEE, "Doing ok", message_sid=SID))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text.endswith("<Response />")
    [message] = web.sink.messages
    assert (message.channel, message.provider_id, message.address, message.text) == ("sms", SID, MENTEE, "Doing ok")


def test_the_signature_is_checked_against_the_public_url_with_its_raw_query(web: Web) -> None:
    path = "/twilio/sms?tenant=a%20b&x=1"
    assert web.sms(inbound_sms_form(MENTEE, "hi", message_sid=SID), path=path).status_code == 200
    assert len(web.sink.messages) == 1


def test_a_signature_over_the_internal_address_is_refused(web: Web) -> None:
    # What a naive app behind a proxy would check against; Twilio never signs this URL.
    params = inbound_sms_form(MENTEE, "hi")
    response = post_twilio_webhook(web.url + "/twilio/sms", params, AUTH_TOKEN)
    assert response.status_code == 403
    assert web.sink.messages == []


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl"])
def test_a_missing_or_forged_signature_gets_403_and_nothing_is_stored(web: Web, signature: str | None) -> None:
    assert web.sms(inbound_sms_form(MENTEE, "hi"), signature=signature).status_code == 403
    assert web.sink.messages == []


def test_a_signature_from_another_auth_token_gets_403(web: Web) -> None:
    params = inbound_sms_form(MENTEE, "hi")
    forged = twilio_signature("someone-elses-token", PUBLIC + "/twilio/sms", params)
    assert web.sms(params, signature=forged).status_code == 403
    assert web.sink.messages == []


def test_a_body_changed_after_signing_gets_403(web: Web) -> None:
    params = inbound_sms_form(MENTEE, "I'm fine")
    signature = twilio_signature(AUTH_TOKEN, PUBLIC + "/twilio/sms", params)
    assert web.sms(params | {"Body": "I'm not fine"}, signature=signature).status_code == 403
    assert web.sink.messages == []


def test_a_signed_form_missing_required_fields_gets_400(web: Web) -> None:
    params = inbound_sms_form(MENTEE, "hi")
    del params["From"]
    assert web.sms(params).status_code == 400
    assert web.sink.messages == []


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/json", b'{"MessageSid": "x"}'), ("application/x-www-form-urlencoded", b"Body=%FF%FE"),
     ("application/x-www-form-urlencoded", b"no-equals-sign&also")],
)
def test_a_body_that_is_not_a_utf8_form_gets_400(web: Web, content_type: str, body: bytes) -> None:
    response = httpx.post(
        web.url + "/twilio/sms", content=body,
        headers={"Content-Type": content_type, "X-Twilio-Signature": "anything"}, trust_env=False,
    )
    assert response.status_code == 400
    assert web.sink.messages == []


def test_an_oversized_body_gets_413_and_nothing_is_stored(web: Web) -> None:
    assert web.sms(inbound_sms_form(MENTEE, "x" * 5_000)).status_code == 413
    assert web.sink.messages == []


def test_a_retried_delivery_is_answered_again_but_stored_once(web: Web) -> None:
    params = inbound_sms_form(MENTEE, "hello", message_sid=SID)
    assert [web.sms(params).status_code for _ in range(2)] == [200, 200]
    assert [m.provider_id for m in web.sink.messages] == [SID]
    assert [m.provider_id for m in web.sink.duplicates] == [SID]


def test_when_the_store_fails_twilio_gets_an_error_so_it_can_retry() -> None:
    for web in serve(WebSettings(PUBLIC, AUTH_TOKEN, SECRET)):
        web.sink.fail_with = RuntimeError("database down")
        assert web.sms(inbound_sms_form(MENTEE, "hello")).status_code == 500


def test_twilio_routes_are_off_without_an_auth_token() -> None:
    for web in serve(WebSettings(PUBLIC, None, SECRET)):
        assert web.sms(inbound_sms_form(MENTEE, "hello")).status_code == 404
        assert web.sink.messages == []


# --- Twilio status callbacks -------------------------------------------------------------------


def test_a_signed_status_callback_is_recorded(web: Web) -> None:
    form = {"MessageSid": SID, "SmsSid": SID, "MessageStatus": "undelivered", "SmsStatus": "undelivered",
            "ErrorCode": "30003", "AccountSid": "AC" + "0" * 32, "From": "+447700900001", "To": MENTEE,
            "ApiVersion": "2010-04-01"}
    assert web.sms(form, path="/twilio/status").status_code == 200
    assert web.sink.statuses == [StatusUpdate("sms", SID, "undelivered", "30003")]


def test_an_unsigned_status_callback_gets_403(web: Web) -> None:
    form = {"MessageSid": SID, "MessageStatus": "delivered"}
    assert web.sms(form, path="/twilio/status", signature=None).status_code == 403
    assert web.sink.statuses == []


def test_a_status_callback_without_a_status_gets_400(web: Web) -> None:
    assert web.sms({"MessageSid": SID}, path="/twilio/status").status_code == 400


# --- Telegram ----------------------------------------------------------------------------------


def test_a_telegram_update_with_the_right_secret_is_stored(web: Web) -> None:
    assert web.telegram(json.dumps(start_update(5001, 42, "Ab3"))).status_code == 200
    [message] = web.sink.messages
    assert (message.channel, message.provider_id, message.address) == ("telegram", "5001", "42")
    assert message.extra["start_code"] == "Ab3"


def test_a_button_press_arrives_as_its_value(web: Web) -> None:
    web.telegram(json.dumps(callback_update(5002, 42, "yes", query_id="q")))
    assert [(m.text, m.callback_data) for m in web.sink.messages] == [("yes", "yes")]


@pytest.mark.parametrize("secret", [None, "", "tg-Secret_0123456788", SECRET + "x"])
def test_a_missing_or_wrong_secret_token_gets_403_and_nothing_is_stored(web: Web, secret: str | None) -> None:
    assert web.telegram(json.dumps(text_update(5003, 42, "hi")), secret=secret).status_code == 403
    assert web.sink.messages == []


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}'])
def test_malformed_json_or_a_non_update_gets_400(web: Web, body: bytes) -> None:
    assert web.telegram(body).status_code == 400
    assert web.sink.messages == []


def test_updates_we_do_not_handle_are_acknowledged_and_ignored(web: Web) -> None:
    edited = {"update_id": 5004, "edited_message": text_update(0, 42, "edit")["message"]}
    broken = {"update_id": 5005, "message": {"text": "no chat"}}
    assert [web.telegram(json.dumps(u)).status_code for u in (edited, broken)] == [200, 200]
    assert web.sink.messages == []


def test_a_resent_telegram_update_is_stored_once(web: Web) -> None:
    body = json.dumps(text_update(5006, 42, "hi"))
    assert [web.telegram(body).status_code for _ in range(2)] == [200, 200]
    assert len(web.sink.messages) == 1 and len(web.sink.duplicates) == 1


def test_the_telegram_webhook_is_off_without_a_secret() -> None:
    for web in serve(WebSettings(PUBLIC, AUTH_TOKEN, None)):
        assert web.telegram(json.dumps(text_update(1, 42, "hi")), secret="").status_code == 404


# --- health ------------------------------------------------------------------------------------


def test_health_check_answers_ok(web: Web) -> None:
    response = httpx.get(web.url + "/healthz", trust_env=False)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_inbound_message_type_is_what_the_sink_receives(web: Web) -> None:
    web.sms(inbound_sms_form(MENTEE, "hi"))
    assert all(isinstance(m, InboundMessage) for m in web.sink.messages)
