"""Fuzzing the webhooks over real HTTP: any body a client can send gets 4xx, never 5xx.

The real Starlette app with the real database sink (SQLite, and PostgreSQL when
CHECKINS_TEST_POSTGRES_URL is set) behind uvicorn on 127.0.0.1. Bodies come from Hypothesis,
bounded so the suite stays quick: signed forms with odd fields, raw bytes, deep and wide JSON.
Whatever is not signed (or carries the wrong secret) must leave the database as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.config import Config
from bot.service.runtime import Services, build_services
from bot.service.sink import DatabaseSink
from bot.storage.models import Message
from bot.web import WebSettings, create_app
from tests.conftest import TEST_START, pg_schema_url
from tests.fakes.server import ThreadedServer
from tests.fakes.telegram_server import callback_update, text_update
from tests.fakes.twilio_server import AUTH_TOKEN, inbound_sms_form, twilio_signature

PUBLIC = "https://bot.example.org"
SECRET = "tg-Secret_0123456789"
MENTEE = "+447700900123"
SID = "SM" + "c" * 32
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@dataclass
class Site:
    url: str
    svc: Services
    client: httpx.Client

    def stored(self) -> int:
        with self.svc.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(Message)) or 0)

    def post(self, path: str, body: bytes, headers: dict[str, Any]) -> httpx.Response:
        return self.client.post(self.url + path, content=body, headers=headers)

    def signed_form(self, path: str, params: list[tuple[str, str]]) -> httpx.Response:
        signature = twilio_signature(AUTH_TOKEN, PUBLIC + path, _as_multidict(params))
        body = httpx.QueryParams(params).__str__().encode()
        return self.post(path, body, {"Content-Type": "application/x-www-form-urlencoded",
                                      "X-Twilio-Signature": signature})

    def telegram(self, body: bytes, secret: str | None = SECRET) -> httpx.Response:
        headers: dict[str, Any] = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret.encode()
        return self.post("/telegram/webhook", body, headers)


def _as_multidict(params: list[tuple[str, str]]) -> Any:
    from starlette.datastructures import ImmutableMultiDict

    return ImmutableMultiDict(params)


def _site(url: str) -> Iterator[Site]:
    svc = build_services(Config().with_database(url), ManualClock(TEST_START), channels={})
    app = create_app(WebSettings(PUBLIC, AUTH_TOKEN, SECRET, max_body_bytes=64_000), DatabaseSink(svc))
    try:
        with ThreadedServer(app) as server, httpx.Client(trust_env=False, timeout=30) as client:
            yield Site(server.url, svc, client)
    finally:
        svc.engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if request.param == "sqlite":
        yield from _site(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'checkins.db'}")
    else:
        for url in pg_schema_url():
            yield from _site(url)


def _ok_or_refused(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])


# --- strategies ---------------------------------------------------------------------------------

# Text as a client can put it in a UTF-8 form: every code point but lone surrogates, NUL included.
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=80)
ODD_TEXT = st.one_of(
    ANY_TEXT,
    st.sampled_from(["", " ", "\x00", "9" * 40, "-1", "1e999", "SM" + "0" * 32, "+44 7700 900123",
                     "\u202e", "%00", "x" * 3000, "\r\n", "null"]),
)
# What HTTP lets a header carry (h11 refuses control characters before they leave the client).
HEADER_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
TWILIO_FIELDS = ["MessageSid", "SmsSid", "SmsMessageSid", "From", "To", "Body", "NumSegments",
                 "NumMedia", "AccountSid", "MessageStatus", "SmsStatus", "ErrorCode", "OptOutType"]
JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False), st.text(max_size=30),
)
JSON = st.recursive(JSON_LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=20)
UPDATE_KEYS = ["update_id", "message", "callback_query", "chat", "id", "type", "text", "date",
               "message_id", "caption", "data", "from", "photo", "voice"]


@st.composite
def sms_forms(draw: st.DrawFn, status_fields: bool = False) -> list[tuple[str, str]]:
    """A real inbound form with some fields replaced, dropped, repeated or added."""
    base = inbound_sms_form(MENTEE, "Doing ok", message_sid="SM" + draw(st.text("0123456789abcdef", min_size=32, max_size=32)))
    if status_fields:
        base |= {"MessageStatus": draw(st.sampled_from(["delivered", "undelivered", "failed", "sent"]))}
    pairs = list(base.items())
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["replace", "drop", "repeat", "add"]))
        name = draw(st.sampled_from(TWILIO_FIELDS))
        if action == "replace":
            pairs = [(k, draw(ODD_TEXT) if k == name else v) for k, v in pairs]
        elif action == "drop":
            pairs = [(k, v) for k, v in pairs if k != name]
        elif action == "repeat":
            pairs.append((name, draw(ODD_TEXT)))
        else:
            pairs.append((draw(ANY_TEXT), draw(ODD_TEXT)))
    return pairs


@st.composite
def updates(draw: st.DrawFn) -> Any:
    """A real update with some values swapped for any JSON."""
    update_id = draw(st.integers(1, 2**31))
    update: Any = draw(st.sampled_from([
        text_update(update_id, 42, "hi"), callback_update(update_id, 42, "yes"),
        {"update_id": update_id, "message": {"chat": {"id": 42, "type": "private"}, "voice": {}}},
    ]))

    def mutate(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                roll = draw(st.integers(0, 9))
                if roll == 0:
                    continue
                out[key] = draw(JSON) if roll == 1 else mutate(value)
            if draw(st.integers(0, 5)) == 0:
                out[draw(st.sampled_from(UPDATE_KEYS))] = draw(JSON)
            return out
        return node

    return draw(st.one_of(st.just(mutate(update)), JSON))


# --- Twilio ---------------------------------------------------------------------------------------


@FUZZ
@given(params=sms_forms())
def test_any_signed_sms_form_gets_2xx_or_4xx_and_a_2xx_is_stored_once(site: Site, params: list[tuple[str, str]]) -> None:
    before = site.stored()
    response = site.signed_form("/twilio/sms", params)
    _ok_or_refused(response)
    assert site.stored() - before <= 1
    if response.status_code != 200:
        assert site.stored() == before


@FUZZ
@given(params=sms_forms(status_fields=True))
def test_any_signed_status_callback_gets_2xx_or_4xx(site: Site, params: list[tuple[str, str]]) -> None:
    before = site.stored()
    _ok_or_refused(site.signed_form("/twilio/status", params))
    assert site.stored() == before  # a status callback never adds a message


@FUZZ
@given(body=st.one_of(st.binary(max_size=300), sms_forms().map(lambda p: str(httpx.QueryParams(p)).encode())),
       content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain",
                                     "multipart/form-data; boundary=x", "", "application/x-www-form-urlencoded; charset=latin-1"]),
       signature=st.one_of(st.none(), st.text(HEADER_CHARS, max_size=40), st.just("bm90IGEgc2lnbmF0dXJl")),
       path=st.sampled_from(["/twilio/sms", "/twilio/status"]))
def test_an_unsigned_or_forged_twilio_request_is_refused_and_nothing_is_stored(
        site: Site, body: bytes, content_type: str, signature: str | None, path: str) -> None:
    headers: dict[str, Any] = {"Content-Type": content_type} if content_type else {}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature.encode()
    before = site.stored()
    response = site.post(path, body, headers)
    assert 400 <= response.status_code < 500
    assert site.stored() == before


# --- Telegram -------------------------------------------------------------------------------------


@FUZZ
@given(update=updates())
def test_any_authenticated_json_gets_2xx_or_4xx(site: Site, update: Any) -> None:
    before = site.stored()
    response = site.telegram(json.dumps(update).encode())
    _ok_or_refused(response)
    assert site.stored() - before <= 1


@FUZZ
@given(body=st.one_of(st.binary(max_size=300), updates().map(lambda u: json.dumps(u).encode())),
       secret=st.one_of(st.none(), st.text(HEADER_CHARS, max_size=30)))
def test_a_telegram_request_without_the_secret_is_refused_and_nothing_is_stored(
        site: Site, body: bytes, secret: str | None) -> None:
    before = site.stored()
    response = site.telegram(body, secret=None if secret == SECRET else secret)
    assert response.status_code in (403, 413)
    assert site.stored() == before


@FUZZ
@given(body=st.binary(max_size=400))
def test_any_bytes_with_the_right_secret_get_2xx_or_4xx(site: Site, body: bytes) -> None:
    _ok_or_refused(site.telegram(body))


@pytest.mark.parametrize("depth", [1_000, 50_000])
@pytest.mark.parametrize("shape", ["[", '{"a":'])
def test_deeply_nested_json_gets_400_not_a_recursion_error(site: Site, depth: int, shape: str) -> None:
    closer = "]" if shape == "[" else "}"
    body = (shape * depth + "1" + closer * depth).encode()
    before = site.stored()
    response = site.telegram(body[:60_000])
    assert response.status_code == 400
    assert site.stored() == before


def test_a_deeply_nested_value_inside_a_real_update_gets_400(site: Site) -> None:
    body = json.dumps(text_update(7001, 42, "hi"))[:-1] + ', "extra": ' + "[" * 20_000 + "]" * 20_000 + "}"
    assert site.telegram(body.encode()).status_code == 400


@pytest.mark.parametrize("update", [
    {"update_id": 2**70, "message": {"chat": {"id": 42, "type": "private"}, "text": "hi"}},
    {"update_id": 7002, "message": {"chat": {"id": 10**40, "type": "private"}, "text": "hi"}},
    {"update_id": 7003, "message": {"chat": {"id": 42, "type": "private"}, "text": "hi", "date": 10**30}},
    {"update_id": 7004, "message": {"chat": {"id": 42, "type": "private"}, "text": "hi", "date": -5}},
    {"update_id": 7005, "message": {"chat": {"id": 42, "type": "private"}, "text": "a\x00b"}},
    {"update_id": 7006, "message": {"chat": {"id": 42, "type": "private"}, "text": "x" * 50_000}},
])
def test_out_of_range_numbers_and_odd_text_in_an_update_never_give_5xx(site: Site, update: dict[str, Any]) -> None:
    _ok_or_refused(site.telegram(json.dumps(update).encode()))


def test_a_lone_surrogate_in_an_update_never_gives_5xx(site: Site) -> None:
    body = b'{"update_id": 7007, "message": {"chat": {"id": 42, "type": "private"}, "text": "a\\ud800b"}}'
    _ok_or_refused(site.telegram(body))


@pytest.mark.parametrize("field,value", [
    ("NumSegments", "9" * 30), ("NumSegments", "9" * 5000), ("NumSegments", "-3"), ("NumSegments", "٣"), ("From", "+44" + "7" * 100), ("From", "+44\x00"),
    ("Body", "a\x00b"), ("MessageSid", "SM" + "0" * 200),
])
def test_odd_values_in_a_signed_sms_never_give_5xx(site: Site, field: str, value: str) -> None:
    params = inbound_sms_form(MENTEE, "hi", message_sid="SM" + "e" * 31 + str(len(value) % 10)) | {field: value}
    _ok_or_refused(site.signed_form("/twilio/sms", list(params.items())))


@pytest.mark.parametrize("value", ["9" * 40, "x" * 100, "\x00"])
def test_an_odd_error_code_in_a_signed_status_callback_never_gives_5xx(site: Site, value: str) -> None:
    site.signed_form("/twilio/sms", list(inbound_sms_form(MENTEE, "hi", message_sid=SID).items()))
    form = {"MessageSid": SID, "MessageStatus": "undelivered", "ErrorCode": value}
    _ok_or_refused(site.signed_form("/twilio/status", list(form.items())))
