"""Text normalisation for risk detection, keeping a map back to the original text.

Mentees write on basic phones in a hurry: text-speak, missing apostrophes, stretched
letters, emoji. Rules are written against one canonical spelling, so the message is
rewritten into it first; every rewrite records where it came from, so evidence shown to
staff is always an excerpt of what the mentee actually wrote.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from typing import Iterable, Mapping

# Apostrophe look-alikes and dashes become plain characters one-for-one, so offsets are kept.
_ONE_FOR_ONE = str.maketrans({
    "\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'", "\u02bc": "'",
    "-": " ", "\u2013": " ", "\u2014": " ", "_": " ", "\u00a0": " ",
})
# 3+ repeats of one letter ("sooooo", "helllp").
_REPEATS = re.compile(r"([a-z])\1{2,}")
_TOKENS = re.compile(r"[\w']+")
_EDGE_APOSTROPHE = re.compile(r"(?<![\w'])'|'(?![\w'])")


@dataclass(frozen=True)
class Normalised:
    """Normalised text plus enough bookkeeping to map a span back to the original."""

    original: str
    text: str
    # Sorted (normalised_start, original_start, original_end, replaced) segments; replaced
    # segments map as a whole, others map one character to one character.
    _segments: tuple[tuple[int, int, int, bool], ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text to the original text."""
        return self._map(start, is_end=False), self._map(max(start, end - 1), is_end=True)

    def excerpt(self, start: int, end: int, limit: int = 80) -> str:
        """The original words behind a normalised span, trimmed to ``limit`` characters."""
        a, b = self.original_span(start, end)
        piece = " ".join(self.original[a:b].split())
        return piece if len(piece) <= limit else piece[: limit - 1].rstrip() + "\u2026"

    def _map(self, pos: int, *, is_end: bool) -> int:
        starts = [s[0] for s in self._segments]
        i = bisect_right(starts, pos) - 1
        n_start, o_start, o_end, replaced = self._segments[i]
        if replaced:
            return o_end if is_end else o_start
        o = o_start + (pos - n_start)
        return o + 1 if is_end else o


class Normaliser:
    """Rewrites text into the canonical form the rules are written against."""

    def __init__(
        self,
        words: Mapping[str, str],
        emoji: Mapping[str, str],
        vocabulary: Iterable[str] = (),
        phrases: Mapping[str, str] | None = None,
    ) -> None:
        self._words = {k.lower(): v for k, v in words.items()}
        self._emoji = dict(emoji)
        self._phrases = {" ".join(k.lower().split()): v for k, v in (phrases or {}).items()}
        self._vocabulary = frozenset(vocabulary) | frozenset(self._words.values())
        alternatives = [re.escape(e) for e in sorted(self._emoji, key=len, reverse=True)]
        emoji_part = "|".join(alternatives) if alternatives else "(?!)"
        phrase_alts = [
            r"\s+".join(re.escape(w) for w in p.split()) for p in sorted(self._phrases, key=len, reverse=True)
        ]
        phrase_part = "|".join(phrase_alts) if phrase_alts else "(?!)"
        self._emoji_chars = frozenset("".join(self._emoji))
        # Fast-path test: the mapped words, and the first words of the phrases (a phrase can only
        # start at a token that is its first word; the phrase pattern then says for sure).
        self._mapped = frozenset(self._words)
        firsts = {p.split()[0] for p in self._phrases}
        # (A first word that is not one token, e.g. with "&", cannot be looked up: always search.)
        self._phrase_first = frozenset(firsts) if all(_TOKENS.fullmatch(w) for w in firsts) else None
        self._phrase_only = re.compile(rf"(?<![\w'])(?:{phrase_part})(?![\w'])")
        # Only tokens that may need rewriting are visited; everything else is copied untouched.
        self._interesting = re.compile(
            rf"(?P<emoji>{emoji_part})|(?P<phrase>(?<![\w'])(?:{phrase_part})(?![\w']))"
            rf"|(?P<word>(?<![\w'])[\w']+(?![\w']))"
        )

    def normalise(self, text: str) -> Normalised:
        """Return the canonical form of ``text`` with an offset map to the original."""
        original = text if text.isascii() else unicodedata.normalize("NFKC", text)
        lowered = original.lower()
        if len(lowered) != len(original):  # rare characters whose lower case is longer
            lowered = "".join(c.lower()[0] if c.lower() else c for c in original)
        lowered = lowered.translate(_ONE_FOR_ONE)
        if self._unchanged(lowered):
            return Normalised(original=original, text=lowered, _segments=((0, 0, len(lowered), False),))
        pieces: list[str] = []
        segments: list[tuple[int, int, int, bool]] = []
        n_pos = 0
        last = 0
        words = self._words
        emoji = self._emoji
        stretched = _REPEATS.search(lowered) is not None
        for m in self._interesting.finditer(lowered):
            token = m.group()
            kind = m.lastgroup
            # (A word or phrase match is never an emoji: the emoji alternative comes first.)
            if kind == "word":
                replacement = words.get(token)
                if replacement is None:
                    if not stretched and token[0] != "'" and token[-1] != "'":
                        continue  # the common case: an ordinary word, left as it is
                    replacement = self._rewrite_word(token, words)
                    if replacement is None:
                        continue
            elif kind == "emoji":
                replacement = f" {emoji[token]} "
            else:
                replacement = self._phrases[" ".join(token.split())]
            start, end = m.span()
            if start > last:
                segments.append((n_pos, last, start, False))
                pieces.append(lowered[last:start])
                n_pos += start - last
            segments.append((n_pos, start, end, True))
            pieces.append(replacement)
            n_pos += len(replacement)
            last = end
        if last < len(lowered) or not segments:
            segments.append((n_pos, last, len(lowered), False))
            pieces.append(lowered[last:])
        return Normalised(original=original, text="".join(pieces), _segments=tuple(segments))

    def _unchanged(self, lowered: str) -> bool:
        """True when nothing in the text needs rewriting (most everyday replies): the fast path."""
        if "&" in lowered:
            return False
        if not lowered.isascii() and not self._emoji_chars.isdisjoint(lowered):
            return False
        tokens = _TOKENS.findall(lowered)  # every token: maximal runs of word characters and '
        if not self._mapped.isdisjoint(tokens):
            return False
        if "'" in lowered and _EDGE_APOSTROPHE.search(lowered):
            return False  # a token that starts or ends with an apostrophe
        first = self._phrase_first
        if (first is None or not first.isdisjoint(tokens)) and self._phrase_only.search(lowered):
            return False
        return _REPEATS.search(lowered) is None

    def _rewrite_word(self, token: str, words: Mapping[str, str]) -> str | None:
        mapped = words.get(token)
        if mapped is not None:
            return mapped
        stripped = token.strip("'")
        if stripped != token and stripped in words:
            return words[stripped]
        if _REPEATS.search(token):
            double = _REPEATS.sub(r"\1\1", token)
            single = _REPEATS.sub(r"\1", token)
            for candidate in (double, single):
                if candidate in self._vocabulary or candidate in words:
                    return words.get(candidate, candidate)
            return words.get(double, double)
        return None


