"""Anchor words: a fast pre-check of which rules could possibly match a message.

Python's regex engine tries every alternative at every word, so running ~40 large rule
patterns over every message is slow. For each pattern we work out, from its parsed form,
a set of word beginnings (at least three letters) one of which every match must contain -
e.g. {"suicid"} or {"evict", "bailiff", "section"}. A message is only run through the rules
whose anchors appear at the start of one of its words. A pattern with no safe anchor is
always run, so the pre-check can only save time, never lose a match.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

try:  # Python 3.11+: the parser moved; the old name still works with a warning.
    from re import _constants as C  # type: ignore[attr-defined]
    from re import _parser as P  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse as P  # type: ignore[no-redef]

_WORDCH = re.compile(r"[a-z0-9']+")
MIN_ANCHOR = 3


def anchors_for(pattern: str) -> frozenset[str] | None:
    """Word prefixes one of which every match of ``pattern`` contains, or None if unknown."""
    try:
        parsed = P.parse(pattern)
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


def required_sets(pattern: str) -> tuple[frozenset[str], ...]:
    """Every prefix set the pattern requires (a match contains a word from each), best first.

    ``anchors_for`` picks one set to look a pattern up by; a message only needs the pattern
    run when it also has a word from every other required set ("only|just" and "for" and
    "night*|day*"), which rules out most everyday messages that share one common word.
    """
    try:
        parsed = P.parse(pattern)
    except Exception:  # noqa: BLE001 - an unparseable pattern is simply always run
        return ()
    found, _ = _required(list(parsed), word_start=True, flat=True)
    unique = {frozenset(c) for c in found}
    return tuple(sorted(unique, key=lambda c: (_score(set(c)), sorted(c)), reverse=True))


def _sequence(items: list[Any], word_start: bool, lead: str = "") -> tuple[set[str] | None, bool]:
    """Best required prefix set within a sequence, and whether it ends at a word start.

    ``lead`` is literal text at a word start just before this sequence: the parser factors
    common prefixes out of alternatives ("co(ntrolling|ercive)"), so it is carried inside.
    """
    candidates, word_start = _required(items, word_start, lead, flat=False)
    if not candidates:
        return None, word_start
    return max(candidates, key=_score), word_start


def _required(items: list[Any], word_start: bool, lead: str = "", *, flat: bool) -> tuple[list[set[str]], bool]:
    """Required prefix sets of a sequence (each one is needed by every match).

    With ``flat``, the sets inside required groups and repeats are all kept; otherwise each
    group contributes only its best set (what ``anchors_for`` has always chosen from).
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

    def inner_sets(body: list[Any], starts: bool, carried: str = "") -> tuple[list[set[str]], bool]:
        if flat:
            return _required(body, starts, carried, flat=True)
        best, ends = _sequence(body, starts, carried)
        return ([best] if best else []), ends

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
            inner, ends_ws = inner_sets(body, word_start)
            if lo >= 1:
                candidates.extend(inner)
            word_start = ends_ws and (lo >= 1 or word_start)
        elif op is C.SUBPATTERN:
            carried = run if (run and run_ws) else ""
            if carried:
                run = ""
            else:
                flush()
            body = list(av[-1])
            inner, ends_ws = inner_sets(body, word_start and not carried, carried)
            candidates.extend(inner)
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
                best, ends_ws = _sequence(list(branch), word_start and not carried, carried)
                all_ws &= ends_ws
                if best is None:
                    ok = False
                else:
                    union |= best
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
    return candidates, word_start


def index(anchors: Iterable[tuple[int, frozenset[str]]]) -> dict[str, list[tuple[str, int]]]:
    """Map the first three letters of each anchor to (anchor, owner) pairs."""
    table: dict[str, list[tuple[str, int]]] = {}
    for owner, prefixes in anchors:
        for prefix in prefixes:
            table.setdefault(prefix[:MIN_ANCHOR], []).append((prefix, owner))
    return table
