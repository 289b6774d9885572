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
    # Welsh
    "prawf", "carchar", "mentora", "mentai", "diogel", "diogelwch", "cam-drin", "trais",
    "hunanladdiad", "heddlu", "lloches", "digartref", "digartrefedd",
)
_PATTERN = re.compile(r"(?<![A-Za-z])(" + "|".join(re.escape(w) for w in GIVEAWAY_WORDS) + r")(?![A-Za-z])",
                      re.IGNORECASE)
_NUMBER = re.compile(r"(?<!\d)(0\d{3}(?: ?\d){6,7}|116 ?\d{3}|\d{5}|111|999)(?!\d)")
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
def giveaways(text: str, org_name: str = "") -> list[str]:
    """The words in `text` a discreet mentee must never be sent (empty: fine)."""
    found = [m.group(1).lower() for m in _PATTERN.finditer(text)]
    if org_name.strip() and org_name.strip().lower() in text.lower():
        found.append(org_name.strip())
    return found


def discreet_text(text: str, org_name: str = "", language: str = "en",
                  numbers: dict[str, str] | None = None) -> str:
    """`text` if it gives nothing away, else its discreet wording, else a neutral line.

    The discreet wording is the catalogue's: a text that begins like a catalogue text `KEY` (its
    words before the first placeholder) becomes `KEY_discreet`; the rest keep only their free
    numbers ("discreet.emergency", "discreet.free_numbers") or become "discreet.neutral".
    `numbers` are config [replies]' helpline numbers (UK defaults if not given).
    """
    if not giveaways(text, org_name):
        return text
    from bot.wording.catalogue import catalogue

    values = {"emergency": "999", **(numbers or {})}
    emergency = values["emergency"]
    texts = catalogue(language)
    keys = set(texts.texts) | (set(texts.fallback.texts) if texts.fallback else set())
    for key in sorted(keys):
        if not key.endswith("_discreet") or key.removesuffix("_discreet") not in keys:
            continue
        start = _PLACEHOLDER.split(texts.text_template(key.removesuffix("_discreet")))[0]
        if len(start) >= 8 and text.startswith(start):
            instead = texts.text(key, **values)
            if not _PLACEHOLDER.search(instead) and not giveaways(instead, org_name):
                return instead
    # A safety reply keeps its numbers (the mentee asked for help), never its words.
    free = [n for n in dict.fromkeys(_NUMBER.findall(text)) if n != emergency]
    lines = [texts.text("discreet.emergency", emergency=emergency)] if emergency in text else []
    if free:
        lines.append(texts.text("discreet.free_numbers", numbers=", ".join(free)))
    return " ".join(lines) if lines else texts.text("discreet.neutral")
