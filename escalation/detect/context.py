"""Context modifiers: negation, idioms, other people and resolved past events.

A rule match is only a candidate. These checks look at the words around it, in the same
clause or sentence, to decide whether the phrase is about the mentee, now, and meant
literally. They are plain regular expressions over the normalised text (ConText/NegEx
style) so every decision can be explained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from escalation.detect.ruleset import LazyPattern, compile_phrase


def _words(items: Sequence[str], macros: Mapping[str, Sequence[str]]) -> re.Pattern[str]:
    body = "|".join(f"(?:{compile_phrase(i, macros)})" for i in sorted(items, key=len, reverse=True))
    return re.compile(rf"(?<![\w'])(?:{body})(?![\w'])" if body else r"(?!)")


# A person right after one of these is an object ("away from my ex"), not the one acting.
_PREPOSITION_BEFORE = re.compile(r"(?<![\w'])(?:from|with|to|at|for|about|by|than|like|off|of)\s+$")


@dataclass(frozen=True)
class Span:
    """Start and end of a region of normalised text."""

    start: int
    end: int


class Context:
    """Compiled cue lists from ``context.toml`` and the checks that use them."""

    def __init__(self, data: Mapping[str, Any], macros: Mapping[str, Sequence[str]]) -> None:
        self._sentence_end = re.compile(data["sentence_end"])
        self._sentences: tuple[str, dict[tuple[int, int], Span]] = ("", {})
        self._clause_break = _words(data["clause_breaks"], macros)
        self._comma = re.compile(r",")
        neg = data["negation"]
        self._negation = _words(neg["cues"], macros)
        self._pseudo_negation = _words(neg["pseudo"], macros)
        self._negation_window = int(neg.get("window_words", 5))
        self._scope_stops = frozenset(neg.get("scope_stops", ()))
        self._subject_stops = frozenset(neg.get("subject_stops", ()))
        people = data["people"]
        self._third = _words(people["others"], macros)
        self._first = _words(people["self"], macros)
        self._others_after = _words(people.get("others_after", ()), macros)
        self._object_after = re.compile(r"\s+(?:(?:\w+\s+)?(?:me|us|myself)|my|our)(?![\w'])")
        past = data["past"]
        self._historical = _words(past["cues"], macros)
        self._still = _words(past["overrides"], macros)
        self._idioms = _words(data["idioms"]["phrases"], macros)
        # The same idioms one by one, in the combined pattern's order: a caller that knows which
        # ones cannot occur in a text (a required word is missing) runs only the others.
        self.idiom_patterns: tuple[LazyPattern, ...] = tuple(
            LazyPattern(rf"(?<![\w'])(?:(?:{compile_phrase(i, macros)}))(?![\w'])")
            for i in sorted(data["idioms"]["phrases"], key=len, reverse=True)
        )
        self._escalators = {cat: _words(cues, macros) for cat, cues in data["escalators"].items()}

    # -- scopes ---------------------------------------------------------------------------

    def sentence(self, text: str, start: int, end: int) -> Span:
        """The sentence around a match (split at . ! ? ; and new lines)."""
        # The checks of one match ask for its sentence several times: remember the last text's.
        memo = self._sentences
        if memo[0] is not text:
            memo = (text, {})
            self._sentences = memo
        found = memo[1].get((start, end))
        if found is None:
            s = 0
            for m in self._sentence_end.finditer(text, 0, start):
                s = m.end()
            m = self._sentence_end.search(text, end)
            found = memo[1][(start, end)] = Span(s, m.start() if m else len(text))
        return found

    def clause(self, text: str, start: int, end: int) -> Span:
        """The clause around a match: the sentence cut at commas and at 'but', 'tho', ..."""
        sent = self.sentence(text, start, end)
        s, e = sent.start, sent.end
        for pattern in (self._comma, self._clause_break):
            for m in pattern.finditer(text, sent.start, start):
                s = max(s, m.end())
            m = pattern.search(text, end, sent.end)
            if m:
                e = min(e, m.start())
        return Span(s, e)

    # -- modifiers ------------------------------------------------------------------------

    def idiom_spans(self, text: str, only: Sequence[int] | None = None) -> list[Span]:
        """Fixed expressions ("dying for a brew", "killing it") that are not about risk.

        ``only``: indexes into ``idiom_patterns`` (ascending) of the idioms that may occur in
        ``text``; the rest must be unable to match it. The spans are the same as running all
        of them: an alternative that matches nowhere never wins anywhere.
        """
        if only is None:
            return [Span(*m.span()) for m in self._idioms.finditer(text)]
        patterns = [self.idiom_patterns[i] for i in only]
        # Emulate the combined pattern's scan: the leftmost match wins, on a tie the earlier
        # alternative; the scan goes on after it.
        found = [p.search(text) for p in patterns]
        spans: list[Span] = []
        while True:
            best = None
            for m in found:
                if m is not None and (best is None or m.start() < best.start()):
                    best = m
            if best is None:
                return spans
            pos = best.end()
            if pos == best.start():  # an empty match: the combined scan's rules differ, so run it
                return [Span(*m.span()) for m in self._idioms.finditer(text)]
            spans.append(Span(best.start(), pos))
            for k, m in enumerate(found):
                if m is not None and m.start() < pos:
                    found[k] = patterns[k].search(text, pos)

    def modifiers(self, text: str, start: int, end: int, idioms: Sequence[Span]) -> set[str]:
        """Names of the context modifiers that apply to the match text[start:end]."""
        found: set[str] = set()
        if any(i.start < end and start < i.end for i in idioms):
            found.add("idiom")
        clause = self.clause(text, start, end)
        if self.negated(text, clause, start):
            found.add("negation")
        if self.third_party(text, clause, start, end):
            found.add("third_party")
        if self.past(text, clause, start, end):
            found.add("past")
        return found

    def negated(self, text: str, clause: Span, start: int) -> bool:
        """A negation cue a few words before the match, in the same clause."""
        if self._negation.match(text, start):
            return False  # the phrase carries its own negation ("no reason to live"): a list of "no"s before it does not undo it
        before = self._pseudo_negation.sub(lambda m: " " * len(m.group()), text[clause.start : start])
        last = None
        for last in self._negation.finditer(before):
            pass
        if last is None:
            return False
        between = re.findall(r"[\w']+", before[last.end() :])
        if len(between) > self._negation_window:
            return False
        if any(w in self._scope_stops for w in between):
            return False
        # The match's own first word counts: "if i don't give him my card | he hits me".
        first = re.match(r"[\w']+", text[start:])
        later = between[1:] + ([first.group()] if first and between else [])
        return not any(w in self._subject_stops for w in later)

    def third_party(self, text: str, clause: Span, start: int, end: int) -> bool:
        """The nearest person named before the match in its clause is someone else."""
        if self._first.search(text, start, end):
            return False  # the phrase itself says "I", "me" or "my"
        if self._object_after.match(text, end):
            return False  # "evicting me", "kicked us out": done to the mentee
        kind = self._nearest_person(text, clause.start, start)
        if kind is None:  # nobody named in the clause: look back through the sentence
            kind = self._nearest_person(text, self.sentence(text, start, end).start, start)
        if kind is None:  # nobody before it: "bailiffs came for my neighbour"
            after = self._others_after.search(text, end, clause.end)
            if after is not None and not self._first.search(text, end, after.start()):
                return True
        return kind == "third"

    def _nearest_person(self, text: str, begin: int, start: int) -> str | None:
        last_kind = None
        pos = begin
        while pos < start:
            third = self._third.search(text, pos, start)
            first = self._first.search(text, pos, start)
            if third is None and first is None:
                break
            if first is None or (third is not None and third.start() <= first.start()):
                assert third is not None
                # "ran from my partner, staying on a mate's floor": an object, not who is staying.
                if not _PREPOSITION_BEFORE.search(text, max(begin, third.start() - 12), third.start()):
                    last_kind = "third"
                pos = third.end()
            else:
                last_kind, pos = "first", first.end()
        return last_kind

    def past(self, text: str, clause: Span, start: int, end: int) -> bool:
        """A resolved or historical event ("used to", "years ago"), not overridden by "again"."""
        sent = self.sentence(text, start, end)
        if self._still.search(text, sent.start, sent.end):
            return False  # "again", "still", "last night": it is happening now
        # The cue may follow in a later clause: "slept rough for a bit, long time ago".
        return self._historical.search(text, clause.start, sent.end) is not None

    def escalates(self, category: str, text: str, start: int, end: int) -> bool:
        """An immediacy cue ("tonight", "right now") in the sentence raises concern to urgent."""
        pattern = self._escalators.get(category)
        if pattern is None:
            return False
        sent = self.sentence(text, start, end)
        return pattern.search(text, sent.start, sent.end) is not None
