"""Rule data: loading the TOML rule files and compiling their phrase patterns.

Phrase syntax (kept close to plain words so a safeguarding lead can read and extend it):

- words separated by spaces match words separated by any whitespace (hyphens count as spaces);
- ``(a|b|c)`` is a choice, ``(really )?`` an optional part, ``word*`` any word starting "word";
- ``...`` is a gap of up to five words inside one sentence;
- ``{NAME}`` is a word list from ``lexicon.toml`` (e.g. ``{PARTNER}``);
- anything else is a Python regular expression over the normalised (lower-case) text.

A rule may instead list ``all = [[...], [...]]``: groups of phrases that must *all* appear in
the same sentence (``within = "sentence"``, the default) or message (``within = "message"``).
This is how weaker cues that only mean risk together ("pills" + "lined up") are written; the
first group is the main cue (its words are the evidence start and context is judged on it).

A rule may also list ``not_within``: larger constructions that contain the rule's phrase but
are a different thing said ("if I eat one more pot noodle I'm gonna kill myself 😂"). A match
lying wholly inside one of them, in its sentence, is not the rule's phrase. This is part of the
rule's own definition (shown with its examples), not a context modifier; keep it narrow.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Mapping, Protocol, Sequence

CATEGORIES = ("crisis", "housing", "domestic_abuse")
SCOPES = ("sentence", "message")
SEVERITIES = ("urgent", "concern")
MODIFIERS = ("negation", "idiom", "third_party", "past")

_GAP = r",?(?:\s+[^\s.!?;]+){0,5}?\s+"  # a comma may follow the word before the gap
_MACRO = re.compile(r"\{([A-Z_]+)\}")


class Matcher(Protocol):
    """What a rule needs from a compiled pattern (a ``re.Pattern`` in practice)."""

    pattern: str

    def finditer(self, string: str) -> Any: ...


class LazyPattern:
    """A word-bounded regex compiled the first time it is run.

    Most of the ~900 rule patterns never run on a given message (the anchor pre-check skips
    them), so compiling them all at import made loading the detector take seconds. The
    pattern's syntax is still checked at start-up by ``check_patterns`` (the service's
    ``warm_up``, the rule tests and ``checkins risk check``).
    """

    __slots__ = ("pattern", "_compiled")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled: re.Pattern[str] | None = None

    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern)
        return self._compiled

    def finditer(self, string: str, *args: Any) -> Any:
        return self.compiled().finditer(string, *args)

    def search(self, string: str, *args: Any) -> re.Match[str] | None:
        return self.compiled().search(string, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.compiled(), name)

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r})"


def _bounded(body: str) -> LazyPattern:
    return LazyPattern(rf"(?<![\w'])(?:{body})(?![\w'])")


@dataclass(frozen=True)
class Rule:
    """One detection rule: a named, tiered set of phrase patterns for a category."""

    id: str
    category: str
    severity: str
    description: str
    regex: Matcher
    # A strong rule is never changed by context: its phrase is risk on its own.
    strong: bool = False
    # Context modifiers that do not apply to this rule (e.g. DA rules name another person).
    ignore_context: frozenset[str] = frozenset()
    matches: tuple[str, ...] = ()
    ignores: tuple[str, ...] = ()
    source: tuple[str, ...] = field(default=(), compare=False)
    # The same patterns compiled one by one (lets the detector run only the likely ones).
    parts: tuple[Matcher, ...] = field(default=(), compare=False)
    # Combination rules: further cue groups that must all be found too, and where.
    also: tuple[Matcher, ...] = field(default=(), compare=False)
    within: str = "sentence"
    # Constructions that contain the phrase but mean something else (see module docstring).
    not_within: Matcher | None = field(default=None, compare=False)


_EXPANSIONS: dict[int, tuple[Mapping[str, Sequence[str]], dict[str, str]]] = {}


def _expansions(macros: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """The regex of each word list in ``macros``, built on first use (keyed by the mapping
    itself, which is held so its id cannot be reused)."""
    held = _EXPANSIONS.get(id(macros))
    if held is None or held[0] is not macros:
        if len(_EXPANSIONS) > 16:
            _EXPANSIONS.clear()
        held = _EXPANSIONS[id(macros)] = (macros, {})
    return held[1]


def compile_phrase(phrase: str, macros: Mapping[str, Sequence[str]], _depth: int = 0) -> str:
    """Turn one phrase pattern into a regular-expression body (no boundaries)."""
    if _depth > 5:
        raise ValueError(f"word lists nest too deeply near {phrase!r}")

    def expand(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in macros:
            raise ValueError(f"unknown word list {{{name}}} in {phrase!r}")
        # A word list is used by many rules: build its regex once per set of lists.
        memo = _expansions(macros)
        if name not in memo:
            plain = [a for a in macros[name] if _PLAIN.fullmatch(a)]
            alts = [compile_phrase(a, macros, _depth + 1) for a in macros[name] if not _PLAIN.fullmatch(a)]
            if plain:  # plain words as a prefix tree: the regex engine tries far fewer branches
                alts.insert(0, _trie(plain))
            memo[name] = "(?:" + "|".join(alts) + ")"
        return memo[name]

    out: list[str] = []
    i = 0
    while i < len(phrase):
        if phrase.startswith(" ... ", i):
            out.append(_GAP)
            i += 5
        elif phrase[i] == "{" and _MACRO.match(phrase, i):
            m = _MACRO.match(phrase, i)
            assert m is not None
            out.append(expand(m))
            i = m.end()
        elif phrase[i] == "*" and (i == 0 or phrase[i - 1] not in ")]\\") and phrase[i - 2 : i - 1] != "\\":
            out.append(r"[\w']*")
            i += 1
        elif phrase.startswith(" ?", i):
            out.append(r"\s*")  # "cas ?3": the space is optional
            i += 2
        elif phrase[i] == " ":
            out.append(r"\s+")
            i += 1
        elif phrase[i] == "\\" and i + 1 < len(phrase):
            out.append(phrase[i : i + 2])
            i += 2
        else:
            out.append(phrase[i])
            i += 1
    return "".join(out)


_PLAIN = re.compile(r"[a-z0-9'&]+(?: [a-z0-9'&]+)*")


def _trie(items: Sequence[str]) -> str:
    """One regex matching exactly the plain phrases in ``items``, factored by common prefix.

    Longer phrases are tried before their own prefixes ("ex partner" before "ex"), as in a
    plain alternation sorted longest first; the word boundary after the whole rule decides.
    """
    tree: dict[str, Any] = {}
    for item in items:
        node = tree
        for ch in item:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = []
        for ch in sorted(k for k in node if k):
            piece = r"\s+" if ch == " " else re.escape(ch)
            branches.append(piece + emit(node[ch]))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return emit(tree)


def compile_patterns(patterns: Sequence[str], macros: Mapping[str, Sequence[str]]) -> LazyPattern:
    """Compile a rule's phrase patterns into one word-bounded regex (compiled on first use)."""
    if not patterns:
        raise ValueError("a rule needs at least one pattern")
    return _bounded("|".join(f"(?:{compile_phrase(p, macros)})" for p in patterns))


