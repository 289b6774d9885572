"""GSM-7 text shaping for basic phones: character set, look-alike replacement and segment counts.

One character outside GSM-7 turns a whole SMS into UCS-2 (70 characters a segment instead of
160), which costs a mentee with little credit two or three times as much. So outbound SMS text is
shaped into GSM-7 before it is stored, and flow wording is checked against it at start-up.
"""

from __future__ import annotations

from functools import lru_cache
import unicodedata

# GSM 03.38 basic character set.
BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
BASIC.discard("\x1b")
# Extension table: each costs two characters (escape + char).
EXTENDED = set("^{}\\[~]|€\f")

SINGLE_SEGMENT = 160
MULTI_SEGMENT = 153
UCS2_SINGLE = 70
UCS2_MULTI = 67

_REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "´": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "«": '"', "»": '"',
    "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2015": "-", "\u2212": "-", "\u2010": "-",
    "\u2011": "-", "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u200a": " ", "\u202f": " ",
    "\u2002": " ", "\u2003": " ", "\u200b": "", "\u200d": "", "\ufe0f": "", "\t": " ",
    "\u2022": "-", "·": "-", "\u2122": "TM", "©": "(c)", "®": "(R)", "\u00ad": "",
    # Letters with no accent to strip (NFKD leaves them whole): spelt out, so a name such as
    # "Łukasz" keeps its first letter.
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "ı": "i", "Œ": "OE", "œ": "oe", "Þ": "Th", "þ": "th",
    "Ð": "D", "ð": "d", "Ħ": "H", "ħ": "h",
    "\u2190": "<-", "\u2192": "->", "\u2264": "<=", "\u2265": ">=", "\u00d7": "x",
}
_EMOJI_WORDS = {
    "🙂": ":)", "😊": ":)", "😀": ":D", "😃": ":D", "😄": ":D", "😁": ":D", "😉": ";)",
    "🙁": ":(", "☹": ":(", "😢": ":(", "😞": ":(", "❤": "<3", "👍": "(y)", "👋": "",
    "✅": "", "📞": "", "📱": "", "☎": "",
}


def is_gsm7(text: str) -> bool:
    """True if every character of `text` is in the GSM-7 basic or extension set."""
    return all(ch in BASIC or ch in EXTENDED for ch in text)


def non_gsm7_characters(text: str) -> list[str]:
    """The distinct characters of `text` outside GSM-7, in order of first appearance."""
    seen: list[str] = []
    for ch in text:
        if ch not in BASIC and ch not in EXTENDED and ch not in seen:
            seen.append(ch)
    return seen


def gsm7_length(text: str) -> int:
    """Septets needed for `text` in GSM-7 (extension characters count twice)."""
    return sum(2 if ch in EXTENDED else 1 for ch in text)


@lru_cache(maxsize=1024)  # pure; the same replies and nudges go out again and again
def to_gsm7(text: str) -> str:
    """Replace look-alikes (curly quotes, dashes, ellipses, emoji) so the text is pure GSM-7.

    Accented letters outside GSM-7 lose their accent; anything left that has no GSM-7 form is
    dropped rather than letting it switch the whole message to UCS-2.
    """
    out: list[str] = []
    for ch in text:
        if ch in BASIC or ch in EXTENDED:
            out.append(ch)
        elif ch in _REPLACEMENTS:
            out.append(_REPLACEMENTS[ch])
        elif ch in _EMOJI_WORDS:
            out.append(_EMOJI_WORDS[ch])
        else:
            base = unicodedata.normalize("NFKD", ch)
            kept = "".join(c for c in base if c in BASIC or c in EXTENDED)
            out.append(kept)
    return "".join(out)


@lru_cache(maxsize=1024)
def segment_count(text: str) -> int:
    """How many SMS segments `text` takes, GSM-7 or UCS-2 as the text requires."""
    if not text:
        return 1
    if is_gsm7(text):
        n = gsm7_length(text)
        return 1 if n <= SINGLE_SEGMENT else -(-n // MULTI_SEGMENT)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= UCS2_SINGLE else -(-units // UCS2_MULTI)


def split_words(text: str, limit: int = SINGLE_SEGMENT) -> list[str]:
    """Split `text` into parts of at most `limit` GSM-7 characters, on word boundaries."""
    if gsm7_length(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if gsm7_length(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while gsm7_length(word) > limit:  # a single over-long "word", e.g. a URL
            head = _fitting_prefix(word, limit)
            parts.append(head)
            word = word[len(head):]
        current = word
    if current:
        parts.append(current)
    return parts


def _fitting_prefix(word: str, limit: int) -> str:
    """The longest start of `word` within `limit` septets (an extension character costs two,
    so cutting by characters could overrun a segment)."""
    used = 0
    for i, ch in enumerate(word):
        used += 2 if ch in EXTENDED else 1
        if used > limit:
            return word[:i]
    return word


def sms_parts(text: str) -> list[str]:
    """The texts an SMS is sent as: shaped into GSM-7, and if longer than one segment, split
    between words into single-segment texts, each readable on its own."""
    text = to_gsm7(text)
    return split_words(text) if gsm7_length(text) > SINGLE_SEGMENT else [text]
