"""The flows a service runs: the shipped defaults, then a charity's own folder on top.

A file in the folder with the same `name` as a default replaces it; any other adds a flow.
Every version a conversation has started on is kept (see bot/storage/flow_versions.py), so a
check-in begun on last week's wording finishes on it after the file is changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.flows.files import DEFAULTS, FlowFileError, load_flow_file, load_flow_text
from bot.flows.model import Flow, FlowError


@dataclass
class FlowLibrary:
    """Current flows by name, and every version seen by (name, digest)."""

    current: dict[str, Flow]
    versions: dict[tuple[str, str], Flow] = field(default_factory=dict)
    translations: dict[tuple[str, str], Flow] = field(default_factory=dict)  # (name, language)

    def __post_init__(self) -> None:
        for flow in (*self.current.values(), *self.translations.values()):
            self.versions[(flow.name, flow.digest)] = flow

    def get(self, name: str, language: str = "en") -> Flow:
        """The flow by name, in `language` if there is a translation (else English)."""
        try:
            english = self.current[name]
        except KeyError:
            raise FlowError(f"unknown flow {name!r}; known: {', '.join(sorted(self.current))}") from None
        return self.translations.get((name, language), english)

    def version(self, name: str, digest: str | None) -> Flow | None:
        """The exact version a conversation started on, if this process knows it."""
        if not digest:
            return self.current.get(name)
        return self.versions.get((name, digest))

    def remember(self, name: str, digest: str, text: str, source: str) -> Flow:
        """Load a stored version (its text from the database) back into the library."""
        flow = load_flow_text(text, source)
        self.versions[(flow.name, flow.digest)] = flow
        if flow.name != name or flow.digest != digest:
            raise FlowError(f"stored flow {name} {digest} reads back as {flow.name} {flow.digest}")
        return flow

    def __repr__(self) -> str:  # short: it sits in Services.extras, which logs and tracebacks show
        return f"FlowLibrary({', '.join(self.names)}; {len(self.versions)} versions)"

    @property
    def names(self) -> list[str]:
        return sorted(self.current)


def flow_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.toml") if p.is_file())


def build_library(folder: str | Path | None = None, *, required: Iterable[str] = ()) -> FlowLibrary:
    """The shipped flows, overridden and added to by the *.toml files in `folder`.

    Every file is checked; the first bad one stops start-up with FlowFileError (one line). Two
    files in the folder with the same name are refused, as is a `required` name that is missing.
    """
    current: dict[str, Flow] = {}
    translations: dict[tuple[str, str], Flow] = {}
    for flow in (load_flow_file(p) for p in flow_files(DEFAULTS)):
        _place(flow, current, translations)
    if folder:
        path = Path(folder)
        if not path.is_dir():
            raise FlowFileError(str(path), 0, "flows folder not found")
        seen: dict[str, Path] = {}
        for file in flow_files(path):
            flow = load_flow_file(file)
            key = flow.name if flow.language == "en" else f"{flow.name} ({flow.language})"
            if key in seen:
                raise FlowFileError(str(file), 1, f"flow {key!r} is also defined in {seen[key]}")
            seen[key] = file
            _place(flow, current, translations)
    for name in required:
        if name and name not in current:
            raise FlowError(f"flow {name!r} is named in config but no flow file has that name; "
                            f"known: {', '.join(sorted(current))}")
    for (name, language), flow in translations.items():
        if name not in current:
            raise FlowFileError(flow.source, 1, f"a {language} translation of flow {name!r}, "
                                                "which has no English file")
        _same_shape(current[name], flow)
    return FlowLibrary(current, translations=translations)


def _place(flow: Flow, current: dict[str, Flow], translations: dict[tuple[str, str], Flow]) -> None:
    if flow.language == "en":
        current[flow.name] = flow
    else:
        translations[(flow.name, flow.language)] = flow


def _same_shape(english: Flow, translated: Flow) -> None:
    """A translation changes the words only: the same questions, answers, branches and risks."""
    def shape(flow: Flow) -> list[tuple[object, ...]]:
        return [(q.key, q.answer, q.next, tuple(sorted(q.branches.items())),
                 tuple((r.when, r.category, r.severity) for r in q.risks), tuple(sorted(q.choices)))
                for q in flow.questions]

    mine, theirs = shape(english), shape(translated)
    if mine != theirs:
        differs = next((a[0] for a, b in zip(mine, theirs) if a != b), "the list of questions")
        raise FlowFileError(translated.source, 1, f"the {translated.language} translation of "
                                                  f"{english.name} differs from the English at "
                                                  f"question {differs}: only the words may change")
