"""A crisis flag is urgent when it is for now or names killing oneself; otherwise a concern."""

from __future__ import annotations

import pytest

from escalation.detect import assess as assess_all
from escalation.detect import rules_only

# Mostly the rules' own behaviour (the learned layer on top may add findings: see
# test_learned.py); what must be found urgent is checked on the whole detector.
assess = rules_only().assess


@pytest.mark.parametrize("text", [
    "I want to kill myself",
    "i keep thinking about suicide",
    "I have the tablets saved and tonight im taking the lot",
    "cant do this anymore, its ending today",
    "thinking about ending it rn",
])
def test_crisis_for_now_or_explicit_is_urgent(text: str) -> None:
    assert assess_all(text).severity().get("crisis") == "urgent"


@pytest.mark.parametrize("text", [
    "i want to die",
    "i dont want to be here anymore",
    "sometimes i wish i could go to sleep and not wake up",
])
def test_a_passive_wish_without_timing_stays_a_concern(text: str) -> None:
    assert assess(text).severity().get("crisis") == "concern"


@pytest.mark.parametrize("text", [
    "im not going to kill myself, dont worry",
    "used to want to kill myself years ago, not now",
    "my tea tonight was shocking, could have killed the chef",
])
def test_timing_words_never_create_a_crisis_flag_on_their_own(text: str) -> None:
    assert "crisis" not in assess(text).risks
