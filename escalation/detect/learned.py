"""The learned layer: a TF-IDF + logistic-regression model, scored in plain Python.

The rules know how people *say* a risk; this model knows which words and word pieces tend to
come with one, from the labelled messages in `escalation/detect/training/`. It runs after the
rules and may only ever add a finding (see `Detector`). Training (`checkins risk train`, with
scikit-learn from the `train` extra) exports what it learned into one small JSON file:
vocabulary, inverse document frequencies, weights, and the thresholds cross-validation chose.
Scoring needs nothing but the standard library, so the service never loads a scientific stack.

Features (the trainer and the scorer share `features()`, so they cannot drift apart):
- word block: words and adjacent word pairs of the normalised text;
- char block: 3 to 5 letter pieces of each word, padded with spaces (typos and text-speak share
  pieces with the words they stand for);
- question block: for a reply inside a check-in, the words of the question it answers. Only the
  outputs cross-validation showed it helps have weights here (housing: "not really" to "somewhere
  safe to stay tonight?"); for the others the block is all zeros.
Each block is TF-IDF weighted (sublinear term frequency) and scaled to unit length on its own,
as scikit-learn's TfidfVectorizer does.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import chain
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

MODEL_FILE = Path(__file__).parent / "model" / "risk-model.json.gz"
FORMAT = 2
# Besides one output per risk, the model has one that says how urgent a crisis is: trained on
# messages whose authors marked the severity, its threshold is where it is right 9 times in 10.
URGENCY = "crisis_urgent"
CHAR_SIZES = (3, 4, 5)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")


@dataclass(frozen=True)
class Token:
    """A word of the normalised text and where it is (for evidence)."""

    text: str
    start: int
    end: int


def tokens(text: str) -> list[Token]:
    """The words of already-normalised text, with their spans."""
    return [Token(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def word_features(words: Sequence[str]) -> list[str]:
    """Words and adjacent word pairs."""
    return [*words, *(f"{a} {b}" for a, b in zip(words, words[1:]))]


def char_features(word: str) -> list[str]:
    """The 3-5 letter pieces of one word padded with spaces ("cut" -> " cu", "cut", "ut ", ...)."""
    padded = f" {word} "
    n = len(padded)
    return [padded[i:i + size] for size in CHAR_SIZES for i in range(n - size + 1)]


def features(text: str) -> tuple[Counter[str], Counter[str]]:
    """Raw counts of the word block and the char block for normalised `text`."""
    words = _WORD.findall(text)
    chars: Counter[str] = Counter()
    for word in words:
        chars.update(char_features(word))
    return Counter(word_features(words)), chars


def question_features(question: str | None) -> Counter[str]:
    """The question block: each word of the normalised check-in question a message answers,
    once ("not really" after "somewhere safe to stay tonight?" is not "not really" after "any
    worries about money?")."""
    return Counter(dict.fromkeys(_WORD.findall(question or ""), 1))


class Block:
    """One feature block: each known feature's IDF and, per category, its weight times its IDF.

    Scoring is the hot path (every message a mentee sends), so features are looked up once and
    kept as row numbers; a word's letter pieces are worked out once per distinct word.
    """

    def __init__(self, table: Mapping[str, tuple[float, ...]]) -> None:
        self.index: dict[str, int] = {}
        self.rows: list[tuple[float, ...]] = []
        for feature, (idf, *weights) in table.items():
            self.index[feature] = len(self.rows)
            self.rows.append((idf * idf, *(idf * w for w in weights)))
        self._pieces: dict[str, tuple[int, ...]] = {}
        self._pairs: dict[tuple[str, ...], int] | None = None  # built on first use (word block)
        # Every row has the same width (from_dict builds them so): decided once, not per call.
        self._width = {len(row) for row in self.rows}

    def __len__(self) -> int:
        return len(self.rows)

    def ids(self, items: Iterable[str]) -> list[int]:
        """Row numbers of the known features among `items` (repeats kept)."""
        return [i for i in map(self.index.get, items) if i is not None]

    def pair_index(self) -> dict[tuple[str, ...], int]:
        """Row numbers of the word pairs ("a b") keyed by their two words: a tuple of two words
        hashes from the words' own cached hashes, where "a b" would be built and hashed anew."""
        pairs = self._pairs
        if pairs is None:
            pairs = self._pairs = {tuple(f.split(" ")): i for f, i in self.index.items() if f.count(" ") == 1}
        return pairs

    def piece_ids(self, word: str) -> tuple[int, ...]:
        """Row numbers of the known letter pieces of one word (cached: words repeat a lot)."""
        found = self._pieces.get(word)
        if found is None:
            found = tuple(self.ids(char_features(word)))
            if len(self._pieces) < _WORD_CACHE_SIZE:
                self._pieces[word] = found
        return found

    def dot(self, ids: Iterable[int], n_categories: int) -> list[float]:
        """The block's contribution to each category's score: its unit-length TF-IDF vector
        (sublinear term frequency) dotted with the weights."""
        return self.dot_counts(Counter(ids), n_categories)

    def dot_counts(self, counts: Counter[int], n_categories: int) -> list[float]:
        """`dot` of the features counted in `counts` (row number -> occurrences)."""
        rows = self.rows
        if n_categories == 4 and self._width <= {5}:
            return self._dot4(counts)
        sums = [0.0] * n_categories
        norm = 0.0
        log = math.log
        for row_id, count in counts.items():
            row = rows[row_id]
            tf = 1.0 if count == 1 else 1.0 + log(count)
            norm += tf * tf * row[0]
            for c in range(n_categories):
                sums[c] += tf * row[c + 1]
        if norm == 0.0:
            return sums
        scale = 1.0 / math.sqrt(norm)
        return [v * scale for v in sums]

    def _dot4(self, counts: Counter[int]) -> list[float]:
        """`dot` for the shipped model's four outputs, unrolled (the hot path: about twice as
        fast as the loop, same sums in the same order)."""
        rows = self.rows
        log = math.log
        norm = a = b = c = d = 0.0
        for row_id, count in counts.items():
            sq, w0, w1, w2, w3 = rows[row_id]
            if count == 1:
                norm += sq
                a += w0
                b += w1
                c += w2
                d += w3
            else:
                tf = 1.0 + log(count)
                norm += tf * tf * sq
                a += tf * w0
                b += tf * w1
                c += tf * w2
                d += tf * w3
        if norm == 0.0:
            return [a, b, c, d]
        scale = 1.0 / math.sqrt(norm)
        return [a * scale, b * scale, c * scale, d * scale]


_WORD_CACHE_SIZE = 50_000


@dataclass(frozen=True, eq=False)  # compared and hashed by identity (its scores are cached)
class LearnedModel:
    """A trained model, loaded from its file (see `load`)."""

    name: str
    version: int
    outputs: tuple[str, ...]  # the risk categories, then URGENCY
    word: Block
    char: Block
    bias: tuple[float, ...]
    thresholds: Mapping[str, float]  # per output: at or above it, the output is "yes"
    info: Mapping[str, Any]
    # Per category, the stricter threshold used when another category was found in the message.
    with_other: Mapping[str, float] = field(default_factory=dict)
    question: Block | None = None  # the question block (None in a model trained without it)

    @cached_property
    def categories(self) -> tuple[str, ...]:
        """The risk categories the model can flag."""
        return tuple(o for o in self.outputs if o != URGENCY)

    @property
    def label(self) -> str:
        """How evidence names this model: "risk-lr v3"."""
        return f"{self.name} v{self.version}"

    def probabilities(self, text: str, question: str | None = None) -> dict[str, float]:
        """Probability of each output for normalised `text`, answering the normalised check-in
        `question` if given (the same as the trainer's)."""
        return dict(zip(self.outputs, self._probabilities(text, question or None)))

    @lru_cache(maxsize=4096)  # noqa: B019 - models live as long as the process; texts repeat
    def _probabilities(self, text: str, question: str | None = None) -> tuple[float, ...]:
        _, _, _, _, word_counts, char_counts = self._analysis(text)
        n = len(self.outputs)
        w = self.word.dot_counts(word_counts, n)
        c = self.char.dot_counts(char_counts, n)
        if question and self.question is not None:
            q = self.question.dot_counts(Counter(self.question.ids(question_features(question))), n)
            return tuple(_sigmoid(w[i] + c[i] + q[i] + self.bias[i]) for i in range(n))
        return tuple(_sigmoid(w[i] + c[i] + self.bias[i]) for i in range(n))

    @lru_cache(maxsize=64)  # noqa: B019 - the evidence of a text just scored reads it again
    def _analysis(self, text: str) -> tuple[list[str], list[int | None], list[int | None], list[tuple[int, ...]],
                                            Counter[int], Counter[int]]:
        """The words of normalised `text`; per word its row in the word block (or None), per
        adjacent pair likewise, per word its letter pieces' rows; and the counts of each
        block's known features in the order `features()` lists them (words, then pairs; each
        word's pieces in turn: a Counter keeps first appearances in order, as with strings)."""
        words = _WORD.findall(text)
        single = list(map(self.word.index.get, words))
        pairs = list(map(self.word.pair_index().get, zip(words, words[1:])))
        pieces = list(map(self.char._pieces.get, words))
        if None in pieces:  # a word not seen before (the cache holds a tuple for every word seen)
            piece_ids = self.char.piece_ids
            pieces = [ids if ids is not None else piece_ids(w) for w, ids in zip(words, pieces)]
        word_counts = Counter([r for r in single if r is not None] + [r for r in pairs if r is not None])
        char_counts = Counter(chain.from_iterable(pieces))
        return words, single, pairs, pieces, word_counts, char_counts

    def contributions(self, text: str, category: str) -> list[tuple[Token, float]]:
        """How much each word of `text` pushed `category` up (its own features, its letter
        pieces, half of each word pair it is in), most first; for evidence a person can read."""
        found, weights = self._weights(text, category)
        ranked = sorted(range(len(found)), key=lambda k: -weights[k])
        return [(Token(found[k].group(), found[k].start(), found[k].end()), weights[k]) for k in ranked]

    def _weights(self, text: str, category: str) -> tuple[list[re.Match[str]], list[float]]:
        """The words of `text` (as matches) and each one's weight for `category` (see
        `contributions`). Works on row numbers (a word's letter pieces are cached per word),
        with the same sums in the same order as counting the feature strings of
        `features(text)` would give, so the weights are exactly those."""
        i = self.outputs.index(category) + 1
        found = list(_WORD.finditer(text))
        words, single, pairs, pieces, word_counts, char_counts = self._analysis(text)
        log, sqrt = math.log, math.sqrt

        def share(rows: Sequence[tuple[float, ...]], counts: Counter[int]) -> dict[int, float]:
            # Each feature's part of the score per occurrence, over the block's vector length.
            # (A single occurrence has tf 1.0 exactly: 1.0 + log(1).)
            part: dict[int, float] = {}
            norm = 0.0
            for row_id, count in counts.items():
                row = rows[row_id]
                if count == 1:
                    norm += row[0]
                    part[row_id] = row[i]
                else:
                    tf = 1.0 + log(count)
                    norm += tf * tf * row[0]
                    part[row_id] = tf * row[i] / count
            length = sqrt(norm) or 1.0
            return {f: v / length for f, v in part.items()}

        word_part = share(self.word.rows, word_counts)
        char_part = share(self.char.rows, char_counts)
        weights = []
        last = len(words) - 1
        for k in range(len(words)):
            total = word_part.get(single[k], 0.0)
            if k >= 1:
                total += word_part.get(pairs[k - 1], 0.0) / 2
            if k < last:
                total += word_part.get(pairs[k], 0.0) / 2
            total += sum([char_part[r] for r in pieces[k]])
            weights.append(total)
        return found, weights


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


class ModelFileError(ValueError):
    """The model file is missing, unreadable or not what this code expects."""


def from_dict(data: Mapping[str, Any]) -> LearnedModel:
    """Build a model from the exported structure (see `to_dict` in the trainer)."""
    if data.get("format") != FORMAT:
        raise ModelFileError(f"model file format {data.get('format')!r} is not {FORMAT}")
    outputs = tuple(data["outputs"])

    def block(raw: Mapping[str, Any]) -> Block:
        names, idf, weights = raw["features"], raw["idf"], raw["weights"]
        if not (len(names) == len(idf) and all(len(w) == len(names) for w in weights)):
            raise ModelFileError("model file: feature, idf and weight lists differ in length")
        if len(weights) != len(outputs):
            raise ModelFileError("model file: one weight list per output is needed")
        columns = list(zip(idf, *weights))
        return Block(dict(zip(names, (tuple(c) for c in columns))))

    try:
        thresholds = {o: float(data["thresholds"][o]) for o in outputs}
    except KeyError as exc:
        raise ModelFileError(f"model file: no threshold for {exc}") from None
    word = block(data["blocks"]["word"])
    word.pair_index()  # built now, at load, not in the first message's time
    return LearnedModel(
        name=str(data["name"]), version=int(data["version"]), outputs=outputs,
        word=word, char=block(data["blocks"]["char"]),
        bias=tuple(float(b) for b in data["bias"]), thresholds=thresholds, info=dict(data.get("info", {})),
        with_other={c: float(v) for c, v in data.get("with_other", {}).items() if c in outputs},
        question=block(data["blocks"]["question"]) if "question" in data["blocks"] else None,
    )


def read_model_file(path: Path) -> dict[str, Any]:
    """The exported structure stored in `path` (gzip-compressed JSON)."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data: dict[str, Any] = json.load(handle)
    except FileNotFoundError:
        raise ModelFileError(f"model file not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"model file {path} could not be read: {exc}") from None
    return data


def write_model_file(path: Path, data: Mapping[str, Any]) -> None:
    """Store the exported structure; the same content always gives the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    with open(path, "wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw)


@lru_cache(maxsize=4)
def load(path: Path = MODEL_FILE) -> LearnedModel:
    """The model stored in `path` (loaded once per process)."""
    return from_dict(read_model_file(path))


def evidence_words(model: LearnedModel, text: str, category: str, limit: int = 3) -> list[Token]:
    """The few words of normalised `text` that weighed most for `category`, in reading order."""
    chosen = [tok for tok, weight in model.contributions(text, category)[:limit] if weight > 0]
    return sorted(chosen, key=lambda t: t.start)


def evidence_spans(model: LearnedModel, text: str, category: str, limit: int = 3) -> list[tuple[int, int]]:
    """`phrases(text, evidence_words(model, text, category, limit))`, in one pass."""
    found, weights = model._weights(text, category)
    ranked = sorted(range(len(found)), key=lambda k: -weights[k])[:limit]
    chosen = sorted(k for k in ranked if weights[k] > 0)
    spans: list[list[int]] = []
    last_index = -10
    for index in chosen:
        m = found[index]
        if spans and index - last_index <= 2:  # next word or one word between: one phrase
            spans[-1][1] = m.end()
        else:
            spans.append([m.start(), m.end()])
        last_index = index
    return [(a, b) for a, b in spans]


def phrases(text: str, words: Sequence[Token]) -> list[tuple[int, int]]:
    """Spans covering `words` (in reading order), neighbours merged into one phrase."""
    position = {t.start: i for i, t in enumerate(tokens(text))}
    spans: list[list[int]] = []
    last_index = -10
    for tok in words:
        index = position[tok.start]
        if spans and index - last_index <= 2:  # next word or one word between: one phrase
            spans[-1][1] = tok.end
        else:
            spans.append([tok.start, tok.end])
        last_index = index
    return [(a, b) for a, b in spans]


def iter_jsonl(path: Path) -> Iterable[dict[str, Any]]:
    """Labelled messages from one JSON-lines file (blank lines skipped)."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise ModelFileError(f"{path}:{number}: not a JSON line") from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise ModelFileError(f"{path}:{number}: needs a \"text\" field")
            yield row
