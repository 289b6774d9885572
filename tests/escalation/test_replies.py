"""Mentee replies after a risk flag: safe, GSM-7, one SMS each, neutral when abuse is involved."""

from __future__ import annotations

import dataclasses
import re
from itertools import combinations

import pytest

from bot.gsm7 import gsm7_length, is_gsm7, segment_count
from escalation.replies import (
    ReplySettings,
    mentee_ack_reply,
    mentee_concern_reply,
    mentee_safety_reply,
)

CATEGORIES = ("crisis", "housing", "domestic_abuse")
ALL_SETS = [set(c) for n in range(0, 4) for c in combinations(CATEGORIES, n)] + [
    {"review"}, {"crisis", "something_new"},
]
METHOD_WORDS = (
    "suicide", "suicidal", "kill", "overdose", "pills", "tablets", "paracetamol", "co-codamol",
    "hang", "rope", "bridge", "jump", "cut", "knife", "blade", "railway", "spice", "heroin",
)
DA_WORDS = ("abuse", "domestic", "partner", "violence", "violent", "refuge", "hurt")
SETTINGS = ReplySettings()


def _all_texts() -> list[str]:
    texts = [t for cats in ALL_SETS for t in mentee_safety_reply(cats, SETTINGS)]
    texts += [t for cats in ALL_SETS for t in mentee_concern_reply(cats, SETTINGS)]
    return texts + mentee_ack_reply(SETTINGS)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z-]+", text.lower()))


@pytest.mark.parametrize("text", _all_texts())
def test_every_reply_is_gsm7_and_one_sms(text: str) -> None:
    """Each text is pure GSM-7 and fits one 160-character segment."""
    assert is_gsm7(text)
    assert gsm7_length(text) <= 160
    assert segment_count(text) == 1


@pytest.mark.parametrize("text", _all_texts())
def test_no_reply_says_suicide_or_any_method_word(text: str) -> None:
    """Safe messaging: no reply names suicide, a method, a means or a place."""
    assert not _words(text) & set(METHOD_WORDS)


def test_crisis_reply_gives_999_samaritans_shout_and_nhs_111_option_2() -> None:
    joined = " ".join(mentee_safety_reply({"crisis"}, SETTINGS))
    for number in ("999", "116 123", "85258", "111, option 2", "SHOUT"):
        assert number in joined


def test_crisis_reply_says_the_mentor_has_been_told() -> None:
    assert "mentor has been told" in mentee_safety_reply({"crisis"}, SETTINGS)[0]


@pytest.mark.parametrize("cats", [c for c in ALL_SETS if "domestic_abuse" in c], ids=str)
def test_any_reply_involving_domestic_abuse_is_neutral(cats: set[str]) -> None:
    """Nothing a person reading the phone could take as a disclosure: no abuse words, no "told",
    no council homelessness advice (a plan to leave)."""
    for text in mentee_safety_reply(cats, SETTINGS) + mentee_concern_reply(cats, SETTINGS):
        assert not _words(text) & set(DA_WORDS), text
        assert "told" not in _words(text)
        assert "homeless" not in text.lower() and "shelter" not in text.lower()


def test_domestic_abuse_reply_gives_999_silent_55_and_the_24h_line() -> None:
    (text,) = mentee_safety_reply({"domestic_abuse"}, SETTINGS)
    assert "999" in text and "press 55" in text and "0808 2000 247" in text
    assert "mentor" in text


def test_crisis_with_domestic_abuse_keeps_the_crisis_lines() -> None:
    """Risk to life outranks discretion: Samaritans and SHOUT still go out, after a neutral text."""
    texts = mentee_safety_reply({"crisis", "domestic_abuse"}, SETTINGS)
    assert "0808 2000 247" in texts[0]
    assert "116 123" in " ".join(texts) and "85258" in " ".join(texts)


def test_housing_reply_gives_shelter_and_the_council() -> None:
    joined = " ".join(mentee_safety_reply({"housing"}, SETTINGS))
    assert "0808 800 4444" in joined and "council" in joined and "mentor has been told" in joined
    assert "Probation can refer you if you agree" in joined  # Duty to Refer needs consent


def test_crisis_and_housing_open_once_then_give_both_sets_of_numbers() -> None:
    texts = mentee_safety_reply({"crisis", "housing"}, SETTINGS)
    assert len(texts) == 3
    assert sum("mentor" in t for t in texts) == 1
    assert "116 123" in texts[1] and "0808 800 4444" in texts[2]


@pytest.mark.parametrize("cats", [set(), {"review"}, {"could_not_classify"}], ids=str)
def test_unknown_category_fails_closed_with_crisis_lines_and_a_neutral_opening(
    cats: set[str],
) -> None:
    texts = mentee_safety_reply(cats, SETTINGS)
    assert "116 123" in " ".join(texts)
    assert "told" not in " ".join(texts)


def test_concern_reply_is_one_gentle_text_with_one_helpline() -> None:
    assert mentee_concern_reply({"crisis"}, SETTINGS) == [
        "Thanks for letting us know. Your mentor will be in touch soon. If you want to talk "
        "before then, Samaritans are free, day or night: 116 123."
    ]
    (housing,) = mentee_concern_reply({"housing"}, SETTINGS)
    assert "0808 800 4444" in housing and "999" not in housing
    (da,) = mentee_concern_reply({"domestic_abuse", "housing"}, SETTINGS)
    assert "0808 2000 247" in da


