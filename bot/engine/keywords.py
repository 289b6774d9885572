"""Service keywords recognised before any flow sees a message: STOP, START, HELP, CHECKIN.

Only a message that is the keyword alone counts (as carriers do): "stop texting me at work" is a
message for the mentor, not an opt-out.
"""

from __future__ import annotations

import re
from typing import Literal

Keyword = Literal["stop", "start", "help", "checkin"]

STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
START_WORDS = frozenset({"start", "unstop", "yes"})  # YES re-subscribes only someone opted out
HELP_WORDS = frozenset({"help", "info"})
CHECKIN_WORDS = frozenset({"checkin", "check in", "check-in"})


def keyword_of(text: str, opted_out: bool = False) -> Keyword | None:
    """The service keyword `text` is, if any."""
    cleaned = re.sub(r"[^a-z -]", "", text.strip().lower()).strip()
    squashed = re.sub(r"[ -]", "", cleaned)  # "opt out", "OPT-OUT", "stop all"
    if cleaned in STOP_WORDS or squashed in STOP_WORDS - {"end"}:
        return "stop"
    if cleaned in START_WORDS and (cleaned != "yes" or opted_out):
        return "start"
    if cleaned in HELP_WORDS:
        return "help"
    if cleaned in CHECKIN_WORDS or squashed == "checkin":
        return "checkin"
    return None
