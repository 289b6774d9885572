"""Every shipped flow is checked and run end to end through the engine, from golden files."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from bot.flows import FLOWS, SHIPPED, load_flow_file
from bot.flows.files import DEFAULTS
from tests.flows.golden_runner import GOLDEN, dump, run

CASES = sorted(GOLDEN.glob("*.toml"))


def test_every_shipped_flow_file_passes_the_check() -> None:
    files = sorted(DEFAULTS.glob("*.toml"))
    assert {p.stem for p in files} == {"weekly", "weekly.cy", "release_week", "welfare", "monthly",
                                       "safe_check"}
    for path in files:
        assert load_flow_file(path).name in FLOWS


def test_every_shipped_flow_has_golden_conversations() -> None:
    covered = {tomllib.loads(p.read_text(encoding="utf-8"))["flow"] for p in CASES}
    assert covered == set(FLOWS)


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_golden_conversation(case: Path) -> None:
    data = tomllib.loads(case.read_text(encoding="utf-8"))
    flow = SHIPPED.get(data["flow"], data.get("language", "en"))
    assert flow.language == data.get("language", "en")
    if data.get("discreet"):
        flow = flow.discreet()
    if data.get("answers_in"):  # a mentee's language with no translation of this flow
        flow = flow.answered_in(data["answers_in"])
    replies = [t["in"] for t in data["turns"][1:]]
    got = run(flow, data["first_name"], replies)
    if os.environ.get("CHECKINS_UPDATE_GOLDEN"):
        about = case.read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
        case.write_text(dump(data["flow"], data["first_name"], about, got,
                             discreet=bool(data.get("discreet")), language=data.get("language", "en"),
                             answers_in=data.get("answers_in", "")),
                        encoding="utf-8")
        return
    want = [{k: v for k, v in t.items()} for t in data["turns"]]
    for number, (w, g) in enumerate(zip(want, got, strict=True)):
        assert g == w, f"{case.name}: turn {number} (in {w['in']!r}) differs"


def test_discreet_golden_conversations_give_nothing_away() -> None:
    from bot.wording.discreet import giveaways

    for case in CASES:
        data = tomllib.loads(case.read_text(encoding="utf-8"))
        if data.get("discreet"):
            for turn in data["turns"]:
                for text in turn.get("sends", []):
                    assert giveaways(text) == [], f"{case.name}: {text!r}"