def test_plain_message_reply_is_honest_that_nobody_watches_all_the_time() -> None:
    (text,) = mentee_ack_reply(SETTINGS)
    assert "not watched all the time" in text and "999" in text


def test_numbers_are_configurable() -> None:
    settings = ReplySettings(samaritans="116 000", shout="12345")
    joined = " ".join(mentee_safety_reply({"crisis"}, settings))
    assert "116 000" in joined and "12345" in joined and "116 123" not in joined


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"samaritans": ""}, "non-empty"),
        ({"samaritans": "116 123 \u2019"}, "non-empty GSM-7"),
        ({"shelter": "0808 800 4444 " + "1" * 40}, "one SMS holds 160"),
    ],
)
def test_settings_reject_numbers_that_make_a_text_unsafe_or_over_long_with_one_line(
    change: dict[str, str], message: str
) -> None:
    """The numbers come from config [replies]: start-up renders every safety text in every
    language with them."""
    with pytest.raises(ValueError, match=message) as info:
        dataclasses.replace(SETTINGS, **change)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        ("safety.urgent_crisis", "Call Samaritans on {samaritans} \u2019now\u2019", "outside GSM-7"),
        ("safety.urgent_lead", "x" * 161, "would cost 2 SMS segments"),
        ("safety.concern_crisis", "Call {samaritan}", "unknown placeholder"),
        ("safety.urgent_domestic_abuse", "Abuse line: {da_helpline}", "must stay neutral"),
        ("safety.urgent_crisis", "Thinking about suicide? Call {samaritans}", "safe messaging"),
        ("safety.urgent_housing", "Shelter {shelter} " + "\u20ac" * 70, "would cost 2 SMS segments"),
        ("safety.concern_domestic_abuse", "Diolch. Llinell trais: {da_helpline}", "must stay neutral"),
        ("safety.acknowledgement_discreet", "Your mentor will reply. {emergency}", "discreet wording"),
    ],
)
def test_the_catalogue_check_refuses_unsafe_or_over_long_safety_texts_with_one_line(
    key: str, text: str, message: str
) -> None:
    """The wording is in the catalogue: its check (start-up and `checkins wording check`) holds
    the safe-messaging rules too, naming the file, line and key."""
    from bot.wording.catalogue import CATALOGUES, problems

    source = (CATALOGUES / "en.toml").read_text(encoding="utf-8")
    lines = [f'"{key}" = "{text}"' if line.startswith(f'"{key}" =') else line
             for line in source.splitlines()]
    found = problems("\n".join(lines), "en.toml")
    assert len(found) == 1 and message in found[0] and key in found[0], found
    assert found[0].startswith("en.toml:")


def test_default_settings_validate() -> None:
    SETTINGS.validate()


# ---- issue 10: an overdose taken, someone not registered, "us" not "me" ---------------------------
def test_an_emergency_puts_999_or_a_and_e_first_for_every_category() -> None:
    from escalation.replies import ReplySettings, mentee_safety_reply, stranger_safety_reply

    settings = ReplySettings()
    for categories in ({"crisis"}, {"crisis", "domestic_abuse"}, {"crisis", "housing"}):
        for reply in (mentee_safety_reply, stranger_safety_reply):
            texts = reply(categories, settings, emergency=True)
            assert "call 999 or go to A&E now" in texts[0]
            assert "A&E" not in " ".join(reply(categories, settings))


def test_a_stranger_is_never_told_about_a_mentor() -> None:
    from escalation.replies import ReplySettings, stranger_safety_reply

    settings = ReplySettings()
    for categories in ({"crisis"}, {"housing"}, {"domestic_abuse"}, {"review"}, set()):
        joined = " ".join(stranger_safety_reply(categories, settings)).lower()
        assert "mentor" not in joined and "999" in joined or "0808 800 4444" in joined


def test_no_reply_text_speaks_as_one_person() -> None:
    import re

    from escalation.replies import TEXTS, ReplySettings

    settings = ReplySettings()
    for name in TEXTS:
        text = settings.render(name)
        assert re.search(r"\b(?:me|I|I'm|my)\b", text) is None, name


def test_the_safety_texts_come_from_the_catalogue_in_the_mentee_language() -> None:
    """Welsh: the same rules, the same numbers, no English lead; English wording unchanged."""
    from escalation.replies import TEXTS, stranger_safety_reply

    welsh = mentee_safety_reply({"crisis"}, SETTINGS, language="cy")
    assert welsh[0].startswith("Diolch am ddweud wrthym.")
    assert "116 123" in welsh[1] and "85258" in welsh[1] and "999" in welsh[1]
    assert mentee_safety_reply({"crisis"}, SETTINGS, emergency=True, language="cy")[0].startswith(
        "Os ydych wedi cymryd rhywbeth, ffoniwch 999 neu ewch i A&E nawr")
    for name in TEXTS:
        assert SETTINGS.render(name, "cy") != SETTINGS.render(name, "en"), name
        assert is_gsm7(SETTINGS.render(name, "cy")) and segment_count(SETTINGS.render(name, "cy")) == 1
    for cats in ALL_SETS:
        for text in (mentee_safety_reply(cats, SETTINGS, language="cy")
                     + stranger_safety_reply(cats, SETTINGS, language="cy")):
            assert not re.search(r"hunanladd|gorddos|tabled", text.lower()), text
    assert mentee_safety_reply({"crisis"}, SETTINGS, language="xx") == mentee_safety_reply(
        {"crisis"}, SETTINGS)
