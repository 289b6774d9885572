"""Context rules, each tested both ways: negation, idioms, other people, resolved past events."""

from __future__ import annotations

import pytest

from escalation.detect import rules_only

# The rules' own behaviour (the learned layer on top may add findings: see test_learned.py).
assess = rules_only().assess


def risks(text: str) -> list[str]:
    return assess(text).risks


# --- negation ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "I'm not suicidal, just tired",
    "I would never hurt myself",
    "no thoughts of self harm this week",
    "not had any urges to use",
    "at least the landlord isn't chucking me out",
])
def test_negated_phrases_do_not_fire(text: str) -> None:
    assert risks(text) == []


@pytest.mark.parametrize("text, category", [
    ("I don't want to be alive", "crisis"),
    ("dont want to wake up tomorrow", "crisis"),
    ("I can't go on", "crisis"),
    ("not gonna lie I want to die", "crisis"),          # pseudo-negation
    ("no money and i want to die", "crisis"),           # negation scope ends at "and"
    ("I'm not going to do anything stupid but I think about it all the time", "crisis"),
    ("not safe at home", "domestic_abuse"),
])
def test_negation_inside_the_phrase_or_out_of_scope_still_fires(text: str, category: str) -> None:
    assert category in risks(text)


def test_a_strong_phrase_stays_urgent_whatever_surrounds_it() -> None:
    a = assess("don't worry, i've taken an overdose, no big deal lol")
    assert a.severity()["crisis"] == "urgent"
    b = assess("my mate says I'm being dramatic but I'm going to kill myself tonight")
    assert b.severity()["crisis"] == "urgent"


# --- idioms -----------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "I'd kill for a bacon roll",
    "dying for a brew",
    "killing it at work this week",
    "my feet are killing me",
    "sick to death of the buses",
    "my mum will kill me when she finds out I lost my keys",
    "one more form and I'll top myself 😂",
    "phone's dead, will ring later",
])
def test_idioms_do_not_fire(text: str) -> None:
    assert risks(text) == []


@pytest.mark.parametrize("text", [
    "I want to kill myself",
    "dying inside, i want to die",
    "i feel like killing myself",
])
def test_the_literal_forms_of_idiom_words_still_fire(text: str) -> None:
    assert "crisis" in risks(text)


# --- other people -----------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "my mate is sleeping rough",
    "my cousin's boyfriend hits her",
    "my neighbour got evicted today, bailiffs and everything",
    "my brother overdosed but he's ok now",
])
def test_someone_elses_trouble_does_not_fire(text: str) -> None:
    assert risks(text) == []


@pytest.mark.parametrize("text, category", [
    ("my mate got evicted and I was living with him so I'm out too", "housing"),
    ("my mate topped himself and I keep thinking I should do the same", "crisis"),
    ("my partner hits me", "domestic_abuse"),
    ("they're evicting me next month", "housing"),
    ("my ex threatened to hurt the kids", "domestic_abuse"),   # a child at risk from the mentee's ex
])
def test_the_mentee_affected_still_fires(text: str, category: str) -> None:
    assert category in risks(text)


# --- resolved past events ---------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "I used to self harm years ago but I'm good now",
    "was homeless last year, got a flat now",
    "used to sofa surf for years, so grateful for my place",
    "my ex used to hit me but that's years ago and she's not in my life",
])
def test_resolved_past_events_do_not_fire(text: str) -> None:
    assert risks(text) == []


@pytest.mark.parametrize("text, category", [
    ("I used to self harm and I've started again", "crisis"),
    ("used to sleep rough and I'm back on the streets again", "housing"),
    ("my ex used to hit me and he hit me again last night", "domestic_abuse"),
    ("she threw a mug at me last week", "domestic_abuse"),
])
def test_recent_or_repeated_events_still_fire(text: str, category: str) -> None:
    assert category in risks(text)


# --- severity ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, category", [
    ("got nowhere to sleep tonight", "housing"),
    ("sleeping in the car", "housing"),
    ("been saving up my tablets", "crisis"),
    ("he said he'll kill me if I leave", "domestic_abuse"),
    ("he had his hands round my throat", "domestic_abuse"),
])
def test_urgent_cases_are_urgent(text: str, category: str) -> None:
    assert assess(text).severity()[category] == "urgent"


@pytest.mark.parametrize("text, category", [
    ("got a section 21 today", "housing"),
    ("wish i was dead", "crisis"),
    ("she checks my phone every night", "domestic_abuse"),
])
def test_other_cases_are_a_concern(text: str, category: str) -> None:
    assert assess(text).severity()[category] == "concern"


def test_laughter_does_not_lower_an_urgent_risk() -> None:
    assert assess("sleeping rough tonight lol 😂").severity()["housing"] == "urgent"


# --- negation scope: a new subject, and phrases that carry their own negation --------------

@pytest.mark.parametrize("text, category", [
    ("if i dont give him my card he hits me", "domestic_abuse"),     # "he" starts a new proposition
    ("no home no family no reason to live", "crisis"),              # "no reason to live" carries its own "no"
    ("heads not right thinking of ending things", "crisis"),        # "not right" is not a negation of what follows
])
def test_negation_does_not_reach_past_a_new_subject_or_into_a_self_negating_phrase(text: str, category: str) -> None:
    assert category in risks(text)


@pytest.mark.parametrize("text", [
    "probation asked if i was suicidal, im not",                    # the subject straight after the cue is negated
    "no thoughts of ending it",
    "I would never hurt myself",
])
def test_negation_straight_before_the_phrase_still_applies(text: str) -> None:
    assert risks(text) == []


# --- other people named after the phrase, and the mentee among others ---------------------

def test_someone_else_named_just_after_the_phrase_is_their_trouble() -> None:
    assert risks("the bailiffs came for my neighbour") == []
    assert risks("bailiff letter was for the last tenant") == []


def test_the_mentee_named_after_the_phrase_still_fires() -> None:
    assert "housing" in risks("bailiffs are coming for me friday")


def test_the_mentee_among_others_is_first_person() -> None:
    assert "domestic_abuse" in risks("me and the kids are terrified of him")
    assert risks("the kids are terrified of him") == []


# --- idioms added with the challenge set -------------------------------------------------

@pytest.mark.parametrize("text", [
    "OD'd on chocolate at easter lol",
    "laughing so hard i nearly died",
    "saw a samaritans poster at the station",
    "volunteering at the night shelter",
    "section 21 of the form is confusing",
    "she'll kill me if i'm late for dinner",
])
def test_new_idioms_do_not_fire(text: str) -> None:
    assert risks(text) == []


@pytest.mark.parametrize("text, category", [
    ("i overdosed on my tablets", "crisis"),
    ("need the samaritans number", "crisis"),
    ("need a bed at the night shelter tonight", "housing"),
    ("she'll kill me if i leave", "domestic_abuse"),
])
def test_the_literal_forms_of_the_new_idioms_still_fire(text: str, category: str) -> None:
    assert category in risks(text)
