"""GSM-7 shaping and splitting: what a basic phone receives is GSM-7, one segment a text, and
nothing of the message is lost or reordered by the split."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.gsm7 import (
    EXTENDED,
    SINGLE_SEGMENT,
    gsm7_length,
    is_gsm7,
    segment_count,
    sms_parts,
    split_words,
    to_gsm7,
)

# Words drawn from GSM-7 letters, extension characters (two septets each) and some that are not
# GSM-7 at all, so shaping, counting and splitting all get exercised.
WORD = st.text(alphabet=st.sampled_from(list("abcXYZ019£é€{}[]^~|\\’—…😊ł")), min_size=1, max_size=200)
TEXT = st.lists(WORD, min_size=1, max_size=30).map(" ".join)


def test_look_alikes_become_gsm7_and_keep_their_meaning() -> None:
    assert to_gsm7("It’s “fine” – see you… 🙂") == "It's \"fine\" - see you... :)"
    assert to_gsm7("Łódź") == "Lodz"


def test_an_extension_character_costs_two_septets() -> None:
    assert gsm7_length("€5") == 3
    assert segment_count("€" * 80) == 1
    assert segment_count("€" * 81) == 2


def test_a_long_run_of_extension_characters_is_cut_within_a_segment() -> None:
    parts = split_words("€" * 170)
    assert [gsm7_length(p) for p in parts] == [160, 160, 20]
    assert "".join(parts) == "€" * 170


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_every_part_is_gsm7_and_one_segment_and_nothing_is_lost(text: str) -> None:
    parts = sms_parts(text)
    assert all(is_gsm7(p) and gsm7_length(p) <= SINGLE_SEGMENT for p in parts)
    shaped = to_gsm7(text)
    assert "".join(parts).replace(" ", "") == shaped.replace(" ", "")
    if gsm7_length(shaped) <= SINGLE_SEGMENT:
        assert parts == [shaped]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(sorted(EXTENDED - {"\f"})), min_size=1, max_size=400).map("".join))
def test_splitting_never_overruns_whatever_the_mix_of_two_septet_characters(word: str) -> None:
    assert all(gsm7_length(p) <= SINGLE_SEGMENT for p in split_words(word))
