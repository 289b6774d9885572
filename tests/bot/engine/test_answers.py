"""Parsing real replies: each answer type against a table of what mentees actually text."""

from __future__ import annotations

import pytest

from bot.engine.answers import DONT_KNOW, parse_choice, parse_free_text, parse_scale, parse_yes_no

YES_NO_TABLE = [
    # plain and casual yes
    ("Y", "yes"), ("y", "yes"), ("Yes", "yes"), ("YES!", "yes"), ("Yes.", "yes"), ("yeh", "yes"),
    ("Yeah", "yes"), ("yea", "yes"), ("yep", "yes"), ("yup", "yes"), ("aye", "yes"), ("ok", "yes"),
    ("okay", "yes"), ("sure", "yes"), ("yh", "yes"), ("yesss", "yes"), ("Yesss!!!", "yes"),
    ("yes please", "yes"), ("yeah I do", "yes"), ("Yeah I'm fine", "yes"), ("i have", "yes"),
    ("of course", "yes"), ("👍", "yes"),
    # plain and casual no
    ("N", "no"), ("no", "no"), ("No.", "no"), ("NO!!", "no"), ("nah", "no"), ("Nahh", "no"),
    ("nah mate", "no"), ("nope", "no"), ("Nope!", "no"), ("noooo", "no"), ("not really", "no"),
    ("no not yet", "no"), ("never", "no"), ("I dont", "no"), ("i havent", "no"), ("i'm not", "no"),
    ("i am not", "no"),
    # a yes-phrase negated is a no: reading these as yes would hide a risk
    ("i do not", "no"), ("I have not", "no"), ("of course not", "no"), ("definitely not", "no"),
    # don't know is an answer, not a failure
    ("dunno", DONT_KNOW), ("idk", DONT_KNOW), ("IDK", DONT_KNOW), ("not sure", DONT_KNOW),
    ("dont know", DONT_KNOW), ("Don't know", DONT_KNOW), ("Don\u2019t know", DONT_KNOW),
    ("i don't know", DONT_KNOW), ("I dont know", DONT_KNOW), ("i dunno", DONT_KNOW),
    ("im not sure", DONT_KNOW), ("I'm not sure", DONT_KNOW), ("not really sure", DONT_KNOW),
    ("no idea", DONT_KNOW), ("maybe", DONT_KNOW),
    # not understood: the engine asks once more
    ("", None), ("   ", None), ("hello", None), ("what?", None), ("k", None), ("yse", None),
    ("yeah no", None), ("right now no", None),
]


@pytest.mark.parametrize(("reply", "expected"), YES_NO_TABLE)
def test_yes_no_reads_real_replies(reply: str, expected: str | None) -> None:
    parsed = parse_yes_no(reply)
    assert (parsed.value if parsed else None) == expected


SCALE_TABLE = [
    ("4", 4), ("  2  ", 2), ("2.", 2), ("5!!", 5), ("4?", 4), ("#4", 4),
    ("4/5", 4), ("1/5", 1), ("5/5", 5), ("2 out of 5", 2), ("i would say 4 out of five", 4),
    ("rated 4/5", 4), ("3 i guess", 3), ("a 4 i guess", 4), ("about a 2", 2), ("its a 3", 3),
    ("maybe 3", 3), ("3 for me", 3),
    ("four", 4), ("Four!", 4), ("three", 3), ("five stars", 5), ("one", 1), ("two", 2),
    # mistyped: near-miss spellings, and a key pressed twice
    ("for", 4), ("fore", 4), ("tree", 3), ("fiv", 5), ("44", 4), ("4444", 4), ("55", 5),
    # ambiguous or out of range: ask again rather than guess
    ("6", None), ("0", None), ("10", None), ("66", None), ("45", None), ("3 or 4", None),
    ("3-4", None), ("4 5", None), ("4 to 5", None), ("3.5", None), ("one or two", None),
    ("two 3", None), ("3 today 4 yesterday", None),
    # words, not numbers
    ("good", None), ("okay", None), ("e", None), ("", None), ("too", None),
]


@pytest.mark.parametrize(("reply", "expected"), SCALE_TABLE)
def test_scale_reads_real_replies(reply: str, expected: int | None) -> None:
    parsed = parse_scale(reply)
    assert (parsed.number if parsed else None) == expected
    if parsed is not None:
        assert parsed.value == str(expected)


@pytest.mark.parametrize("reply", ["dunno", "idk", "not sure", "Don't know", "i don't know"])
def test_scale_accepts_dont_know_as_an_answer(reply: str) -> None:
    parsed = parse_scale(reply)
    assert parsed is not None and parsed.value == DONT_KNOW and parsed.number is None


CHOICES = {"house": ("flat", "home"), "hostel": ("shelter",), "street": ("rough", "outside")}


@pytest.mark.parametrize(("reply", "expected"), [
    ("1", "house"), ("2", "hostel"), ("3", "street"), ("House", "house"), ("my flat", "house"),
    ("in a hostel", "hostel"), ("sleeping rough", "street"),
    ("4", None), ("0", None), ("home or hostel", None), ("x", None), ("", None),
])
def test_choice_reads_the_number_or_a_word_of_one_option(reply: str, expected: str | None) -> None:
    parsed = parse_choice(reply, CHOICES)
    assert (parsed.value if parsed else None) == expected


@pytest.mark.parametrize(("reply", "expected"), [
    ("no", "no"), ("Nothing", "Nothing"), ("n/a", "n/a"), ("  can you ring me  ", "can you ring me"),
])
def test_free_text_keeps_what_was_said(reply: str, expected: str) -> None:
    parsed = parse_free_text(reply)
    assert parsed is not None and parsed.value == expected


def test_free_text_needs_some_words_and_is_capped() -> None:
    assert parse_free_text("") is None
    assert parse_free_text("   \n") is None
    long = parse_free_text("x" * 5000)
    assert long is not None and len(long.value) == 1000
