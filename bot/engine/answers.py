"""Parsing real replies into typed answers: "Y", "yeh", "nah", "4/5", "3 i guess", "dunno".

Each parser returns a ParsedAnswer or None when the reply cannot be understood (the engine then
re-asks once). "Don't know" is a real answer, not a failure: a mentee should never be nagged for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

DONT_KNOW = "dont_know"


@dataclass(frozen=True)
class AnswerWords:
    """A language's own answer words, on top of the English ones below (which every mentee may
    use): from the wording catalogue's [answers] table (bot/wording/catalogues/*.toml)."""

    yes: frozenset[str] = frozenset()
    no: frozenset[str] = frozenset()
    dont_know: frozenset[str] = frozenset()


NO_EXTRA = AnswerWords()


@dataclass(frozen=True)
class ParsedAnswer:
    value: str  # canonical value: "yes", "no", "dont_know", "3", a choice key, or free text
    number: int | None = None


_YES = {
    "y", "yes", "yeah", "yeh", "yea", "ye", "yep", "yup", "ya", "yah", "aye", "ok", "okay", "sure",
    "definitely", "course", "of course", "i am", "i do", "i have", "true", "correct", "yess",
    "yesss", "si", "affirmative", "right", "yh", "ys", "👍",
}
_NO = {
    "n", "no", "nah", "nope", "na", "naw", "nay", "not really", "no way", "never", "i am not",
    "im not", "i'm not", "i dont", "i don't", "i havent", "i haven't", "not", "nahh", "noo",
    "nooo", "nop", "false", "negative", "not at all", "👎",
}
_DONT_KNOW = {
    "dunno", "dont know", "don't know", "idk", "not sure", "unsure", "no idea", "dk", "maybe",
    "possibly", "perhaps", "kind of", "kinda", "sort of", "sorta", "?", "don't no", "dont no",
    # Longer than the "i dont" / "im not" / "not really" that would otherwise read them as no.
    "i dont know", "i don't know", "i dont no", "i don't no", "i dunno", "im not sure",
    "i'm not sure", "i am not sure", "not really sure", "not too sure", "no clue", "not a clue",
}
# Plain yes-words: "yeah no" is contradictory. Phrases like "i do", "of course" followed by
# "not" are plain negatives ("i have not", "of course not", "definitely not").
_PLAIN_YES = {"y", "yes", "yeah", "yeh", "yea", "ye", "yep", "yup", "ya", "yah", "aye", "ok",
              "okay", "yess", "yh", "ys", "si", "👍"}
_NEGATORS = {"no", "not", "never", "nah", "nope", "na"}
_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "won": 1, "too": 2, "to": 2, "tree": 3, "for": 4, "fore": 4, "fiv": 5,
}
# A phone keypad neighbour typo ("6" for "5") is not guessed at; only digits 1-5 count.
_SCALE_DIGIT = re.compile(r"(?<![\d.])([1-5])(?:\s*(?:/|out of|outta|of)\s*(?:5|five))?(?![\d.])")
_OTHER_DIGIT = re.compile(r"\d")
_DOUBLED_DIGIT = re.compile(r"(?<![\d.])([1-5])\1(?![\d.])")
_AMBIGUOUS_WORDS = {"to", "too", "for", "fore", "won"}  # also plain English words


def _clean(text: str) -> str:
    text = text.strip().lower()
    text = text.replace("’", "'").replace("‘", "'")
    text = re.sub(r"[!.,;:]+$", "", text)
    text = re.sub(r"(.)\1{2,}", r"\1\1", text)  # "yesssss" -> "yess"
    return re.sub(r"\s+", " ", text).strip()


def parse_yes_no(text: str, extra: AnswerWords = NO_EXTRA) -> ParsedAnswer | None:
    """Yes, no or don't know, from the first words of a reply ("yeh its ok" -> yes). `extra`:
    the mentee's language's own words ("ydw", "nac oes"), understood as well as the English."""
    cleaned = _clean(text)
    if not cleaned:
        return None
    dont_know, no, yes = _DONT_KNOW | extra.dont_know, _NO | extra.no, _YES | extra.yes
    for table, value in ((dont_know, DONT_KNOW), (no, "no"), (yes, "yes")):
        if cleaned in table:
            return ParsedAnswer(value)
    words = re.findall(r"[a-z']+|[?👍👎]", cleaned)
    # Longest known phrase at the start wins: "not really sure" is don't know, "no not yet" is no.
    for length in (4, 3, 2, 1):
        if length > len(words):
            continue
        head = " ".join(words[:length])
        if head in dont_know:
            return ParsedAnswer(DONT_KNOW)
        if head in no:
            return ParsedAnswer("no")
        if head in yes:
            return _yes_unless_negated(head, words[length:], extra)
    return None