def compile_each(patterns: Sequence[str], macros: Mapping[str, Sequence[str]]) -> tuple[LazyPattern, ...]:
    """Compile each phrase pattern on its own, word-bounded."""
    return tuple(_bounded(compile_phrase(p, macros)) for p in patterns)


def check_patterns(rules: Sequence["Rule"]) -> None:
    """Compile every pattern of ``rules`` now; raises ValueError naming the rule on bad syntax."""
    for rule in rules:
        for pattern in (rule.regex, *rule.parts, *rule.also, rule.not_within):
            if isinstance(pattern, LazyPattern):
                try:
                    pattern.compiled()
                except re.error as exc:
                    raise ValueError(f"rule {rule.id}: bad pattern: {exc}") from exc


def _load_toml(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("escalation.detect.rules").joinpath(name).read_text("utf-8"))


def load_macros() -> dict[str, list[str]]:
    """Word lists shared by the rules (``lexicon.toml``)."""
    return {k: list(v) for k, v in _load_toml("lexicon.toml")["lists"].items()}


def parse_rules(data: Mapping[str, Any], macros: Mapping[str, Sequence[str]]) -> list[Rule]:
    """Build rules from one parsed rule file; raises ValueError on anything malformed."""
    category = data.get("category")
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    default_ignore = frozenset(data.get("ignore_context", ()))
    rules = []
    for raw in data.get("rule", []):
        rid = raw.get("id", "?")
        severity = raw.get("severity")
        if severity not in SEVERITIES:
            raise ValueError(f"rule {rid}: severity must be one of {SEVERITIES}")
        ignore = frozenset(raw.get("ignore_context", default_ignore))
        if not ignore <= set(MODIFIERS):
            raise ValueError(f"rule {rid}: unknown context modifier in {sorted(ignore)}")
        if not raw.get("description"):
            raise ValueError(f"rule {rid}: needs a description")
        groups = raw.get("all")
        if groups is not None and ("patterns" in raw or len(groups) < 2 or not all(groups)):
            raise ValueError(f"rule {rid}: 'all' needs two or more non-empty groups and no 'patterns'")
        within = raw.get("within", "sentence")
        if within not in SCOPES:
            raise ValueError(f"rule {rid}: within must be one of {SCOPES}")
        main = groups[0] if groups else raw.get("patterns")
        try:
            if main is None:
                raise KeyError("patterns")
            regex = compile_patterns(main, macros)
            parts = compile_each(main, macros)
            also = tuple(compile_patterns(g, macros) for g in (groups or [])[1:])
            not_within = compile_patterns(raw["not_within"], macros) if raw.get("not_within") else None
        except (re.error, KeyError) as exc:
            raise ValueError(f"rule {rid}: bad pattern: {exc}") from exc
        rules.append(Rule(
            id=rid, category=category, severity=severity, description=raw["description"],
            regex=regex, strong=bool(raw.get("strong", False)), ignore_context=ignore,
            matches=tuple(raw.get("matches", ())), ignores=tuple(raw.get("ignores", ())),
            source=tuple(p for g in (groups or [main]) for p in g), parts=parts,
            also=also, within=within, not_within=not_within,
        ))
    return rules


def load_rules() -> list[Rule]:
    """All rules shipped in ``escalation/detect/rules/*.toml`` (category files)."""
    macros = load_macros()
    rules: list[Rule] = []
    for category in CATEGORIES:
        rules.extend(parse_rules(_load_toml(f"{category}.toml"), macros))
    ids = [r.id for r in rules]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate rule ids: {sorted(duplicates)}")
    return rules


def load_context() -> dict[str, Any]:
    """Context cue lists (negation, idioms, other people, past events, escalators)."""
    return _load_toml("context.toml")


def load_normalisation() -> dict[str, Any]:
    """Text-speak, misspelling and emoji maps (``normalise.toml``)."""
    return _load_toml("normalise.toml")
