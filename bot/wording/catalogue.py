"""The wording catalogue: texts a mentee receives outside the flow files, by key and language.

One TOML file per language in bot/wording/catalogues/ (en.toml is the reference: every other
language must have the same keys, or falls back to English for a missing one). Each text is
checked when read: only its declared placeholders, GSM-7 (or a stated UCS-2 budget), and the
number of SMS segments it may cost once its placeholders are filled with long values.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.gsm7 import non_gsm7_characters, segment_count

if TYPE_CHECKING:
    from bot.engine.answers import AnswerWords

CATALOGUES = Path(__file__).parent / "catalogues"
# Placeholders and the longest value each is checked with.
PLACEHOLDERS = {
    "first_name": "X" * 20,
    "org": "X" * 40,
    "mentor": "X" * 20,
    "contact": " on +447700900000",
    # The helpline numbers of config [replies], checked here with the UK defaults; start-up
    # checks the safety texts again with the numbers the config gives (escalation/replies.py).
    "emergency": "999",
    "silent_digits": "55",
    "samaritans": "116 123",
    "shout": "85258",
    "nhs_mental_health": "111, option 2",
    "da_helpline": "0808 2000 247",
    "shelter": "0808 800 4444",
    "numbers": "0808 2000 247, 116 123, 85258, 0808 800 4444",
    # Staff texts.
    "code": "XXXX",
    "mentee": "X" * 24,
    "taker": "X" * 40,
    "name": "X" * 40,
    "what": "X" * 40,
    "address": "Telegram chat 12345678901",
    "link": "https://" + "x" * 40,
    "waited": "30 days 23 h",
    "signin_code": "123456",
    "minutes": "120",
    "count": "999",
    "when": "Wed 30 Sep",
    "reason": "X" * 60,
}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class CatalogueError(ValueError):
    """A catalogue text that must not be sent: FILE:LINE: key: problem."""


ANSWER_KINDS = ("yes", "no", "dont_know", "stop", "start", "help")


@dataclass(frozen=True)
class Catalogue:
    language: str
    texts: dict[str, str]
    fallback: Catalogue | None = None
    # [answers]: the language's own words for yes, no, don't know and the STOP / START / HELP
    # keywords, understood on top of the English ones (every mentee may use those).
    answers: dict[str, frozenset[str]] = field(default_factory=dict)

    def text_template(self, key: str) -> str:
        """The text for `key` as written, placeholders unfilled."""
        if key in self.texts:
            return self.texts[key]
        if self.fallback is None:
            raise KeyError(f"no text {key!r} in the {self.language} catalogue")
        return self.fallback.text_template(key)

    def text(self, key: str, **values: str) -> str:
        """The text for `key` with its placeholders filled."""
        template = self.texts.get(key)
        if template is None:
            if self.fallback is None:
                raise KeyError(f"no text {key!r} in the {self.language} catalogue")
            return self.fallback.text(key, **values)
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def problems(text: str, source: str = "<catalogue>", reference: dict[str, str] | None = None) -> list[str]:
    """Every problem with a catalogue file's text, each `FILE:LINE: key: problem`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [f"{source}:0: not valid TOML: {exc}"]
    lines = {m.group(1): n for n, line in enumerate(text.splitlines(), 1)
             if (m := re.match(r'^\s*"?([a-z0-9_.]+)"?\s*=', line))}
    found: list[str] = []
    texts = data.get("texts", {})
    budgets = data.get("segments", {})
    for key, value in texts.items():
        line = lines.get(key, 1)
        if not isinstance(value, str):
            found.append(f"{source}:{line}: {key}: must be text in quotes")
            continue
        unknown = set(_PLACEHOLDER.findall(value)) - set(PLACEHOLDERS)
        if unknown:
            found.append(f"{source}:{line}: {key}: unknown placeholder {{{sorted(unknown)[0]}}}")
            continue
        if reference is not None and key in reference:
            if set(_PLACEHOLDER.findall(value)) - set(_PLACEHOLDER.findall(reference[key])):
                found.append(f"{source}:{line}: {key}: uses a placeholder the English text does not")
        bad = non_gsm7_characters(value)
        if bad and not data.get("ucs2", False):
            found.append(f"{source}:{line}: {key}: characters outside GSM-7: {''.join(bad)!r} "
                         "(they make every text cost two or three times as much)")
            continue
        filled = _PLACEHOLDER.sub(lambda m: PLACEHOLDERS[m.group(1)], value)
        allowed = int(budgets.get(key, 1))
        cost = segment_count(filled)
        if cost > allowed:
            found.append(f"{source}:{line}: {key}: would cost {cost} SMS segments with long names, "
                         f"{allowed} allowed")
            continue
        rule = _rule_problem(key, filled)
        if rule:
            found.append(f"{source}:{line}: {key}: {rule}")
    found += _answer_problems(data.get("answers", {}), source, text)
    if reference is not None:
        for key in sorted(set(texts) - set(reference)):
            found.append(f"{source}:{lines.get(key, 1)}: {key}: not a key in the English catalogue")
    return found


