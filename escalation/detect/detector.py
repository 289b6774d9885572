"""The risk detector: normalise, match tiered phrases, apply context, then the learned layer.

The learned layer (`learned.py`) runs after the rules and may only add a finding: a
category no rule kept, or (for crisis) an urgent finding where the rules saw only a concern. It
may not add a category whose words the context step set aside (a negation, the past, someone
else, an idiom): for such a category it scores the message with those words blanked out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any, Iterable, Sequence

from escalation.detect.anchors import anchors_for, index, required_sets
from escalation.detect import severity
from escalation.detect.context import Context
from escalation.detect.learned import URGENCY, LearnedModel, evidence_spans
from escalation.detect.learned import load as load_model
from escalation.detect.normalise import Normalised, Normaliser, dropped_g, missing_apostrophes, typos
from escalation.detect.ruleset import (
    check_patterns,
    CATEGORIES, Matcher, Rule, load_context, load_macros, load_normalisation, load_rules,
)

_SEVERITY_RANK = {"urgent": 0, "concern": 1}
_CATEGORY_RANK = {c: i for i, c in enumerate((*CATEGORIES, "review"))}
_WORD = re.compile(r"[a-z][a-z']*")
_TOKEN = re.compile(r"[a-z0-9'][a-z0-9']+")
_WORDS = re.compile(r"[a-z0-9']+")
MIN_MODEL_WORDS = 3  # the learned layer adds nothing to a message of fewer words (see _model_traces)


def model_may_judge(normalised: str) -> bool:
    """Whether the learned layer may flag a category in this (normalised) message: it has at
    least MIN_MODEL_WORDS words. Shorter ones ("no", "yes x") are left to the rules, and an
    answer to a check-in question to the flow's own answer scoring."""
    return len(_WORDS.findall(normalised)) >= MIN_MODEL_WORDS
_WORD_CACHE_SIZE = 50_000
_FIRST, _SECOND = itemgetter(0), itemgetter(1)
_UNSEEN = object()  # a word not yet in the pre-check's cache (None there means "starts nothing")


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
    emergency: bool = False  # an overdose or poisoning already taken: 999 / A&E comes first

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
    span: tuple[int, int] = (0, 0)  # where the match is in the normalised text
    score: float | None = None  # for the learned layer: its probability for the category


@dataclass(frozen=True)
class LearnedScore:
    """The learned layer's verdict on one category: probability after context, evidence spans."""

    probability: float
    spans: tuple[tuple[int, int], ...]
    why: frozenset[str]


