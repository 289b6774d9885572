"""Reading staff acknowledgements, and who may acknowledge."""

from __future__ import annotations

import pytest

from bot.gsm7 import gsm7_length, is_gsm7
from escalation.acks import ack_confirmed_text, ack_refused_text, may_acknowledge, parse_ack


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("ACK K7Q2", "K7Q2"),
        ("ack k7q2", "K7Q2"),
        ("Ack: K7Q2", "K7Q2"),
        ("ack:K7Q2", "K7Q2"),  # Telegram button callback data
        ("ACK-K7Q2", "K7Q2"),
        ("ACK #K7Q2", "K7Q2"),
        ("  ACK   K7Q2  ", "K7Q2"),
        ("ACK K7Q2 calling her now", "K7Q2"),
        ("ACK K7Q2.", "K7Q2"),
        ("Acknowledged K7Q2", "K7Q2"),
        ("acknowledge k7q2", "K7Q2"),
        ("OK K7Q2", "K7Q2"),
        ("okay, k7q2", "K7Q2"),
        ("ACK 2345", None),  # digits only: not a code
        ("ACK CALL", None),  # letters only: a word, never a code
        ("ok call her", None),
        ("ok thanks", None),
        ("ACK", None),
        ("ACK K7Q", None),
        ("ACK K7Q2X", None),
        ("ACK K7O2", None),  # O is never in a code
        ("ACK K1Q2", None),  # nor 1
        ("ACKK7Q2", None),
        ("K7Q2", None),  # a bare code is not an acknowledgement
        ("can't ACK K7Q2", None),
        ("", None),
    ],
)
def test_parse_ack(text: str, code: str | None) -> None:
    assert parse_ack(text) == code


@pytest.mark.parametrize(
    ("staff", "allowed"),
    [(11, True), (22, True), (99, True), (33, False), (None, False)],
    ids=["mentor", "supervisor", "duty", "unrelated", "unknown number"],
)
def test_only_linked_staff_or_the_duty_contact_may_acknowledge(
    staff: int | None, allowed: bool
) -> None:
    assert may_acknowledge(staff, 11, 22, 99) is allowed


def test_missing_roles_never_let_an_unknown_sender_through() -> None:
    assert may_acknowledge(None, None, None, None) is False
    assert may_acknowledge(11, 11, None, None) is True


def test_ack_replies_are_single_gsm7_sms_and_refusal_reveals_no_mentee() -> None:
    confirmed = ack_confirmed_text("K7Q2", "Jo B.")
    refused = ack_refused_text("K7Q2")
    for text in (confirmed, refused):
        assert is_gsm7(text) and gsm7_length(text) <= 160
    assert "Jo B." in confirmed and "K7Q2" in refused and "Jo" not in refused