def _yes_unless_negated(head: str, rest: list[str], extra: AnswerWords = NO_EXTRA) -> ParsedAnswer | None:
    """A yes-phrase followed by a negation is not a yes: misreading "i have not" would hide a risk."""
    if rest and rest[0] in {"not", "never"} and head not in _PLAIN_YES:
        return ParsedAnswer("no")  # "i do not", "of course not", "definitely not"
    negators = _NEGATORS | {w for w in extra.no if " " not in w}
    if any(w in negators for w in rest[:3]):
        return None  # "yeah no", "yes not really", "ie na": ask again rather than guess
    return ParsedAnswer("yes")


def parse_scale(text: str, low: int = 1, high: int = 5,
                extra: AnswerWords = NO_EXTRA) -> ParsedAnswer | None:
    """A number on a low..high scale: "4", "4/5", "3 i guess", "four", "about a 2"."""
    cleaned = _clean(text)
    if not cleaned:
        return None
    if cleaned in _DONT_KNOW or cleaned in extra.dont_know:
        return ParsedAnswer(DONT_KNOW)
    cleaned = _DOUBLED_DIGIT.sub(r"\1", cleaned)  # a key pressed twice: "44" is 4
    digits = [int(m.group(1)) for m in _SCALE_DIGIT.finditer(cleaned)]
    digits = [d for d in digits if low <= d <= high]
    if len(set(digits)) == 1:
        if len(_OTHER_DIGIT.findall(cleaned)) > len(digits) and "/" not in cleaned and "of" not in cleaned:
            return None  # "3 or 4", "45": ambiguous, ask again
        rest = _SCALE_DIGIT.sub(" ", cleaned)  # without "4 out of five" itself
        named = {_WORD_NUMBERS[w] for w in re.findall(r"[a-z]+", rest)
                 if w in _WORD_NUMBERS and w not in _AMBIGUOUS_WORDS}
        if named - {digits[0]}:
            return None  # "two 3": the words and the digit disagree
        return ParsedAnswer(str(digits[0]), digits[0])
    if digits:
        return None  # "3 or 4": ambiguous
    if _OTHER_DIGIT.search(cleaned):
        return None  # "6", "10": out of range
    words = re.findall(r"[a-z]+", cleaned)
    found = {_WORD_NUMBERS[w] for w in words if w in _WORD_NUMBERS and w not in {"to", "too", "for"}}
    if len(found) == 1:
        n = found.pop()
        if low <= n <= high:
            return ParsedAnswer(str(n), n)
    if words and words[0] in {"for", "fore"} and len(words) == 1:
        return ParsedAnswer("4", 4)
    return None


def parse_choice(text: str, choices: dict[str, tuple[str, ...]]) -> ParsedAnswer | None:
    """One of several named options; `choices` maps a key to the words that mean it.

    A reply may be the option's number (1-based, in declaration order) or one of its words.
    """
    cleaned = _clean(text)
    if not cleaned:
        return None
    keys = list(choices)
    if cleaned.isdigit() and 1 <= int(cleaned) <= len(keys):
        return ParsedAnswer(keys[int(cleaned) - 1])
    hits = [k for k, words in choices.items() if any(_matches_word(cleaned, w) for w in (k, *words))]
    if len(hits) == 1:
        return ParsedAnswer(hits[0])
    return None


def _matches_word(text: str, word: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(word.lower())}(?![a-z])", text) is not None


def parse_free_text(text: str) -> ParsedAnswer | None:
    """Any non-empty reply; "no", "nothing" and "n/a" are kept as they are."""
    stripped = text.strip()
    return ParsedAnswer(stripped[:1000]) if stripped else None


Parser = Callable[[str], ParsedAnswer | None]