@dataclass(frozen=True)
class RuleView:
    """What the rules (without the learned layer) made of one message, for training: the
    normalised text, the categories they kept, and per category the text with the words that
    context set aside blanked out (only categories that had such words)."""

    normalised: str
    flagged: frozenset[str]
    masked: dict[str, str]
    aside: dict[str, tuple[tuple[int, int], ...]]
    urgent: frozenset[str]  # categories the rules found urgent (after the severity rules)
    question: str = ""  # the normalised check-in question the message answers, if any


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
        self, rules: Sequence[Rule], normaliser: Normaliser, context: Context,
        model: LearnedModel | None = None,
    ) -> None:
        if not rules:
            raise ValueError("refusing to build a detector with no rules: it would miss every risk")
        self._normaliser = normaliser
        self._context = context
        # Recall booster after the rules: may only add findings (see the module doc).
        self.model = model

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
        # Idioms too: only those whose required words are all present are run (same spans).
        self._idiom_needs = tuple(
            frozenset(clause_ids.setdefault(c, len(clause_ids)) for c in required_sets(p.pattern))
            for p in context.idiom_patterns
        )
        self._units = tuple(units)
        self._compiled: list[Any] = [None] * len(units)  # each unit's compiled pattern, once run
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

    def anchor_patterns(self) -> list[str]:
        """The patterns whose anchor words the pre-check uses (see ``anchors.CACHE_FILE``)."""
        parts = [part.pattern for rule in self.rules for part in (rule.parts or (rule.regex,))]
        return parts + [p.pattern for p in self._context.idiom_patterns]

    def check(self) -> None:
        """Compile every rule and idiom pattern now (raises ValueError naming a bad rule)."""
        check_patterns(self.rules)
        for idiom in self._context.idiom_patterns:
            idiom.compiled()

    def assess(self, text: str, question: str | None = None) -> Assessment:
        """Check one message; `question` is the check-in question it answers, if any (the
        learned layer weighs its words: "not really" means more after "somewhere safe to stay
        tonight?"). Never raises: any error gives a failed, urgent "review" result."""
        try:
            return self._assess(text, question)
        except Exception as exc:  # noqa: BLE001 - fail closed on anything
            return failed_assessment(type(exc).__name__)

    def explain(self, text: str, question: str | None = None) -> list[Trace]:
        """Every rule match in ``text``, including those context set aside, then the learned
        layer's score for each category (kept when it added a finding)."""
        norm = self._normalise(text)
        traces = list(self._rule_traces(norm))
        return traces + self._model_traces(norm, traces, self._question(question), every_category=True)

    def _question(self, question: str | None) -> str:
        """The check-in question as the learned layer reads it (normalised like a message)."""
        return self._normalise(question).text if question else ""

    def rule_view(self, text: str, question: str | None = None) -> RuleView:
        """The rules' view of ``text`` (see RuleView); used to train the learned layer."""
        norm = self._normalise(text)
        traces = list(self._rule_traces(norm))
        aside = self._set_aside(norm.text, traces)
        kept = [Finding(t.category, t.severity, t.evidence, t.rule_id) for t in traces if t.kept]
        urgent = frozenset(f.category for f in severity.adjust(kept, norm.text) if f.severity == "urgent")
        return RuleView(norm.text, frozenset(t.category for t in traces if t.kept),
                        {c: _blank(norm.text, spans) for c, spans in aside.items()},
                        {c: tuple(spans) for c, spans in aside.items()}, urgent, self._question(question))

    def runtime_probabilities(self, view: RuleView, model: LearnedModel) -> dict[str, float]:
        """For training: each category's probability for a message the rules have seen
        (``rule_view``), exactly as assessment would judge it with ``model``: a message of
        fewer than MIN_MODEL_WORDS words scores 0 for every category (the model adds nothing to
        it; only its urgency output still reads it, for a crisis the rules kept)."""
        out = {}
        too_short = not model_may_judge(view.normalised)
        for output in model.outputs:
            if too_short and output in CATEGORIES:
                out[output] = 0.0
                continue
            aside = view.aside.get(output if output in CATEGORIES else "crisis", ())
            out[output] = model.probabilities(_blank(view.normalised, aside), view.question)[output]
        return out

    def _normalise(self, text: str) -> Normalised:
        if not isinstance(text, str):
            raise TypeError(f"expected text, got {type(text).__name__}")
        return self._normaliser.normalise(text)

    def _assess(self, text: str, question: str | None = None) -> Assessment:
        norm = self._normalise(text)
        traces = list(self._rule_traces(norm))
        if self.model is not None:
            traces += self._model_traces(norm, traces, self._question(question))
        best: dict[str, Finding] = {}
        for trace in traces:
            if not trace.kept:
                continue
            current = best.get(trace.rule_id)
            if current is None or _SEVERITY_RANK[trace.severity] < _SEVERITY_RANK[current.severity]:
                best[trace.rule_id] = Finding(trace.category, trace.severity, trace.evidence, trace.rule_id)
        if not best:
            return _NOTHING_FOUND
        # The words-based severity rules read the rules' findings; the model's crisis findings
        # are urgent only by its own urgency output (or "tonight"), so a negated "suicidal" the
        # model weighed does not become urgent by itself.
        ruled = severity.adjust([f for f in best.values() if not f.rule_id.startswith("model.")], norm.text)
        findings = sorted(
            [*ruled, *(f for f in best.values() if f.rule_id.startswith("model."))],
            key=lambda f: (_CATEGORY_RANK.get(f.category, 99), _SEVERITY_RANK[f.severity], f.rule_id),
        )
        return Assessment(findings=tuple(findings), emergency=severity.is_emergency(findings, norm.text))

    def _model_traces(self, norm: Normalised, traces: Sequence[Trace], question: str = "", *,
                      every_category: bool = False) -> list[Trace]:
        """The learned layer's findings (kept traces) for what the rules left out.

        A category is flagged at its threshold, or at its stricter `with_other` threshold when
        another category was found in the message (by the rules, or by the model at that
        category's own threshold): a strong crisis message also scores somewhat for abuse, and
        most such second flags were false in cross-validation. The trainer chose both
        thresholds with this same rule (train.Policy).

        With ``every_category`` (explain), a trace for every category, kept or not.
        """
        model = self.model
        if model is None:
            return []
        kept = {t.category: t.severity for t in traces if t.kept}
        # Nothing the model could add: every category kept, crisis already urgent.
        if not every_category and all(c in kept for c in model.categories) and kept.get("crisis") == "urgent":
            return []
        too_short = not model_may_judge(norm.text)
        # Nothing it could add either: too few words to flag anything, and no crisis the rules
        # kept for its urgency output to raise (see below; "yes", "ok thanks" end here).
        if not every_category and too_short and "crisis" not in kept:
            return []
        aside = self._set_aside(norm.text, traces)
        plain = model.probabilities(norm.text, question)
        probability = {c: plain[c] if c not in aside
                       else model.probabilities(_blank(norm.text, aside[c]), question)[c]
                       for c in model.categories}
        found_first = {c for c in model.categories
                       if c in kept or (probability[c] >= model.thresholds[c] and not too_short)}
        out: list[Trace] = []
        for category in model.categories:
            limit = model.thresholds[category]
            if found_first - {category}:
                limit = max(limit, model.with_other.get(category, limit))
            # One or two words ("me again", "you there?", "STOP") are too little for the model:
            # its scores there rest on one or two features and were mostly false alarms on
            # everyday replies. The rules still read them ("kms", "homeless", "took the lot").
            flagged = probability[category] >= limit and not too_short
            is_urgent = False
            if category == "crisis" and URGENCY in model.outputs and (flagged or category in kept):
                urgency = model.probabilities(_blank(norm.text, aside.get(category, ())), question)[URGENCY]
                is_urgent = urgency >= model.thresholds[URGENCY]
            if category in kept and is_urgent:
                flagged = True  # the rules saw a crisis and the model says how urgent it is
            adds = flagged and (category not in kept or (
                category == "crisis" and is_urgent and kept[category] != "urgent"))
            if not adds and not every_category:
                continue
            found = self.learned_probability(norm.text, aside.get(category, ()), category, model, question)
            why = set(found.why)
            if not flagged:
                why.add("below-threshold")
            elif not adds:
                why.add("rules-already")
            spans = found.spans
            span = (spans[0][0], spans[-1][1]) if spans else (0, 0)
            words = " + ".join(norm.excerpt(x, y, limit=40) for x, y in spans) or norm.excerpt(0, len(norm.text), 60)
            severity = "urgent" if is_urgent else "concern"
            # "tonight" makes the model's crisis or housing finding urgent; not its abuse
            # finding: abuse wording changes what the mentee is sent, and the model's own abuse
            # flags are its least precise (a concern still reaches a person the same day).
            if (severity == "concern" and spans and category != "domestic_abuse"
                    and self._context.escalates(category, norm.text, *span)):
                severity = "urgent"
            out.append(Trace(
                f"model.{category}", category, severity,
                f"{words} ({model.label}: {found.probability:.2f})"[:300],
                frozenset() if adds else frozenset(why), adds, span, round(found.probability, 4),
            ))
        return out

    def learned_probability(self, normalised: str, rule_aside: Iterable[tuple[int, int]], output: str,
                            model: LearnedModel, question: str = "") -> LearnedScore:
        """The model's probability for one output once the rules' context has had its say: the
        words the context step set aside for this category (a negation, someone else, the past,
        an idiom) are blanked out first, so the model cannot bring them back.

        (Running the same context checks over the model's own evidence words was tried and
        left out: "someone else" fires on the abuser in nearly every domestic-abuse message, and
        grouped cross-validation lost 0.04-0.10 precision at the same recall.)
        """
        text = _blank(normalised, rule_aside)
        why = frozenset({"context-set-aside"}) if text != normalised else frozenset()
        probability = model.probabilities(text, question)[output]
        return LearnedScore(probability, tuple(evidence_spans(model, text, output)), why)

    def _set_aside(self, text: str, traces: Iterable[Trace]) -> dict[str, list[tuple[int, int]]]:
        """Per category, the words the context step set aside: the match itself, and for a
        negation the clause up to it, because the cue ("I would never ...") belongs to what was
        set aside (left behind, "never" and "not" alone weigh towards crisis).

        (Widening "someone else" and "the past" the same way was tried: grouped
        cross-validation lost domestic-abuse precision, the abuser being "someone else".)"""
        aside: dict[str, list[tuple[int, int]]] = {}
        for t in traces:
            if t.kept or t.span == (0, 0):
                continue
            start, end = t.span
            if "negation" in t.modifiers:
                start = min(start, self._context.clause(text, start, end).start)
            aside.setdefault(t.category, []).append((start, end))
        return aside

    def _rule_traces(self, norm: Normalised) -> Iterable[Trace]:
        t = norm.text
        ctx = self._context
        idioms = None
        candidates, clauses = self._candidates(t)
        units, compiled = self._units, self._compiled
        for n in candidates:
            rule, part = units[n]
            pattern = compiled[n]
            if pattern is None:  # compiled on first use (see ruleset.LazyPattern), then kept here
                compile_now = getattr(part, "compiled", None)
                pattern = compiled[n] = compile_now() if compile_now is not None else part
            for m in pattern.finditer(t):
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
                yield Trace(rule.id, rule.category, severity, norm.excerpt(ev_start, ev_end), mods,
                            kept=not mods, span=(ev_start, ev_end))

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

    def _candidates(self, text: str) -> tuple[list[int], set[int]]:
        """Rule units whose required words are all in the message (sorted), and the clauses.

        A unit is run only when, for every word set its pattern requires, one of the message's
        words is in the set (or starts with one of its prefixes); one pass over the words.
        """
        cache = self._word_units
        words = set(_TOKEN.findall(text))
        # A quoted word ('rope', 'pills') is also looked up bare: the pre-check may only ever let
        # more patterns run, never fewer.
        if "'" in text:
            words |= {w.strip("'") for w in words if w[0] == "'" or w[-1] == "'"} - {""}
        found_entries = list(map(cache.get, words, repeat(_UNSEEN)))
        if _UNSEEN in found_entries:  # words not seen before: work out what they may start
            found_entries = []
            for word in words:
                entry = cache.get(word, _UNSEEN)
                if entry is _UNSEEN:
                    entry = self._word_entry(word)
                    if len(cache) < _WORD_CACHE_SIZE:  # words repeat a lot; bounded so memory cannot grow
                        cache[word] = entry
                found_entries.append(entry)
        entries = [e for e in found_entries if e is not None]
        if not entries:
            return sorted(self._always), set()
        # One union of every word's sets (in C), not two updates per word.
        triggered = self._always.union(*map(_FIRST, entries))
        clauses: set[int] = set().union(*map(_SECOND, entries))
        needs = self._needs
        found = [n for n in triggered if needs[n] <= clauses]
        found.sort()
        return found, clauses

    def _word_entry(self, word: str) -> tuple[frozenset[int], frozenset[int]] | None:
        """What one message word may start (rule units) and the clauses it satisfies."""
        if len(word) < 2:
            return None
        key = word[:3]
        triggers = {n for prefix, n in self._index.get(key, ()) if word.startswith(prefix)}
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
    """The shipped detector: the rule files in ``escalation/detect/rules`` and the learned layer
    in ``escalation/detect/model`` (a model file that cannot be loaded raises: fail closed)."""
    detector = rules_detector()
    detector.model = load_model()
    return detector


def rules_detector() -> Detector:
    """The detector built from the rule files shipped in ``escalation/detect/rules`` alone."""
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
    return Detector(rules, normaliser, context)


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` with the given spans replaced by spaces (same length, so offsets still hold)."""
    chars = list(text)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)
