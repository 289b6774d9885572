"""The rule-based risk detector: normalise, match tiered phrases, apply context."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from escalation.detect.anchors import anchors_for, index, required_sets
from escalation.detect.broadnet import BroadNets, parse_nets, load_broad
from escalation.detect.context import Context
from escalation.detect.normalise import Normaliser, dropped_g, missing_apostrophes, typos
from escalation.detect.ruleset import (
    CATEGORIES, Matcher, Rule, load_context, load_macros, load_normalisation, load_rules,
)

_SEVERITY_RANK = {"urgent": 0, "concern": 1}
_CATEGORY_RANK = {c: i for i, c in enumerate((*CATEGORIES, "review"))}
_WORD = re.compile(r"[a-z][a-z']*")
_TOKEN = re.compile(r"[a-z0-9'][a-z0-9']+")
_AMP_WORD = re.compile(r"[a-z0-9']*&[a-z0-9'&]*")
_WORD_CACHE_SIZE = 50_000


@dataclass(frozen=True)
class Finding:
    """One risk found in a message, with the words that triggered it."""

    category: str  # "crisis" | "housing" | "domestic_abuse" | "review"
    severity: str  # "urgent" | "concern"
    evidence: str  # short excerpt of the original text
    rule_id: str


@dataclass(frozen=True)
class Assessment:
    """Everything the detector found in one message."""

    findings: tuple[Finding, ...]
    failed: bool = False  # detection raised; findings then hold an urgent "review" finding

    @property
    def risks(self) -> list[str]:
        """Sorted distinct risk categories (the "review" marker is not a risk)."""
        return sorted({f.category for f in self.findings if f.category != "review"})

    def severity(self) -> dict[str, str]:
        """Worst severity per category, including "review" when detection failed."""
        worst: dict[str, str] = {}
        for f in self.findings:
            if f.category not in worst or _SEVERITY_RANK[f.severity] < _SEVERITY_RANK[worst[f.category]]:
                worst[f.category] = f.severity
        return worst


@dataclass(frozen=True)
class Trace:
    """One rule match and what context did to it (for evaluation and staff explanations)."""

    rule_id: str
    category: str
    severity: str
    evidence: str
    modifiers: frozenset[str]
    kept: bool
    cues: tuple[str, ...] = ()  # for a broad-net finding: the cue families that added up


_NOTHING_FOUND = Assessment(findings=())  # immutable, so every clean message can share it


def failed_assessment(reason: str) -> Assessment:
    """Fail closed: a message that could not be checked goes to a human."""
    return Assessment(
        findings=(Finding("review", "urgent", f"could not check this message ({reason})", "detector-error"),),
        failed=True,
    )


class Detector:
    """Offline detector built from an explicit rule list (see ``default_detector``)."""

    def __init__(
        self, rules: Sequence[Rule], normaliser: Normaliser, context: Context, nets: BroadNets | None = None,
    ) -> None:
        if not rules:
            raise ValueError("refusing to build a detector with no rules: it would miss every risk")
        self._normaliser = normaliser
        self._context = context
        # Recall safety net under the rules: may only add a concern for a category no rule flagged.
        self._nets = nets
        self.rules: tuple[Rule, ...] = tuple(
            sorted(rules, key=lambda r: (_CATEGORY_RANK.get(r.category, 99), not r.strong, _SEVERITY_RANK[r.severity]))
        )
        # One unit per pattern; a unit runs only when one of its anchor words is in the message
        # and so is a word from every other prefix set the pattern requires ("clauses").
        units: list[tuple[Rule, Matcher]] = []
        always: list[int] = []
        anchored: list[tuple[int, frozenset[str]]] = []
        clause_ids: dict[frozenset[str], int] = {}
        needs: list[frozenset[int]] = []
        for rule in self.rules:
            for part in rule.parts or (rule.regex,):
                n = len(units)
                units.append((rule, part))
                found = anchors_for(part.pattern) if isinstance(part.pattern, str) else None
                if found:
                    anchored.append((n, found))
                    sets = (found, *required_sets(part.pattern))
                    needs.append(frozenset(clause_ids.setdefault(c, len(clause_ids)) for c in sets))
                else:
                    always.append(n)
                    needs.append(frozenset())
        # Broad-net cues too: a cue missing a required word is not tried (its family may then
        # not count towards the net's bound at all, so most nets stop before any search). They
        # are numbered after the rule units, so one set and one pass handle both.
        self._net_cues: tuple[tuple[int, int, int], ...] = ()
        self._net_ids: dict[tuple[int, int, int], int] = {}
        if nets is not None:
            required = nets.requirements()
            self._net_cues = tuple(
                (n, f, c)
                for n, net in enumerate(nets.nets)
                for f, family in enumerate(net.families)
                for c in range(len(family.cues))
            )
            for cue in self._net_cues:
                self._net_ids[cue] = len(units) + len(self._net_ids)
                needs.append(frozenset(clause_ids.setdefault(c, len(clause_ids)) for c in required.get(cue, ())))
        # Idioms too: only those whose required words are all present are run (same spans).
        self._idiom_needs = tuple(
            frozenset(clause_ids.setdefault(c, len(clause_ids)) for c in required_sets(p.pattern))
            for p in context.idiom_patterns
        )
        self._units = tuple(units)
        self._always = frozenset(always)
        self._index = index(anchored)
        self._needs = tuple(needs)
        # Clause items are word prefixes ("night") or whole words ("=me"): looked up separately.
        self._clause_index = index(
            (cid, frozenset(w for w in clause if w[0] != "=")) for clause, cid in clause_ids.items()
        )
        self._clause_words: dict[str, frozenset[int]] = {}
        for clause, cid in clause_ids.items():
            for w in clause:
                if w[0] == "=":
                    self._clause_words[w[1:]] = self._clause_words.get(w[1:], frozenset()) | {cid}
        # word -> (rule units and net cues it may start, clauses it satisfies), or None for neither.
        self._word_units: dict[str, tuple[frozenset[int], frozenset[int]] | None] = {}

    def assess(self, text: str) -> Assessment:
        """Check one message. Never raises: any error gives a failed, urgent "review" result."""
        try:
            return self._assess(text)
        except Exception as exc:  # noqa: BLE001 - fail closed on anything
            return failed_assessment(type(exc).__name__)

    def explain(self, text: str) -> list[Trace]:
        """Every rule match in ``text``, including those context set aside."""
        return list(self._traces(text))

    def _assess(self, text: str) -> Assessment:
        best: dict[str, Finding] = {}
        for trace in self._traces(text):
            if not trace.kept:
                continue
            current = best.get(trace.rule_id)
            if current is None or _SEVERITY_RANK[trace.severity] < _SEVERITY_RANK[current.severity]:
                best[trace.rule_id] = Finding(trace.category, trace.severity, trace.evidence, trace.rule_id)
        if not best:
            return _NOTHING_FOUND
        findings = sorted(
            (_raise_crisis_severity(f, text) for f in best.values()),
            key=lambda f: (_CATEGORY_RANK.get(f.category, 99), _SEVERITY_RANK[f.severity], f.rule_id),
        )
        return Assessment(findings=tuple(findings))

    def _traces(self, text: str) -> Iterable[Trace]:
        if not isinstance(text, str):
            raise TypeError(f"expected text, got {type(text).__name__}")
        norm = self._normaliser.normalise(text)
        t = norm.text
        ctx = self._context
        idioms = None
        flagged: set[str] = set()
        candidates, net_units, clauses = self._candidates(t)
        for n in candidates:
            rule, part = self._units[n]
            for m in part.finditer(t):
                start, end = m.span()
                ev_start, ev_end = start, end
                if rule.also:
                    found = self._combined(rule, t, start, end)
                    if found is None:
                        continue
                    ev_start, ev_end = found
                if rule.not_within is not None and self._inside(rule.not_within, t, start, end):
                    continue
                mods: frozenset[str] = frozenset()
                if not rule.strong:
                    if idioms is None:
                        idioms = self._idiom_spans(t, clauses)
                    mods = frozenset(ctx.modifiers(t, start, end, idioms) - rule.ignore_context)
                severity = rule.severity
                if not mods and severity == "concern" and ctx.escalates(rule.category, t, start, end):
                    severity = "urgent"
                if not mods:
                    flagged.add(rule.category)
                yield Trace(rule.id, rule.category, severity, norm.excerpt(ev_start, ev_end), mods, kept=not mods)
        if self._nets is not None and len(flagged) < len(CATEGORIES) and (net_units or self._nets.tries_always):
            hits = self._nets.hits(
                t, skip=flagged, idioms=idioms, units=net_units, idiom_finder=lambda: self._idiom_spans(t, clauses),
            )
            for hit in hits:
                evidence = " + ".join(norm.excerpt(a, b, limit=40) for a, b in hit.spans)
                yield Trace(f"net.{hit.category}", hit.category, "concern", evidence, frozenset(), True, hit.families)

    def _idiom_spans(self, text: str, clauses: set[int]) -> list[Any]:
        """The context's idiom spans, running only the idioms whose required words are present."""
        return self._context.idiom_spans(text, [i for i, need in enumerate(self._idiom_needs) if need <= clauses])

    def _inside(self, pattern: Matcher, text: str, start: int, end: int) -> bool:
        """Whether text[start:end] lies wholly inside a match of ``pattern`` in its sentence."""
        sent = self._context.sentence(text, start, end)
        for m in pattern.finditer(text, sent.start, sent.end):  # type: ignore[call-arg]
            if m.start() <= start and end <= m.end():
                return True
        return False

    def _combined(self, rule: Rule, text: str, start: int, end: int) -> tuple[int, int] | None:
        """For a combination rule: the span covering every cue group, or None if one is missing."""
        if rule.within == "message":
            lo, hi = 0, len(text)
        else:
            sent = self._context.sentence(text, start, end)
            lo, hi = sent.start, sent.end
        first, last = start, end
        for group in rule.also:
            m = group.search(text, lo, hi)
            if m is None:
                return None
            first, last = min(first, m.start()), max(last, m.end())
        return first, last

    def _candidates(self, text: str) -> tuple[list[int], set[tuple[int, int, int]], set[int]]:
        """Rule units whose required words are all in the message (sorted), broad-net cues, clauses.

        A unit is run only when, for every word set its pattern requires, one of the message's
        words is in the set (or starts with one of its prefixes); one pass over the words.
        """
        triggered: set[int] = set(self._always)
        clauses: set[int] = set()
        cache = self._word_units
        words = set(_TOKEN.findall(text))
        # A quoted word ('rope', 'pills') is also looked up bare: the pre-check may only ever let
        # more patterns run, never fewer.
        words |= {w.strip("'") for w in words if w[0] == "'" or w[-1] == "'"} - {""}
        for word in words:
            if word in cache:
                entry = cache[word]
            else:
                entry = self._word_entry(word)
                if len(cache) < _WORD_CACHE_SIZE:  # words repeat a lot; bounded so memory cannot grow
                    cache[word] = entry
            if entry is not None:
                triggered.update(entry[0])
                clauses.update(entry[1])
        nets = self._nets
        if nets is not None and "&" in text:  # "a&e", "b&b": one word to the nets, none to the rules
            ids = self._net_ids
            for word in _AMP_WORD.findall(text):
                triggered.update(ids[u] for u in nets.word_units(word))
        needs = self._needs
        found = [n for n in triggered if needs[n] <= clauses]
        found.sort()
        split = bisect_left(found, len(self._units))
        cues = self._net_cues
        first_cue = len(self._units)
        return found[:split], {cues[n - first_cue] for n in found[split:]}, clauses

    def _word_entry(self, word: str) -> tuple[frozenset[int], frozenset[int]] | None:
        """What one message word may start (rule units, net cues) and the clauses it satisfies."""
        if len(word) < 2:
            return None
        key = word[:3]
        triggers = {n for prefix, n in self._index.get(key, ()) if word.startswith(prefix)}
        if self._nets is not None:
            ids = self._net_ids
            triggers.update(ids[u] for u in self._nets.word_units(word))
        clauses = {c for prefix, c in self._clause_index.get(key, ()) if word.startswith(prefix)}
        clauses.update(self._clause_words.get(word, ()))
        if not triggers and not clauses:
            return None
        return frozenset(triggers), frozenset(clauses)


