"""Anchor words: a fast pre-check of which rules could possibly match a message.

Python's regex engine tries every alternative at every word, so running ~40 large rule
patterns over every message is slow. For each pattern we work out, from its parsed form,
a set of word beginnings (at least three letters) one of which every match must contain -
e.g. {"suicid"} or {"evict", "bailiff", "section"}. A message is only run through the rules
whose anchors appear at the start of one of its words. A pattern with no safe anchor is
always run, so the pre-check can only save time, never lose a match.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

try:  # Python 3.11+: the parser moved; the old name still works with a warning.
    from re import _constants as C  # type: ignore[attr-defined]
    from re import _parser as P  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse as P  # type: ignore[no-redef]

_WORDCH = re.compile(r"[a-z0-9']+")
MIN_ANCHOR = 3


@lru_cache(maxsize=64)  # anchors_for and required_sets are asked about the same pattern in turn
def _parse(pattern: str) -> Any:
    return P.parse(pattern)


# Working the sets out parses every pattern (about half of the detector's load time), so the
# results for the shipped rules are kept in a file keyed by each pattern's exact text. A pattern
# that is not in it (a rule edited since) is simply worked out at load: the file can only be
# stale, never wrong. `python -m escalation.detect.anchors` writes it; a test checks it is current.
CACHE_FILE = Path(__file__).with_name("rules") / "anchors-cache.json.gz"


def _key(pattern: str) -> str:
    return hashlib.sha256(pattern.encode("utf-8")).hexdigest()[:24]


@lru_cache(maxsize=1)
def _cache() -> dict[str, Any]:
    try:
        with gzip.open(CACHE_FILE, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
        return data["patterns"] if data.get("format") == 1 else {}
    except (OSError, ValueError, KeyError):
        return {}


def anchors_for(pattern: str) -> frozenset[str] | None:
    """Word prefixes one of which every match of ``pattern`` contains, or None if unknown."""
    hit = _cache().get(_key(pattern))
    if hit is not None:
        return frozenset(hit[0]) if hit[0] is not None else None
    return _anchors_for(pattern)


def required_sets(pattern: str) -> tuple[frozenset[str], ...]:
    """Every word set the pattern requires (a match contains a word from each), best first;
    see ``_required_sets``."""
    hit = _cache().get(_key(pattern))
    if hit is not None:
        return tuple(frozenset(s) for s in hit[1])
    return _required_sets(pattern)


def cache_entries(patterns: Iterable[str]) -> dict[str, Any]:
    """The cache file's entries for ``patterns``, worked out afresh."""
    out: dict[str, Any] = {}
    for pattern in patterns:
        found = _anchors_for(pattern)
        out[_key(pattern)] = [sorted(found) if found is not None else None,
                              [sorted(s) for s in _required_sets(pattern)]]
    return out


def _anchors_for(pattern: str) -> frozenset[str] | None:
    try:
        parsed = _parse(pattern)
    except Exception:  # noqa: BLE001 - an unparseable pattern is simply always run
        return None
    best, _ = _sequence(list(parsed), word_start=True)
    return frozenset(best) if best else None


# Words so common that an anchor set containing one saves little; prefer any other set.
_COMMON = frozenset("""
the and but not had got get can can't don't was been have has out all just this that with for you
your are about going back need own say put come came made make take took give gave let see saw told
tell said says will would could should again still now over down from into what where when they them
their his her him she i'm i've i'll won't want feel like keep think one day last night
""".split())


def _score(candidate: set[str]) -> tuple[bool, int, int]:
    return (not (candidate & _COMMON), min(len(s) for s in candidate), -len(candidate))


def _is_space_class(node: Any) -> bool:
    """A class that never matches a word character (whitespace or \\W): what follows starts a word."""
    op, av = node
    if op is C.IN:
        return all(o is C.CATEGORY and a in (C.CATEGORY_SPACE, C.CATEGORY_NOT_WORD) for o, a in av)
    return False


def _required_sets(pattern: str) -> tuple[frozenset[str], ...]:
    """Every word set the pattern requires (a match contains a word from each), best first.

    ``anchors_for`` picks one set to look a pattern up by; a message only needs the pattern
    run when it also has a word from every other required set ("only|just" and "for" and
    "night*|day*"), which rules out most everyday messages that share one common word.
    An item is a word prefix ("night") or, marked with "=", a whole word ("=me"): a short
    word like "me" is no use as a prefix but is a good test as a whole word.
    """
    try:
        parsed = _parse(pattern)
    except Exception:  # noqa: BLE001 - an unparseable pattern is simply always run
        return ()
    found, _ = _flat(list(parsed), clean=True, lead="", follow=False)
    unique = {frozenset(c) for c in found}
    return tuple(sorted(unique, key=lambda c: (_flat_score(set(c)), sorted(c)), reverse=True))


