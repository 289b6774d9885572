"""Round four: behaviours behind the phrasing families a blind set missed (both ways)."""

from __future__ import annotations

import pytest

from escalation.detect import assess as assess_all
from escalation.detect import rules_only

# The rules' own behaviour (the learned layer on top may add findings: see test_learned.py).
assess = rules_only().assess


def test_a_strong_phrase_with_laughter_still_fires_urgent() -> None:
    a = assess("im going to kill myself lol")
    assert a.severity().get("crisis") == "urgent"


def test_laughter_about_the_mentee_overdosing_still_fires() -> None:
    assert "crisis" in assess("if i od'd would anyone notice lol").risks


def test_the_one_more_hyperbole_is_set_aside_only_with_laughter() -> None:
    assert assess("if I eat one more pot noodle I'm gonna kill myself 😂").risks == []
    assert assess("one more night like this and i'm going to kill myself").severity()["crisis"] == "urgent"


@pytest.mark.parametrize("text", [
    "would be easier if i went to sleep and didn't wake up, not gonna do anything tho",
    "it'd be easier to just not wake up. i won't do anything dont worry",
    "if i dont wake up tomorrow so be it, not going to do anything",
])
def test_a_reassurance_does_not_cancel_a_passive_wish(text: str) -> None:
    assert "crisis" in assess(text).risks


@pytest.mark.parametrize("text", [
    "mam says she'll kill me if I miss nan's 80th haha",
    "she takes all my money at the bingo",
    "the missus controls the telly remote",
    "my daughter's boyfriend is controlling",
    "my mate got evicted",
    "was sleeping rough for 2 years before prison, settled in my flat now 18 months",
    "getting my own flat through the council",
    "my methadone script got changed",
    "the probation office has moved, where do I go now",
    "the train was late again, stood on the platform for an hour",
])
def test_banter_third_parties_good_news_and_look_alikes_raise_nothing(text: str) -> None:
    assert assess(text).risks == []


def test_a_laughing_threat_about_leaving_is_not_banter() -> None:
    assert "domestic_abuse" in assess("he'll kill me if i leave him lol").risks


def test_locked_out_of_the_hostel_is_housing_not_abuse() -> None:
    assert assess_all("locked me out of the hostel for curfew").risks == ["housing"]


def test_a_time_with_a_full_stop_does_not_split_the_sentence() -> None:
    assert "crisis" in assess("thought about stepping in front of the 6.15 train this morning").risks


@pytest.mark.parametrize("text, category", [
    ("sat under the bridge thinking about jumping", "crisis"),
    ("there's a footbridge with no fences near the station, keep thinking about it", "crisis"),
    ("make sure the boys get my letters", "crisis"),
    ("stashed my sleepers in my sock drawer", "crisis"),
    ("how many of my pregabs would it take", "crisis"),
    ("hoping i dont make it through the night", "crisis"),
    ("the hotel the council found me ends on friday", "housing"),
    ("our lass battered me again", "domestic_abuse"),
    ("me fella slapped us", "domestic_abuse"),
    ("text only, don't ring, she's in", "domestic_abuse"),
    ("my ex keeps making up lies to the police about me", "domestic_abuse"),
])
def test_new_phrasings_of_each_family_are_caught(text: str, category: str) -> None:
    assert category in assess(text).risks