def vocabulary(rules: Iterable[Rule], macros: dict[str, list[str]]) -> set[str]:
    """Words the rules spell out, used to undo stretched letters ("hellllp" -> "help")."""
    words: set[str] = set()
    for rule in rules:
        for source in rule.source:
            words.update(_WORD.findall(source))
    for items in macros.values():
        for item in items:
            words.update(_WORD.findall(item))
    return words


def default_detector() -> Detector:
    """The detector built from the rule files shipped in ``escalation/detect/rules``."""
    macros = load_macros()
    rules = load_rules()
    norm_data = load_normalisation()
    vocab = vocabulary(rules, macros)
    # Generated spellings first, so the hand-written map in normalise.toml always wins.
    words: dict[str, str] = {}
    words.update(typos(norm_data.get("typo_targets", {}).get("words", ()), vocab | set(norm_data["words"])))
    words.update(dropped_g(vocab))
    words.update(missing_apostrophes(vocab))
    words.update(norm_data["words"])
    normaliser = Normaliser(words, norm_data["emoji"], vocab, norm_data.get("phrases", {}))
    context = Context(load_context(), macros)
    return Detector(rules, normaliser, context, BroadNets(parse_nets(load_broad()), context))


# A crisis flag is urgent, whatever rule raised it, when the message says it is for now ("tonight",
# "right now", "today") or names killing oneself outright: a same-day human response is wanted.
# Context rules have already dropped negated, idiomatic, third-party and past matches.
_CRISIS_NOW = re.compile(
    r"\b(?:to\s?night|tonite|tnite|2nite|2night|right now|rite now|rn|to\s?day|2day|this (?:evening|afternoon)"
    r"|before (?:the )?morning|in a (?:bit|min|minute)|any minute)\b",
    re.IGNORECASE,
)
_CRISIS_EXPLICIT = re.compile(
    r"\b(?:kill(?:ing)? (?:my\s?self|me\s?self|myslf|masel[f]?)|kms|end(?:ing)? (?:my|me) (?:own )?life"
    r"|take (?:my|me) (?:own )?life|suicid\w*)\b",
    re.IGNORECASE,
)


def _raise_crisis_severity(finding: Finding, text: str) -> Finding:
    if finding.category != "crisis" or finding.severity == "urgent":
        return finding
    if _CRISIS_NOW.search(text) or _CRISIS_EXPLICIT.search(text):
        return Finding(finding.category, "urgent", finding.evidence, finding.rule_id)
    return finding

