"""Discreet mode: no organisation name and no words about probation, mentoring or safety in any
text to a mentee whose phone someone else may read. Staff alerts are unchanged.

`giveaways` is the check (flow files and every outgoing text to a discreet mentee pass it);
`discreet_text` is the last guard in the outbox: a text that would give something away is
replaced by its discreet wording, or by a neutral line, and never sent as it was.
"""

from __future__ import annotations

import re

# Words that say what the service is about. Matched as whole words, any case.
GIVEAWAY_WORDS = (
    "probation", "licence", "offender", "offending", "prison", "released", "release", "court",
    "mentor", "mentors", "mentoring", "mentee", "charity", "support worker", "keyworker",
    "safe", "safely", "safety", "unsafe", "abuse", "abusive", "violence", "violent", "domestic",
    "refuge", "crisis", "suicide", "self-harm", "harm", "risk", "danger", "helpline", "samaritans",
    "shelter", "police", "duty to refer", "council", "housing",
)
_PATTERN = re.compile(r"(?<![A-Za-z])(" + "|".join(re.escape(w) for w in GIVEAWAY_WORDS) + r")(?![A-Za-z])",
                      re.IGNORECASE)
NEUTRAL = "Thanks, got your message."
_NUMBER = re.compile(r"(?<!\d)(0\d{3}(?: ?\d){6,7}|116 ?\d{3}|\d{5}|111|999)(?!\d)")
# Known texts that are not from a flow file, and what a discreet mentee gets instead. Matched by
# how they begin (their endings carry names and numbers).
_KNOWN = (
    ("This is ", "Text CHECKIN to talk, or STOP to stop these texts."),  # HELP
    ("Thanks, your mentor", NEUTRAL),
    ("Sorry, I can only read typed messages", "Sorry, I can only read typed messages. Please type your reply."),
    ("That check-in has finished", "That one has finished. Text CHECKIN to start again."),
)


def giveaways(text: str, org_name: str = "") -> list[str]:
    """The words in `text` a discreet mentee must never be sent (empty: fine)."""
    found = [m.group(1).lower() for m in _PATTERN.finditer(text)]
    if org_name.strip() and org_name.strip().lower() in text.lower():
        found.append(org_name.strip())
    return found


def discreet_text(text: str, org_name: str = "") -> str:
    """`text` if it gives nothing away, else its discreet wording, else a neutral line."""
    if not giveaways(text, org_name):
        return text
    for start, instead in _KNOWN:
        if text.startswith(start) and not giveaways(instead, org_name):
            return instead
    # A safety reply keeps its numbers (the mentee asked for help), never its words.
    numbers = [n for n in dict.fromkeys(_NUMBER.findall(text)) if n != "999"]
    if numbers or "999" in text:
        lines = ["In an emergency call 999."] if "999" in text else []
        if numbers:
            lines.append("Free, any time: " + ", ".join(numbers) + ".")
        return " ".join(lines)
    return NEUTRAL