def _flat_score(candidate: set[str]) -> tuple[bool, int, int]:
    return _score({s.lstrip("=") for s in candidate})


def _never_token(av: Any) -> bool:
    """A character class that matches no token character ([a-z0-9']): whitespace or punctuation."""
    return all(
        (o is C.CATEGORY and a is C.CATEGORY_SPACE) or (o is C.LITERAL and not _WORDCH.fullmatch(chr(a)))
        for o, a in av
    )


def _covers_token_chars(items: Any) -> bool:
    r"""The body of a (?<![\w']) or (?![\w']) assertion: a class holding \w and the apostrophe."""
    items = list(items)
    if len(items) != 1 or items[0][0] is not C.IN:
        return False
    av = items[0][1]
    return (C.CATEGORY, C.CATEGORY_WORD) in av and (C.LITERAL, ord("'")) in av


def _ends(items: list[Any], follow: bool) -> bool:
    """Whether the next character a sequence consumes is not a token character (or is the end).

    ``follow`` is the same answer for whatever comes after the sequence. Unknown is False.
    """
    for i, (op, av) in enumerate(items):
        if op is C.LITERAL:
            return not _WORDCH.fullmatch(chr(av))
        if op is C.IN:
            return _never_token(av)
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            lo, hi, body = av
            rest = _ends(items[i + 1 :], follow)
            if hi == 0:
                return rest
            first = _ends(list(body), rest)
            return first if lo >= 1 else (first and rest)
        if op is C.SUBPATTERN:
            return _ends(list(av[-1]), _ends(items[i + 1 :], follow))
        if op is C.BRANCH:
            rest = _ends(items[i + 1 :], follow)
            return all(_ends(list(b), rest) for b in av[1])
        if op is C.ASSERT_NOT and av[0] == 1 and _covers_token_chars(av[1]):
            return True  # (?![\w']): no token character follows
        if op in (C.ASSERT, C.ASSERT_NOT):
            continue  # consumes nothing: the next item decides
        if op is C.AT:
            if av in (C.AT_END, C.AT_END_STRING):
                return True
            continue
        return False
    return follow


def _flat(items: list[Any], clean: bool, lead: str, follow: bool) -> tuple[list[set[str]], bool]:
    r"""Word sets required by a sequence (for ``required_sets``), and whether it ends clean.

    Stricter than ``_sequence`` about where a message token starts: ``clean`` means the text
    character before the next one is not a token character ([a-z0-9']), so a literal run there
    starts a token; only whitespace, punctuation, ``(?<![\w'])`` and ``^`` make it so (\W can
    match an apostrophe). ``lead`` is a clean literal run carried into a group; ``follow``
    says whether what comes after the sequence ends a token (see ``_ends``).
    """
    out: list[set[str]] = []
    run = lead
    run_clean = bool(lead)

    def flush(ends: bool) -> None:
        nonlocal run
        if run and run_clean:
            if ends and len(run) >= 2:
                out.append({"=" + run})  # the whole token: "me", "the"
            elif len(run) >= MIN_ANCHOR:
                out.append({run})
        run = ""

    for i, (op, av) in enumerate(items):
        if op is C.LITERAL:
            ch = chr(av)
            if _WORDCH.fullmatch(ch):
                if not run:
                    run_clean = clean
                run += ch
                clean = False
            else:
                flush(True)
                clean = True
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
            flush(_ends(items[i:], follow))
            lo, _hi, body = av
            body = list(body)
            if len(body) == 1 and body[0][0] is C.IN and _never_token(body[0][1]):
                clean = clean or lo >= 1
                continue
            inner, _ = _flat(body, clean, "", False)
            _, end_clean = _flat(body, False, "", False)  # a later pass starts mid-word: be safe
            if lo >= 1:
                out.extend(inner)
            clean = end_clean and (lo >= 1 or clean)
        elif op is C.SUBPATTERN:
            carried = run if (run and run_clean) else ""
            if carried:
                run = ""
            else:
                flush(_ends(items[i:], follow))
            inner, clean = _flat(list(av[-1]), clean and not carried, carried, _ends(items[i + 1 :], follow))
            out.extend(inner)
        elif op is C.BRANCH:
            carried = run if (run and run_clean) else ""
            if carried:
                run = ""
            else:
                flush(_ends(items[i:], follow))
            rest = _ends(items[i + 1 :], follow)
            union: set[str] = set()
            all_clean = True
            ok = True
            for branch in av[1]:
                sets, end_clean = _flat(list(branch), clean and not carried, carried, rest)
                all_clean &= end_clean
                if sets:
                    union |= max(sets, key=_flat_score)
                else:
                    ok = False
            if ok and union:
                out.append(union)
            clean = all_clean
        elif op in (C.ASSERT, C.ASSERT_NOT, C.AT):
            flush(_ends(items[i:], follow))
            if op is C.AT and av is C.AT_BEGINNING:
                clean = True
            elif op is C.ASSERT_NOT and av[0] == -1 and _covers_token_chars(av[1]):
                clean = True
        elif op is C.IN and _never_token(av):
            flush(True)
            clean = True
        else:
            flush(_ends(items[i:], follow))
            clean = False
    flush(follow)
    return out, clean