# Real words that a generated misspelling must never be rewritten from.
_NOT_TYPOS = frozenset("""
hotel bother bothers brother mother father there their where were well hell shell ill its shed
lets wed cant wont hed id tablet pill pills mate mates sleep seep sleeping slipping
haring hating overdoing overdoes overdue hanging haging coking cuing curing surfing sufring
premise premised premiss tablet tables violet partners husbands kipper kippering streams
sapped staking stalling relase relased released seeping streets strees tenacy sacred pined
thing think thins tings ending ening reason season letter
""".split())


def dropped_g(vocabulary: Iterable[str]) -> dict[str, str]:
    """'sleepin' -> 'sleeping': the dropped final g of every -ing word the rules use."""
    vocab = set(vocabulary)
    out: dict[str, str] = {}
    for word in vocab:
        if len(word) >= 6 and word.endswith("ing") and word.isalpha():
            short = word[:-1]
            if short not in vocab and short not in _NOT_TYPOS:
                out[short] = word
    return out


def missing_apostrophes(vocabulary: Iterable[str]) -> dict[str, str]:
    """'couldnt' -> "couldn't", 'theyve' -> "they've": contractions typed without the apostrophe."""
    vocab = set(vocabulary)
    out: dict[str, str] = {}
    for word in vocab:
        if "'" in word and word.endswith(("n't", "'ve", "'re", "'ll", "'m")):
            bare = word.replace("'", "")
            if bare not in vocab and bare not in _NOT_TYPOS:
                out[bare] = word
    return out


def typos(targets: Iterable[str], protected: Iterable[str]) -> dict[str, str]:
    """One-slip misspellings of key risk words (a letter dropped, doubled or swapped).

    Only words of six or more letters; the first and last letters are never dropped (that
    often makes a real word: "stalking" -> "talking"); never a variant that is itself a word
    the rules or the maps know, or a listed real word.
    """
    targets = list(targets)
    keep = set(protected) | _NOT_TYPOS | set(targets)
    seen: dict[str, str | None] = {}
    for word in targets:
        if len(word) < 6 or not word.isalpha():
            continue
        variants: set[str] = set()
        for i in range(1, len(word) - 1):
            variants.add(word[:i] + word[i + 1 :])  # dropped letter
        for i in range(len(word) - 1):
            variants.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])  # swapped pair
        for i in range(len(word)):
            variants.add(word[:i] + word[i] + word[i:])  # doubled letter
        variants.discard(word)
        for v in variants:
            if v in keep:
                continue
            # A variant reachable from two targets is ambiguous: drop it.
            seen[v] = word if v not in seen or seen[v] == word else None
    return {v: w for v, w in seen.items() if w is not None}
