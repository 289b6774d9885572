"""Normalisation: text-speak, misspellings, apostrophes, stretched letters, emoji; evidence from the original."""

from __future__ import annotations

import pytest

from escalation.detect import DEFAULT, assess


@pytest.mark.parametrize("text, category", [
    ("im gonna kill myself", "crisis"),
    ("cant do this no more kms", "crisis"),
    ("having suicidle thoughts agen", "crisis"),
    ("I WANT TO DIE", "crisis"),
    ("i wanttt to dieeee", "crisis"),
    ("sooooo done, i want to dieee", "crisis"),
    ("I\u2019m homeless", "housing"),
    ("homless again", "housing"),
    ("no where to sleep 2nite", "housing"),
    ("sofa surfin", "housing"),
    ("💊💊💊", "crisis"),
    ("he went for me with a 🔪", "domestic_abuse"),
    ("self-harming again", "crisis"),
    ("stuck in a B&B and they said the b&b place ends friday", "housing"),
])
def test_informal_spellings_reach_the_rules(text: str, category: str) -> None:
    assert category in assess(text).risks


def test_evidence_is_an_excerpt_of_what_the_mentee_wrote() -> None:
    findings = {f.rule_id: f for f in assess("Honestly mate, IM GONNA KILL MYSELF tonight").findings}
    assert findings["crisis.intent"].evidence == "IM GONNA KILL MYSELF"


def test_evidence_for_an_emoji_is_the_emoji() -> None:
    finding = assess("💊💊💊").findings[0]
    assert set(finding.evidence) == {"💊"}


def test_normalised_text_maps_back_to_the_original_span() -> None:
    assert DEFAULT is not None
    norm = DEFAULT._normaliser.normalise("u ok? im sleepin rough")
    assert norm.text == "you ok? i'm sleeping rough"
    start = norm.text.index("sleeping")
    assert norm.excerpt(start, len(norm.text)) == "sleepin rough"
