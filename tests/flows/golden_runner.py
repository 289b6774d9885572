"""Golden conversations as data: each tests/flows/golden/*.toml names a flow, the replies a
mentee sends, and everything the engine must do in answer (texts, alerts, notes, the outcome).

Run `CHECKINS_UPDATE_GOLDEN=1 pytest tests/flows` to rewrite them from the engine, then read
the diff: a changed golden file is a changed conversation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.engine import Expire, Finished, NoteToMentor, RaiseRisk, Remind, Reply, Send, Start, step
from bot.flows.model import Flow

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)


def run(flow: Flow, first_name: str, replies: list[str]) -> list[dict[str, Any]]:
    """Each turn's input and what came out of it, as plain data."""
    result = step(flow, None, Start(first_name), NOW)  # type: ignore[arg-type]
    turns = [{"in": "", **_out(result.effects)}]
    for text in replies:
        event = Remind() if text == "/remind" else Expire() if text == "/expire" else Reply(text)
        result = step(flow, result.state, event, NOW)
        turns.append({"in": text, **_out(result.effects)})
    return turns


def _out(effects: tuple[object, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"sends": [e.text for e in effects if isinstance(e, Send)]}
    alerts = [f"{e.severity} {e.category}: {e.evidence}" for e in effects if isinstance(e, RaiseRisk)]
    notes = [e.text for e in effects if isinstance(e, NoteToMentor)]
    finished = [e.outcome for e in effects if isinstance(e, Finished)]
    if alerts:
        out["alerts"] = alerts
    if notes:
        out["notes"] = notes
    if finished:
        out["outcome"] = finished[0]
    return out


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dump(flow_name: str, first_name: str, about: str, turns: list[dict[str, Any]], *,
         discreet: bool = False, language: str = "en", answers_in: str = "") -> str:
    """The golden file's text (TOML, written by hand here so it stays readable)."""
    lines = [f"# {about}", f"flow = {_q(flow_name)}", f"first_name = {_q(first_name)}"]
    lines += [f"language = {_q(language)}"] if language != "en" else []
    lines += [f"answers_in = {_q(answers_in)}"] if answers_in else []
    lines += ["discreet = true", ""] if discreet else [""]
    for turn in turns:
        lines.append("[[turns]]")
        lines.append(f"in = {_q(turn['in'])}")
        for key in ("sends", "alerts", "notes"):
            if key in turn:
                items = ", ".join(_q(t) for t in turn[key])
                lines.append(f"{key} = [{items}]")
        if "outcome" in turn:
            lines.append(f"outcome = {_q(turn['outcome'])}")
        lines.append("")
    return "\n".join(lines)
