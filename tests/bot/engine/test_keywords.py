"""Service keywords: only a message that is the keyword alone counts, as carriers do."""

from __future__ import annotations

import pytest

from bot.engine.keywords import keyword_of


@pytest.mark.parametrize("text", [
    "STOP", "stop", "Stop.", " stop ", "STOP!", "stopall", "STOP ALL", "unsubscribe", "cancel",
    "END", "quit", "revoke", "optout", "opt out",
])
def test_the_stop_family_opts_out(text: str) -> None:
    assert keyword_of(text) == "stop"
    assert keyword_of(text, opted_out=True) == "stop"


@pytest.mark.parametrize("text", ["START", "start", "Unstop", "UNSTOP!"])
def test_start_and_unstop_opt_back_in(text: str) -> None:
    assert keyword_of(text) == "start"
    assert keyword_of(text, opted_out=True) == "start"


def test_yes_re_subscribes_only_someone_who_opted_out() -> None:
    # Otherwise YES is an answer to a check-in question, never a keyword.
    assert keyword_of("YES") is None
    assert keyword_of("yes") is None
    assert keyword_of("YES", opted_out=True) == "start"


@pytest.mark.parametrize("text", ["HELP", "help", "Help?", "INFO"])
def test_help(text: str) -> None:
    assert keyword_of(text) == "help"


@pytest.mark.parametrize("text", ["CHECKIN", "checkin", "check in", "Check-in", "CHECK IN!"])
def test_checkin_on_demand(text: str) -> None:
    assert keyword_of(text) == "checkin"


@pytest.mark.parametrize("text", [
    "stop texting me at work", "please stop", "I want to stop", "can't stop crying",
    "help me", "I need help", "start again tomorrow?", "at the end of my tether",
    "no", "4", "", "  ", "yes please",
])
def test_a_keyword_inside_a_sentence_is_a_message_not_a_keyword(text: str) -> None:
    assert keyword_of(text) is None
    assert keyword_of(text, opted_out=True) is None
