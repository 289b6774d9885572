"""Risk across a conversation: a mentee's recent messages read together.

One text can look harmless and still finish a sentence the one before began ("got the letter
today" ... "its a section 21"), answer a staff member's question ("Are you thinking of hurting
yourself?" ... "yeah a bit"), or come after low check-in scores ("2" ... "whats the point").
`assess_window` reads the latest message with what came shortly before it and returns only
what the latest message alone did not show. Pure: the caller loads the window and stores any
finding as it would a single message's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from escalation.detect.detector import Assessment, Finding

WINDOW = timedelta(hours=2)
MAX_MESSAGES = 5
LOW_MOOD = 2  # a check-in score of 1 or 2 out of 5
MOOD_WINDOW = timedelta(days=3)


@dataclass(frozen=True)
class WindowItem:
    """One thing in the conversation: a mentee's message, a message to them, or a mood score."""

    at: datetime
    text: str = ""
    from_mentee: bool = True
    from_staff: bool = False  # a message a person on the staff wrote to the mentee
    mood: int | None = None  # a check-in mood answer (1-5)


# A short answer that says yes, or no, to a question.
_YES = re.compile(
    r"^\W*(?:y|ye|yes|yeah|yea|yep|yup|aye|ya|yh|i am|i do|i have|kind of|kinda|sort of|sorta|a bit|a little"
    r"|maybe|i think so|probably|sometimes|mostly|mhm|uh huh|think so|dunno maybe|not sure|honestly yes"
    r"|yes i am|yeah i am|yeah a bit|yes a bit)\b[\w\s,.!']{0,40}$",
    re.IGNORECASE,
)
_NO = re.compile(r"^\W*(?:no|nah|nope|na|not really|no i'm not|no im not|not at all|no not really|not safe)\b",
                 re.IGNORECASE)
_YOU = (
    (re.compile(r"\byourself\b", re.I), "myself"), (re.compile(r"\byour\b", re.I), "my"),
    (re.compile(r"\byou're\b", re.I), "i'm"), (re.compile(r"\bare you\b", re.I), "i am"),
    (re.compile(r"\bhave you\b", re.I), "i have"), (re.compile(r"\bdo you\b", re.I), "i"),
    (re.compile(r"\bis (?:he|she|someone|anyone)\b", re.I), "someone is"),
    (re.compile(r"\byou\b", re.I), "i"),
)
# "Are you safe?" asks the other way round: "no" is the risky answer.
_SAFETY = re.compile(r"\b(?:safe|somewhere to (?:stay|sleep|go)|a roof|a bed)\b", re.IGNORECASE)
_HOUSING_WORDS = re.compile(r"\b(?:sleep|stay|tonight|roof|bed|live|living|place|address|housing)\b", re.IGNORECASE)
_HOME_WORDS = re.compile(r"\b(?:at home|home|him|her|partner|he|she|them|they|house)\b", re.IGNORECASE)
_DESPAIR = re.compile(
    r"\b(?:what'?s the point|whats the point|no point|can'?t do this|cant do this|had enough|give up|giving up"
    r"|done with (?:it|everything|life)|can'?t cope|cant cope|tired of (?:it|everything|life)|sick of (?:it|everything|life)"
    r"|can'?t go on|cant go on|nothing left|no way out|hate my ?self|pointless|worthless|hopeless|no hope"
    r"|don'?t care any ?more|dont care anymore|wish i wasn'?t here|fed up of (?:it|everything|life))\b",
    re.IGNORECASE,
)


def assess_window(items: Sequence[WindowItem], latest: Assessment, assess: Callable[[str], Assessment],
                  now: datetime, *, span: timedelta = WINDOW,
                  assess_joined: Callable[[str], Assessment] | None = None) -> list[Finding]:
    """Findings the latest mentee message shows only together with what came before.

    `items` are oldest first and end with the latest mentee message; `latest` is its own
    assessment; `assess` checks one text (the detector). The messages read together go through
    `assess_joined` (default `assess`; the service passes the phrase rules alone, because a
    bag-of-words model adds up weak words from unrelated texts). Categories the latest message,
    or any earlier message on its own, already raised are left out: those alerts exist already.
    """
    assess_joined = assess_joined or assess
    recent = [i for i in items if now - i.at <= span]
    if not recent or not recent[-1].from_mentee:
        return []
    current = recent[-1]
    texts = [i for i in recent if i.from_mentee and i.mood is None and i.text.strip()][-MAX_MESSAGES:]
    already = {f.category for f in latest.findings}
    for earlier in texts[:-1]:
        already |= {f.category for f in assess(earlier.text).findings}
    found: dict[str, Finding] = {}
    if len(texts) > 1:
        together = assess_joined(". ".join(t.text.strip().rstrip(".") for t in texts))
        for f in together.findings:
            if f.category not in already and f.category != "review" and f.category not in found:
                found[f.category] = Finding(f.category, f.severity, f.evidence, f"window.{f.rule_id}")
    question = _last_staff_question(recent[:-1])
    if question is not None:
        for f in _answered(question, current.text, assess):
            if f.category not in already and f.category not in found:
                found[f.category] = f
    if "crisis" not in already and "crisis" not in found and _DESPAIR.search(current.text):
        low = [i.mood for i in items if i.mood is not None and now - i.at <= MOOD_WINDOW]
        if low and min(low) <= LOW_MOOD:
            found["crisis"] = Finding("crisis", "concern", f"check-in score {min(low)}/5, then: "
                                      f"{current.text.strip()[:80]}", "window.low-mood-despair")
    return list(found.values())


def _last_staff_question(items: Sequence[WindowItem]) -> WindowItem | None:
    """The staff question the mentee is answering: the last thing said to them, if a person
    asked it and nothing from the mentee came after it."""
    for item in reversed(items):
        if item.from_mentee:
            return None
        if item.from_staff and "?" in item.text:
            return item
    return None


def _answered(question: WindowItem, answer: str, assess: Callable[[str], Assessment]) -> list[Finding]:
    """What a yes or a no to a staff member's question says."""
    said = question.text.split("?")[0]
    statement = said
    for pattern, replacement in _YOU:
        statement = pattern.sub(replacement, statement)
    quoted = f'"{question.text.strip()[:60]}" - "{answer.strip()[:40]}"'
    if _YES.match(answer):
        return [Finding(f.category, "urgent" if f.category == "crisis" else f.severity, quoted,
                        f"window.answer.{f.rule_id}")
                for f in assess(statement).findings if f.category != "review"]
    if _NO.match(answer) and _SAFETY.search(said):
        if _HOUSING_WORDS.search(said) and not _HOME_WORDS.search(said):
            category = "housing"
        elif _HOME_WORDS.search(said):
            category = "domestic_abuse"
        else:
            category = "crisis"
        return [Finding(category, "urgent", quoted, "window.answer.not-safe")]
    return []