def _sequence(items: list[Any], word_start: bool, lead: str = "") -> tuple[set[str] | None, bool]:
    """Best required prefix set within a sequence, and whether it ends at a word start.

    ``lead`` is literal text at a word start just before this sequence: the parser factors
    common prefixes out of alternatives ("co(ntrolling|ercive)"), so it is carried inside.
    """
    candidates: list[set[str]] = []
    run = lead
    run_ws = bool(lead)

    def flush() -> None:
        nonlocal run
        if run and run_ws:
            m = _WORDCH.match(run)
            if m and len(m.group()) >= MIN_ANCHOR:
                candidates.append({m.group()})
        run = ""

    for op, av in items:
        if op is C.LITERAL:
            ch = chr(av)
            if not run:
                run_ws = word_start
            if _WORDCH.fullmatch(ch):
                run += ch
                word_start = False
            else:
                flush()
                word_start = ch.isspace()
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
            flush()
            lo, _hi, body = av
            body = list(body)
            if len(body) == 1 and _is_space_class(body[0]):
                word_start = lo >= 1 or word_start
                continue
            inner, ends_ws = _sequence(body, word_start)
            if lo >= 1 and inner:
                candidates.append(inner)
            word_start = ends_ws and (lo >= 1 or word_start)
        elif op is C.SUBPATTERN:
            carried = run if (run and run_ws) else ""
            if carried:
                run = ""
            else:
                flush()
            body = list(av[-1])
            inner, ends_ws = _sequence(body, word_start and not carried, carried)
            if inner:
                candidates.append(inner)
            word_start = ends_ws
        elif op is C.BRANCH:
            carried = run if (run and run_ws) else ""
            if carried:
                run = ""  # the branches continue this word; it is not a candidate alone
            else:
                flush()
            union: set[str] = set()
            all_ws = True
            ok = True
            for branch in av[1]:
                inner, ends_ws = _sequence(list(branch), word_start and not carried, carried)
                all_ws &= ends_ws
                if inner is None:
                    ok = False
                else:
                    union |= inner
            if ok and union:
                candidates.append(union)
            word_start = all_ws
        elif op in (C.ASSERT, C.ASSERT_NOT, C.AT):
            flush()
            if op is C.AT and av is C.AT_BEGINNING:
                word_start = True  # "^homeless": the start of the text starts a word
            elif op is C.ASSERT_NOT and av[0] == -1:
                word_start = True  # (?<![\w']) - the next character starts a word
        elif op is C.IN and _is_space_class((op, av)):
            flush()
            word_start = True
        else:
            flush()
            word_start = False
    flush()
    if not candidates:
        return None, word_start
    return max(candidates, key=_score), word_start


def index(anchors: Iterable[tuple[int, frozenset[str]]]) -> dict[str, list[tuple[str, int]]]:
    """Map the first three letters of each anchor to (anchor, owner) pairs."""
    table: dict[str, list[tuple[str, int]]] = {}
    for owner, prefixes in anchors:
        for prefix in prefixes:
            table.setdefault(prefix[:MIN_ANCHOR], []).append((prefix, owner))
    return table


def shipped_patterns() -> list[str]:
    """Every pattern the shipped detector looks up anchors for (rule units and idioms)."""
    from escalation.detect.detector import rules_detector  # late: the detector imports this module

    detector = rules_detector()
    return detector.anchor_patterns()


def write_cache() -> int:
    """Write the cache file for the shipped rules; returns how many patterns it holds."""
    entries = cache_entries(shipped_patterns())
    with gzip.open(CACHE_FILE, "wt", encoding="utf-8", compresslevel=9) as fh:
        json.dump({"format": 1, "patterns": entries}, fh, sort_keys=True, separators=(",", ":"))
    _cache.cache_clear()
    return len(entries)


if __name__ == "__main__":
    print(f"wrote {write_cache()} patterns to {CACHE_FILE}")
