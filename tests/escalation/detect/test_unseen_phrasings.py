"""Phrasings written independently of the rules and the dev set: a small generalisation check."""

from __future__ import annotations

import pytest

from escalation.detect import assess

CASES = [
 ("honestly think everyone would be better off if i just disappeared", "crisis"),
 ("I keep thinking about ending my life", "crisis"),
 ("took a load of my mams tablets, feel weird", "crisis"),
 ("i cant see a way out of this anymore, i want it all to stop", "crisis"),
 ("got a stash of paracetamol in my drawer", "crisis"),
 ("whats the number for the samaritans", "crisis"),
 ("been self harming again", "crisis"),
 ("i just want to go to sleep and never wake up", "crisis"),
 ("had a bad relapse on heroin and nearly died", "crisis"),
 ("theres no point in me being here", "crisis"),
 ("i feel suicidal", "crisis"),
 ("i dont want to live anymore", "crisis"),
 ("I'd kill for a bacon roll", None),
 ("killing it at work this week", None),
 ("my feet are killing me", None),
 ("sick to death of the bus being late", None),
 ("not suicidal just knackered", None),
 ("I used to self harm years ago but I'm good now", None),
 ("my cousin is homeless", None),
 ("my mate tried to kill himself", None),
 ("was homeless last year, got a flat now", None),
 ("I'd never hurt myself", None),
 ("landlord served me a section 21 yesterday", "housing"),
 ("bailiffs coming friday", "housing"),
 ("kipping at my mates for a bit till i sort something", "housing"),
 ("got nowhere to stay tonight", "housing"),
 ("the hostel are kicking me out on monday", "housing"),
 ("my licence says i have to live at the AP but they are moving me on next week and no address yet", "housing"),
 ("sleeping in a tent by the canal", "housing"),
 ("mum has told me to leave by the end of the month", "housing"),
 ("council says they have no duty to house me", "housing"),
 ("my ex keeps following me home from work", "domestic_abuse"),
 ("my wife slaps me when she's drunk", "domestic_abuse"),
 ("he threatened to stab me if i go to the police", "domestic_abuse"),
 ("my stepdad punched me in the face", "domestic_abuse"),
 ("she keeps my bank card and only gives me £10", "domestic_abuse"),
 ("my girlfriend reads all my messages and won't let me go out", "domestic_abuse"),
 ("my ex said she'll tell probation i hit her so i get recalled", "domestic_abuse"),
 ("im scared of my boyfriend", "domestic_abuse"),
 ("my sister's husband hits her", None),
 ("we argued about the telly but its fine", None),
 ("my mum will kill me when she finds out i lost my keys", None),
 ("my ex took out a non molestation order against me", None),
 ("the heat is killing me", None),
 ("phone's dead, ring you later", None),
 ("dying to see my kids on sunday", None),
 ("I'm not going to hurt myself", None),
 ("my mate is sleeping rough", None),
 ("got a flat now, no more sofa surfing", None),
 # Everyday replies: too short for the learned layer (it adds nothing under three words).
 ("me again", None),
 ("you there?", None),
 ("STOP", None),
 # Everyday replies model v11 misread; v12 was trained with a batch of short everyday replies
 # (round6-short) whose author was shown phrasings like these, so these pass by training.
 ("please stop texting me at work", None),
 ("hope ur well", None),
 ("stop sending me the same question, answered it yesterday", None),
 ("can we meet at the library next time", None),
]


# False alarms of the learned layer that nothing sets aside yet: no rule matches their words,
# so context never sees them, and the model reads words, not who does what to whom. Strict:
# the day one is fixed, this list must shrink.
KNOWN_FALSE_ALARMS = {
    "my cousin is homeless",
    "my mum will kill me when she finds out i lost my keys",
    "my ex took out a non molestation order against me",
    # Models v13-v14 also flagged "my sister's husband hits her", "please stop texting me at
    # work" and "can we meet at the library next time" as abuse (threshold 0.11-0.13); v15-v16
    # (abuse fitted with C 3, threshold 0.22) no longer do.
}


@pytest.mark.parametrize("text, expected", [
    pytest.param(t, e, marks=pytest.mark.xfail(strict=True, reason="a known false alarm of the learned layer"))
    if t in KNOWN_FALSE_ALARMS else (t, e)
    for t, e in CASES
])
def test_independent_phrasing_is_classified(text: str, expected: str | None) -> None:
    risks = assess(text).risks
    if expected is None:
        assert risks == []
    else:
        assert expected in risks
