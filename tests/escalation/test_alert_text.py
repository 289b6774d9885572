"""Staff alert texts: one SMS, first name and initial, plain category, excerpt, ACK code."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.gsm7 import gsm7_length, is_gsm7
from escalation.acks import is_alert_code, parse_ack
from escalation.alert_text import (
    CODE_ALPHABET,
    duty_to_refer_text,
    format_age,
    new_alert_code,
    no_contact_summary,
    shape_excerpt,
    staff_alert_email,
    staff_alert_sms,
    staff_alert_text,
    still_not_acked_text,
)
from escalation.alert_view import AlertView

T0 = datetime(2025, 5, 12, 13, 5, tzinfo=UTC)  # 14:05 in London (BST)
LONG = (
    "honestly i \u2019cant\u2019 do this anymore \U0001F62D got nowhere to go tonight and "
    "everything is falling apart, my landlord says the locks get changed friday and i have "
    "nobody left to ask { not even my brother } so yeah"
)


def _alert(**changes: object) -> AlertView:
    base = AlertView(
        code="K7Q2", mentee_id=1, mentee_first_name="Joanna", mentee_last_name="Bloggs",
        category="crisis", severity="urgent", created_at=T0, excerpt="i cant do this anymore",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


VARIANTS = [
    _alert(),
    _alert(excerpt=LONG),
    _alert(category="housing", excerpt=LONG),
    _alert(category="domestic_abuse", severity="concern", excerpt=LONG),
    _alert(category="review", excerpt=""),
    _alert(category="some_future_category_x", excerpt=LONG),
    _alert(mentee_first_name="Zoë-Ångström Maximiliana Cholmondeley", mentee_last_name="Ó Briain"),
    _alert(category="no_contact", severity="concern",
           excerpt=no_contact_summary(3, T0 - timedelta(days=4), undelivered=True)),
]


@pytest.mark.parametrize("alert", VARIANTS, ids=lambda a: a.category)
def test_every_staff_sms_is_gsm7_and_one_segment(alert: AlertView) -> None:
    later = T0 + timedelta(days=3, hours=23, minutes=59)
    texts = staff_alert_sms(alert) + staff_alert_sms(alert, reminder_at=later)
    for text in texts:
        assert is_gsm7(text), text
        assert gsm7_length(text) <= 160, text


def test_alert_sms_names_mentee_by_first_name_and_initial_only() -> None:
    text = staff_alert_text(_alert())
    assert "Joanna B." in text and "Bloggs" not in text


def test_alert_sms_reads_severity_category_excerpt_then_ack_code() -> None:
    assert staff_alert_text(_alert()) == (
        'URGENT Joanna B.: crisis/self-harm risk. "i cant do this anymore" Reply ACK K7Q2'
    )


def test_long_excerpt_is_cut_at_a_word_with_an_ellipsis_and_the_code_survives() -> None:
    text = staff_alert_text(_alert(excerpt=LONG))
    assert text.endswith("...\" Reply ACK K7Q2")
    assert "'cant'" in text  # curly quotes shaped to GSM-7, not dropped
    assert parse_ack("ACK " + text.rsplit(" ", 1)[1]) == "K7Q2"


def test_risk_emoji_reach_staff_as_words_instead_of_vanishing() -> None:
    text = staff_alert_text(_alert(excerpt="got a box of \U0001F48A\U0001F48A tonight \U0001F62D"))
    assert '"got a box of [pills] [pills] tonight [sobbing]"' in text


def test_shape_excerpt_never_exceeds_the_limit_counting_extension_characters_twice() -> None:
    for limit in range(0, 60):
        assert gsm7_length(shape_excerpt("{[abc]} " * 20, limit)) <= limit


def test_no_contact_alert_shows_the_summary_without_quote_marks() -> None:
    alert = _alert(category="no_contact", severity="concern",
                   excerpt=no_contact_summary(2, datetime(2025, 5, 8, 9, tzinfo=UTC)))
    assert staff_alert_text(alert) == (
        "CONCERN Joanna B.: no contact. 2 check-ins missed, last heard Thu 08 May. Reply ACK K7Q2"
    )


def test_no_contact_summary_for_a_mentee_never_heard_from_and_not_delivered() -> None:
    assert no_contact_summary(1, None, undelivered=True) == (
        "1 check-in missed, texts not delivered, last heard never"
    )


def test_reescalation_sms_says_still_not_acked_and_how_long() -> None:
    text = still_not_acked_text(_alert(), T0 + timedelta(minutes=30))
    assert text.startswith("STILL NOT ACKED 30 min: URGENT Joanna B.: crisis")
    assert text.endswith("Reply ACK K7Q2")


def test_reescalation_wait_counts_from_the_upgrade_to_urgent() -> None:
    upgraded = _alert(ladder_started_at=T0 + timedelta(hours=3))
    text = still_not_acked_text(upgraded, T0 + timedelta(hours=3, minutes=15))
    assert text.startswith("STILL NOT ACKED 15 min:")


def test_housing_alert_adds_a_duty_to_refer_sms() -> None:
    first, second = staff_alert_sms(_alert(category="housing"))
    assert "housing - may lose home" in first
    assert second == duty_to_refer_text(_alert(category="housing"))
    for words in ("56 days", "consent", "council", "probation", "Duty to Refer", "K7Q2"):
        assert words in second


def test_other_categories_send_a_single_sms() -> None:
    assert len(staff_alert_sms(_alert(category="domestic_abuse"))) == 1


def test_email_has_more_detail_but_no_message_history() -> None:
    alert = _alert(category="housing", excerpt=LONG, reasons=("locks changed", "tonight"),
                   mentor_name="Sam T.")
    email = staff_alert_email(alert)
    assert email.subject == "[URGENT] Joanna B.: housing - may lose home - reply ACK K7Q2"
    assert "Flagged: Mon 12 May 2025, 14:05 (UK time)" in email.body
    assert "Why: locks changed; tonight" in email.body
    assert "(mentor: Sam T.)" in email.body
    assert "Duty to Refer" in email.body and "56 days" in email.body
    assert "checkins alerts ack K7Q2" in email.body
    assert "Bloggs" not in email.body + email.subject


def test_email_excerpt_is_truncated() -> None:
    body = staff_alert_email(_alert(excerpt="word " * 200), excerpt_limit=100).body
    quoted = next(line for line in body.splitlines() if line.startswith('  "'))
    assert len(quoted) <= 100 + 4 and quoted.endswith('..."')


def test_reescalation_email_subject_starts_still_not_acked() -> None:
    email = staff_alert_email(_alert(), reminder_at=T0 + timedelta(hours=2, minutes=5))
    assert email.subject.startswith("STILL NOT ACKED 2 h 5 min: [URGENT]")
    assert "Not acknowledged after 2 h 5 min." in email.body


def test_domestic_abuse_email_warns_about_safe_contact() -> None:
    body = staff_alert_email(_alert(category="domestic_abuse")).body
    assert "someone else may read their phone" in body


@pytest.mark.parametrize(
    ("age", "words"),
    [(timedelta(seconds=59), "0 min"), (timedelta(minutes=15), "15 min"),
     (timedelta(hours=1), "1 h"), (timedelta(hours=25, minutes=3), "1 day 1 h"),
     (timedelta(days=3), "3 days")],
)
def test_format_age(age: timedelta, words: str) -> None:
    assert format_age(age) == words


def test_alert_codes_are_unambiguous_mixed_and_reproducible() -> None:
    codes = [new_alert_code(random.Random(seed)) for seed in range(500)]
    assert codes == [new_alert_code(random.Random(seed)) for seed in range(500)]
    for code in codes:
        assert is_alert_code(code)
        assert not set(code) & set("0O1IL")
        assert any(c.isdigit() for c in code) and any(c.isalpha() for c in code)
    assert not set("0O1IL") & set(CODE_ALPHABET)


def test_alert_code_avoids_codes_already_taken() -> None:
    first = new_alert_code(random.Random(7))
    assert new_alert_code(random.Random(7), taken={first}) != first


def test_a_housing_re_page_is_one_text_unless_the_person_is_new_to_the_alert() -> None:
    later = T0 + timedelta(minutes=15)
    housing = _alert(category="housing")
    [repage] = staff_alert_sms(housing, reminder_at=later)
    assert repage.startswith("STILL NOT ACKED 15 min")
    first, advice = staff_alert_sms(housing, reminder_at=later, told_before=False)
    assert first == repage and advice == duty_to_refer_text(housing)
    assert len(staff_alert_sms(_alert(), reminder_at=later, told_before=False)) == 1
