"""Service keywords recognised before any flow sees a message: STOP, START, HELP, CHECKIN.

Only a message that is the keyword alone counts (as carriers do): "stop texting me at work" is a
message for the mentor, not an opt-out. A bare opt-out phrasing with nothing else in it ("please
stop texting me", "no more texts", "unsubscribe me") is a request to stop too: carriers do not
act on it, so the service confirms it itself (see `is_keyword_alone`).
"""

from __future__ import annotations

import re
from typing import Literal

Keyword = Literal["stop", "start", "help", "checkin"]

STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
START_WORDS = frozenset({"start", "unstop", "yes"})  # YES re-subscribes only someone opted out
HELP_WORDS = frozenset({"help", "info"})
CHECKIN_WORDS = frozenset({"checkin", "check in", "check-in"})
# The whole message, once cleaned: a polite word either side, nothing else.
_POLITE = r"(?:please|pls|plz|plez|can you|could you|can u|could u|just|ok|okay|thanks|thank you|ta|cheers)"
OPT_OUT_PHRASE = re.compile(
    rf"^(?:{_POLITE} )*"
    r"(?:(?:stop|quit|no more|dont|don't|do not|never) "
    r"(?:texting|txting|messaging|msging|sending|contacting|text|txt|message|msg|send|contact|"
    r"texts|txts|messages|msgs)(?: me)?(?: (?:texts|messages|msgs|txts))?"
    r"|(?:unsubscribe|opt|take|remove) me(?: out| off)?(?: (?:the|your|this) list)?"
    r"|i want to (?:opt out|unsubscribe|stop (?:getting|receiving) (?:these|the|your) (?:texts|messages)))"
    r"(?: (?:any ?more|now|again|ever))?"
    rf"(?: {_POLITE})*$"
)


def is_opt_out_phrase(text: str) -> bool:
    """True if `text` is only a request to stop messages ("please stop texting me")."""
    cleaned = re.sub(r"[^a-z' ]", " ", text.strip().lower().replace("\u2019", "'"))
    return OPT_OUT_PHRASE.match(" ".join(cleaned.split())) is not None


def keyword_of(text: str, opted_out: bool = False, language: str = "en") -> Keyword | None:
    """The service keyword `text` is, if any. A keyword is not risk-assessed by the learned
    model (one word gives it nothing to go on: "STOP" is not a crisis), only by the rules.
    `language`'s own words count too (the catalogue's [answers] stop / start / help: "STOPIO")."""
    cleaned = re.sub(r"[^a-z -]", "", text.strip().lower()).strip()
    squashed = re.sub(r"[ -]", "", cleaned)  # "opt out", "OPT-OUT", "stop all"
    own = _own_words(language)
    if (cleaned in STOP_WORDS or squashed in STOP_WORDS - {"end"} or is_opt_out_phrase(text)
            or _said(text, own["stop"])):
        return "stop"
    if (cleaned in START_WORDS and (cleaned != "yes" or opted_out)) or _said(text, own["start"]):
        return "start"
    if cleaned in HELP_WORDS or _said(text, own["help"]):
        return "help"
    if cleaned in CHECKIN_WORDS or squashed == "checkin":
        return "checkin"
    return None


def _own_words(language: str) -> dict[str, frozenset[str]]:
    if language == "en":
        return {"stop": frozenset(), "start": frozenset(), "help": frozenset()}
    from bot.wording.catalogue import keyword_words

    return keyword_words(language)


def _said(text: str, words: frozenset[str]) -> bool:
    """The whole message is one of `words` (a polite word either side allowed)."""
    if not words:
        return False
    cleaned = " ".join(re.sub(r"[^a-z' -]", " ", text.strip().lower().replace("\u2019", "'")).split())
    cleaned = re.sub(r"^(?:plis |os gwelwch yn dda |diolch )+|(?: plis| os gwelwch yn dda| diolch)+$",
                     "", cleaned)
    return cleaned in words


def is_keyword_alone(text: str) -> bool:
    """True if `text` is a carrier keyword itself (STOP, START...), which the carrier acts on and
    confirms; False for an opt-out phrasing, which only we act on and must confirm."""
    cleaned = re.sub(r"[^a-z -]", "", text.strip().lower()).strip()
    squashed = re.sub(r"[ -]", "", cleaned)
    return cleaned in STOP_WORDS | START_WORDS | HELP_WORDS or squashed in STOP_WORDS
