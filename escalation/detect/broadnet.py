"""Broad nets: a word co-occurrence safety net under the phrase rules (concern level only).

Phrase rules know how people say a risk; crisis language has a long tail no list of phrases
covers. A net instead scores which *kinds* of words a message contains ("no point" is
hopelessness, "pills" is means): each cue family found adds its weight once, a first-person
word adds a little, and a total at the category's threshold raises a ``concern``. Cues still
pass the detector's context checks (negation, idiom, someone else, resolved past), so "my
mate's tablets" or "dying for a brew" add nothing. Data and weights: ``rules/broad.toml``.

A net can only add a finding for a category; it never removes or lowers a rule's finding.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any, Callable, Iterable, Mapping, Sequence

from escalation.detect.anchors import anchors_for, required_sets
from escalation.detect.ruleset import MODIFIERS, compile_phrase

_TOKEN = re.compile(r"[a-z0-9'&]+")
_PLAIN_WORD = re.compile(r"[a-z0-9'&]+")
_LIST_ONLY = re.compile(r"\{[A-Z_]+\}")
_ORDER = {"crisis": 0, "housing": 1, "domestic_abuse": 2}


@dataclass(frozen=True)
class Family:
    """One kind of cue (e.g. hopelessness) with its weight and compiled phrases."""

    name: str
    weight: int
    cues: tuple[re.Pattern[str], ...]  # one compiled, word-bounded pattern per cue
    ignore_context: frozenset[str]
    # Per cue: word prefixes one of which a message word must start with for the cue to be
    # tried, or exact words (cues too short for a prefix: "od", "ex"); both empty = always tried.
    prefixes: tuple[frozenset[str], ...]
    words: tuple[frozenset[str], ...]
    action: bool = False  # done to someone: "hits him" (another object) does not count
    # Per cue: every prefix set a match needs a word from (see ``anchors.required_sets``);
    # a caller that knows the message's words can skip a cue missing one of them.
    needs: tuple[tuple[frozenset[str], ...], ...] = ()


@dataclass(frozen=True)
class Net:
    """The cue families of one category and how they are scored."""

    category: str
    threshold: int
    first_person: int
    first_person_words: re.Pattern[str]
    require_first_person: bool
    families: tuple[Family, ...]
    # No "I" and nobody else named ("feel suicidal again"): the mentee is talking about themself.
    others_words: re.Pattern[str] | None = None
    # After an action cue, an object that is someone else ("hits her"): the cue does not count.
    other_object: re.Pattern[str] | None = None
    # At least one of these families must be found (a relative and "she" alone are not abuse).
    require_any: frozenset[str] = frozenset()
    # ...and at least one of these too (abuse needs someone: "people are watching me, scared" is not DA).
    require_also: frozenset[str] = frozenset()


@dataclass(frozen=True)
class NetHit:
    """A net that reached its threshold: the category, score and the cue spans that counted."""

    category: str
    score: int
    families: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]  # spans of the normalised text, in text order


def _right_bounded(body: str) -> re.Pattern[str]:
    """A cue pattern without the leading word-boundary look-behind.

    A look-behind at the start stops the regex engine skipping ahead by the first letter,
    which makes every search several times slower; ``_spans`` checks the start instead.
    """
    return re.compile(rf"(?:{body})(?![\w'])")


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """(start, -end) of each match of a cue that starts a word (sorts earliest, then longest)."""
    out: list[tuple[int, int]] = []
    pos = 0
    while True:
        m = pattern.search(text, pos)
        if m is None:
            return out
        start = m.start()
        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "_'"):
            out.append((start, -m.end()))
            pos = m.end() if m.end() > start else start + 1
        else:
            pos = start + 1


def _found(pattern: re.Pattern[str], text: str) -> bool:
    """Whether a right-bounded pattern matches somewhere starting a word."""
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        start = m.start()
        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "_'"):
            return True
        pos = start + 1
    return False


def _family(category: str, raw: Mapping[str, Any], macros: Mapping[str, Sequence[str]]) -> Family:
    name = raw.get("name")
    cues = raw.get("cues")
    weight = raw.get("weight")
    if not name or not cues or not isinstance(weight, int) or weight <= 0:
        raise ValueError(f"{category} net family {name!r}: needs name, cues and a positive weight")
    ignore = frozenset(raw.get("ignore_context", ()))
    if not ignore <= set(MODIFIERS):
        raise ValueError(f"{category} net family {name}: unknown context modifier in {sorted(ignore)}")
    # A cue that is only a word list ("{REL}") is its items, so each gets its own anchor.
    cues = [item for c in cues for item in (macros[c[1:-1]] if _LIST_ONLY.fullmatch(c) and c[1:-1] in macros else [c])]
    bodies = [compile_phrase(c, macros) for c in cues]
    prefixes: list[frozenset[str]] = []
    words: list[frozenset[str]] = []
    needs: list[tuple[frozenset[str], ...]] = []
    for cue, body in zip(cues, bodies):
        found = anchors_for(rf"(?<![\w'])(?:{body})(?![\w'])")
        needs.append(required_sets(rf"(?<![\w'])(?:{body})(?![\w'])"))
        if found:
            prefixes.append(found)
            words.append(frozenset())
        else:
            prefixes.append(frozenset())
            # "od", "he", "ex": too short to be a prefix anchor, so the exact word instead.
            words.append(frozenset({cue}) if _PLAIN_WORD.fullmatch(cue) else frozenset())
    return Family(
        name, weight, tuple(_right_bounded(b) for b in bodies), ignore, tuple(prefixes), tuple(words),
        bool(raw.get("action", False)), tuple(needs),
    )


def parse_nets(data: Mapping[str, Any]) -> tuple[Net, ...]:
    """Build the nets from parsed ``broad.toml`` data; raises ValueError on anything malformed."""
    macros = {k: list(v) for k, v in data.get("lists", {}).items()}
    nets = []
    for category in ("crisis", "housing", "domestic_abuse"):
        raw = data.get(category)
        if raw is None:
            continue
        threshold = raw.get("threshold")
        if not isinstance(threshold, int) or threshold <= 0:
            raise ValueError(f"{category} net: needs a positive integer threshold")
        families = tuple(_family(category, f, macros) for f in raw.get("family", ()))
        if not families:
            raise ValueError(f"{category} net: needs at least one cue family")
        fp_words = raw.get("first_person_words", ["i", "i'm", "me", "my", "myself"])
        fp = _right_bounded("|".join(f"(?:{compile_phrase(w, macros)})" for w in fp_words))
        others = None
        if raw.get("implicit_first_person"):
            words = raw.get("others_words") or []
            if not words:
                raise ValueError(f"{category} net: implicit_first_person needs others_words")
            others = _right_bounded("|".join(f"(?:{compile_phrase(w, macros)})" for w in words))
        obj = raw.get("other_object")
        nets.append(Net(
            category=category, threshold=threshold, first_person=int(raw.get("first_person", 0)),
            first_person_words=fp, require_first_person=bool(raw.get("require_first_person", False)),
            families=families, others_words=others,
            other_object=re.compile(r"\s+" + obj) if obj else None,
            require_any=frozenset(raw.get("require_any", ())),
            require_also=frozenset(raw.get("require_also", ())),
        ))
        unknown = (nets[-1].require_any | nets[-1].require_also) - {f.name for f in families}
        if unknown:
            raise ValueError(f"{category} net: require_any names unknown families {sorted(unknown)}")
    return tuple(nets)


def load_broad() -> dict[str, Any]:
    """The shipped net data (``rules/broad.toml``)."""
    return tomllib.loads(resources.files("escalation.detect.rules").joinpath("broad.toml").read_text("utf-8"))


class BroadNets:
    """Scores a normalised message against every category's net, using the detector's context."""

    def __init__(self, nets: Sequence[Net], context: Any) -> None:
        self.nets = tuple(nets)
        self._context = context  # escalation.detect.context.Context (modifiers, idiom_spans)
        # Which (net, family, cue) a message word may hold: by exact word, and by the first
        # three letters of a prefix anchor (then checked in full). Only those cues are run.
        self._always: set[tuple[int, int, int]] = set()
        self._by_word: dict[str, set[tuple[int, int, int]]] = {}
        self._by_key: dict[str, list[tuple[str, tuple[int, int, int]]]] = {}
        for n, net in enumerate(self.nets):
            for f, family in enumerate(net.families):
                for c, (prefixes, words) in enumerate(zip(family.prefixes, family.words)):
                    if not prefixes and not words:
                        self._always.add((n, f, c))
                    for w in words:
                        self._by_word.setdefault(w, set()).add((n, f, c))
                    for p in prefixes:
                        self._by_key.setdefault(p[:3], []).append((p, (n, f, c)))
        self._cache: dict[str, frozenset[tuple[int, int, int]]] = {}
        # Whether some cue is tried on every message (else no candidate cue means no hit).
        self.tries_always = bool(self._always)

    def requirements(self) -> dict[tuple[int, int, int], tuple[frozenset[str], ...]]:
        """(net, family, cue) -> the prefix sets a match of that cue needs a word from."""
        return {
            (n, f, c): need
            for n, net in enumerate(self.nets)
            for f, family in enumerate(net.families)
            for c, need in enumerate(family.needs)
            if need
        }

    def word_units(self, word: str) -> frozenset[tuple[int, int, int]]:
        """The (net, family, cue) triples a message word may hold (uncached; callers cache)."""
        found = set(self._by_word.get(word, ()))
        found.update(u for p, u in self._by_key.get(word[:3], ()) if word.startswith(p))
        return frozenset(found)

    def _candidates(
        self, text: str, units: Iterable[tuple[int, int, int]] | None = None,
    ) -> dict[int, dict[int, list[int]]]:
        """net -> family -> the cues worth running on ``text`` (by anchor words)."""
        chosen = set(self._always)
        if units is not None:
            chosen.update(units)
        else:
            cache = self._cache
            for word in set(_TOKEN.findall(text)):
                found = cache.get(word)
                if found is None:
                    found = self.word_units(word)
                    if len(cache) < 50_000:  # bounded: memory cannot grow without limit
                        cache[word] = found
                chosen |= found
        out: dict[int, dict[int, list[int]]] = {}
        # In file order: families of equal weight are then tried in a fixed order, so the
        # evidence shown does not depend on the process's string-hash seed.
        for n, f, c in sorted(chosen):
            out.setdefault(n, {}).setdefault(f, []).append(c)
        return out

    def hits(
        self, text: str, skip: frozenset[str] | set[str] = frozenset(), idioms: Sequence[Any] | None = None,
        units: Iterable[tuple[int, int, int]] | None = None, idiom_finder: Callable[[], Sequence[Any]] | None = None,
    ) -> list[NetHit]:
        """Nets that reach their threshold on normalised ``text``, except categories in ``skip``.

        ``idioms`` are the context's idiom spans of ``text`` and ``units`` the union of
        ``word_units`` over its words, if the caller already has them (saves a second pass).
        ``idiom_finder``, if given, returns the idiom spans of ``text`` when they are needed.
        """
        chosen = self._candidates(text, units)
        cache: list[Any] = [idioms] if idioms is not None else [None, idiom_finder]
        out: list[NetHit] = []
        for n, groups in chosen.items():
            net = self.nets[n]
            if net.category in skip:
                continue
            families = net.families
            possible = net.first_person + sum(families[f].weight for f in groups)
            if possible < net.threshold:  # cheap bound: most messages cannot reach it at all
                continue
            hit = self._score(net, [(families[f], cues) for f, cues in groups.items()], possible, text, cache)
            if hit is not None:
                out.append(hit)
        out.sort(key=lambda h: _ORDER.get(h.category, 9))
        return out

    def _score(
        self, net: Net, candidates: list[tuple[Family, list[int]]], possible: int, text: str,
        cache: list[Any],
    ) -> NetHit | None:
        need = net.require_any
        if need and not any(f.name in need for f, _ in candidates):
            return None
        also = net.require_also
        if also and not any(f.name in also for f, _ in candidates):
            return None
        # Heaviest families first; stop as soon as the rest cannot reach the threshold. Cue
        # search is cheap; the first-person test and the context checks (idiom spans) cost
        # more, so they run only once the cues actually present could add up.
        present: list[tuple[Family, list[tuple[int, int]]]] = []
        candidates.sort(key=lambda fc: -fc[0].weight)
        for family, cues in candidates:
            if possible < net.threshold:
                return None
            spans = [span for c in cues for span in _spans(family.cues[c], text)]
            if spans:
                spans.sort()
                present.append((family, spans))
            else:
                possible -= family.weight
        if possible < net.threshold or (need and not any(f.name in need for f, _ in present)):
            return None
        if also and not any(f.name in also for f, _ in present):
            return None
        has_fp = _found(net.first_person_words, text)
        if not has_fp and net.others_words is not None:
            has_fp = not _found(net.others_words, text)
        if net.require_first_person and not has_fp:
            return None
        score = net.first_person if has_fp else 0
        possible += score - net.first_person
        found: list[tuple[str, tuple[int, int]]] = []
        used: list[tuple[int, int]] = []  # one word counts for one family only ("methadone" is not means + relapse)
        met = not need
        present.sort(key=lambda fs: (-fs[0].weight, fs[0].name not in need))
        for family, spans in present:
            if possible < net.threshold:
                break
            free = [(a, b) for a, b in spans if not any(a < e and s < -b for s, e in used)]
            span = self._first_kept(family, free, text, cache, net.other_object if family.action else None)
            if span is None:
                possible -= family.weight
                continue
            score += family.weight
            used.append(span)
            found.append((family.name, span))
            met = met or family.name in need
            if score >= net.threshold and met:
                break
        if score < net.threshold or not met:
            return None
        found.sort(key=lambda x: x[1])
        return NetHit(net.category, score, tuple(n for n, _ in found), tuple(s for _, s in found))

    def _first_kept(
        self, family: Family, spans: Sequence[tuple[int, int]], text: str, idioms: list[Any],
        other_object: re.Pattern[str] | None,
    ) -> tuple[int, int] | None:
        """The earliest, longest cue span (start, -end) of ``family`` that context does not set aside."""
        ctx = self._context
        for start, neg_end in spans:
            end = -neg_end
            if other_object is not None and other_object.match(text, end):
                continue  # "hits her": done to someone else
            if idioms[0] is None:  # computed once, and only when a cue is actually there
                idioms[0] = idioms[1]() if idioms[1] is not None else ctx.idiom_spans(text)
            mods = set(ctx.modifiers(text, start, end, idioms[0])) - family.ignore_context
            if not mods:
                return start, end
        return None


def default_nets(context: Any) -> BroadNets:
    """The nets shipped in ``rules/broad.toml`` bound to a detector's context checks."""
    return BroadNets(parse_nets(load_broad()), context)