def _answer_problems(answers: object, source: str, text: str) -> list[str]:
    """[answers]: known kinds, lists of lower-case words, no word meaning two things."""
    line = next((n for n, ln in enumerate(text.splitlines(), 1) if ln.strip() == "[answers]"), 1)
    if not isinstance(answers, dict):
        return [f"{source}:{line}: answers: must be a table of word lists"]
    found: list[str] = []
    seen: dict[str, str] = {}
    for kind, words in answers.items():
        if kind not in ANSWER_KINDS:
            found.append(f"{source}:{line}: answers.{kind}: unknown; use {', '.join(ANSWER_KINDS)}")
            continue
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            found.append(f"{source}:{line}: answers.{kind}: must be a list of words in quotes")
            continue
        for word in words:
            clean = " ".join(word.lower().split())
            if clean != word:
                found.append(f"{source}:{line}: answers.{kind}: write {word!r} as {clean!r} "
                             "(lower case, single spaces)")
            elif word in seen and seen[word] != kind:
                found.append(f"{source}:{line}: answers.{kind}: {word!r} is also in answers.{seen[word]}")
            seen.setdefault(word, kind)
    return found


def _rule_problem(key: str, filled: str) -> str | None:
    """Safe messaging for the safety texts, discretion for the discreet ones (rules that live with
    the code that applies them)."""
    if key.startswith("safety."):
        from escalation.replies import safety_problem

        problem = safety_problem(key.removeprefix("safety."), filled)
        if problem:
            return problem
    if key.endswith("_discreet") or key.startswith("discreet."):
        from bot.wording.discreet import giveaways

        words = giveaways(filled)
        if words:
            return f"discreet wording must not say {', '.join(dict.fromkeys(words))}"
    return None


def load(path: Path, fallback: Catalogue | None = None) -> Catalogue:
    text = path.read_text(encoding="utf-8")
    found = problems(text, str(path), fallback.texts if fallback else None)
    if found:
        more = f" (and {len(found) - 1} more problems)" if len(found) > 1 else ""
        raise CatalogueError(found[0] + more)
    data = tomllib.loads(text)
    answers = {kind: frozenset(words) for kind, words in data.get("answers", {}).items()}
    return Catalogue(str(data.get("language", path.stem)), dict(data.get("texts", {})), fallback,
                     answers)


# A charity's own catalogue files ([wording] folder): each `<language>.toml` there adds to or
# overrides the shipped texts of that language key by key, or adds a language. Set at config load.
_folder: Path | None = None


def use_folder(folder: str | Path | None) -> None:
    """Read the charity's catalogue files from `folder` from now on (None: shipped texts only);
    raise CatalogueError (one line) if the folder or any file in it is wrong."""
    global _folder
    path = Path(folder) if folder else None
    if path == _folder:
        return  # every config load asks; the catalogues are already read and checked for it
    if path is not None and not path.is_dir():
        raise CatalogueError(f"{path}: wording folder not found")
    previous, _folder = _folder, path
    catalogue.cache_clear()
    answer_words.cache_clear()
    try:
        for language in known_languages():
            catalogue(language)
    except CatalogueError:
        _folder = previous
        catalogue.cache_clear()
        answer_words.cache_clear()
        raise


def _overlay(base: Catalogue, path: Path, reference: dict[str, str]) -> Catalogue:
    """`base` with the texts and answer words of the charity's file at `path` on top."""
    text = path.read_text(encoding="utf-8")
    found = problems(text, str(path), reference)
    if found:
        more = f" (and {len(found) - 1} more problems)" if len(found) > 1 else ""
        raise CatalogueError(found[0] + more)
    data = tomllib.loads(text)
    answers = {kind: frozenset(words) for kind, words in data.get("answers", {}).items()}
    return Catalogue(base.language, {**base.texts, **data.get("texts", {})}, base.fallback,
                     {**base.answers, **answers})


@lru_cache(maxsize=8)
def catalogue(language: str = "en") -> Catalogue:
    """The catalogue for `language` (English for anything unknown), checked once."""
    shipped = load(CATALOGUES / "en.toml")
    english = shipped
    own = _folder / "en.toml" if _folder else None
    if own is not None and own.exists():
        english = _overlay(shipped, own, shipped.texts)
    if language == "en":
        return english
    path = CATALOGUES / f"{language}.toml"
    result = load(path, english) if path.exists() else None
    own = _folder / f"{language}.toml" if _folder else None
    if own is not None and own.exists():
        result = _overlay(result or Catalogue(language, {}, english), own, shipped.texts)
    return result or english


@lru_cache(maxsize=8)
def answer_words(language: str = "en") -> AnswerWords:
    """The answer words of `language` the engine reads replies with, besides the English ones."""
    from bot.engine.answers import AnswerWords

    answers = catalogue(language).answers
    return AnswerWords(yes=answers.get("yes", frozenset()), no=answers.get("no", frozenset()),
                       dont_know=answers.get("dont_know", frozenset()))


def keyword_words(language: str = "en") -> dict[str, frozenset[str]]:
    """`language`'s own STOP, START and HELP words (for bot.engine.keywords)."""
    answers = catalogue(language).answers
    return {kind: answers.get(kind, frozenset()) for kind in ("stop", "start", "help")}


def known_languages() -> list[str]:
    """Every language with a shipped catalogue or one in the charity's folder."""
    paths = list(CATALOGUES.glob("*.toml")) + (list(_folder.glob("*.toml")) if _folder else [])
    return sorted({p.stem for p in paths})
