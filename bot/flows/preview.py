"""`checkins flow preview FILE`: run a flow in the terminal, no database and no phone.

Type the mentee's replies; the engine answers as it would over SMS. Lines starting with `/` are
preview commands: /remind (the reminder), /expire (no answer in time), /name NAME (start again
with that first name), /quit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TextIO

from bot.engine import Expire, Finished, NoteToMentor, RaiseRisk, Remind, Reply, Send, Start, step
from bot.engine.core import ConversationState
from bot.flows.model import Flow
from bot.gsm7 import segment_count

_NOW = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)  # the engine never reads it; a fixed stamp


def run_preview(flow: Flow, lines: TextIO, out: TextIO, *, first_name: str = "Sam",
                interactive: bool = False) -> int:
    """Run `flow` on the replies in `lines`; returns 0."""
    out.write(f"Preview of flow {flow.name} (version {flow.version}, {flow.digest or 'not from a file'})."
              " Type the mentee's replies; /remind, /expire, /name NAME, /quit.\n")
    result = step(flow, None, Start(first_name), _NOW)  # type: ignore[arg-type]
    _show(result.effects, out)
    state: ConversationState = result.state
    while True:
        if interactive:
            out.write("you> ")
            out.flush()
        line = lines.readline()
        if not line:
            break
        text = line.rstrip("\n")
        if not interactive:
            out.write(f"you> {text}\n")
        command = text.strip().lower()
        if command in {"/quit", "/exit"}:
            break
        if command.startswith("/name"):
            first_name = text.strip()[5:].strip() or first_name
            result = step(flow, None, Start(first_name), _NOW)  # type: ignore[arg-type]
        elif command == "/remind":
            result = step(flow, state, Remind(), _NOW)
        elif command == "/expire":
            result = step(flow, state, Expire(), _NOW)
        elif command.startswith("/"):
            out.write("  (preview commands: /remind, /expire, /name NAME, /quit)\n")
            continue
        elif state.finished:
            out.write("  (the check-in has finished; /name NAME starts it again)\n")
            continue
        else:
            result = step(flow, state, Reply(text), _NOW)
        state = result.state
        _show(result.effects, out)
    return 0


def _show(effects: tuple[object, ...], out: TextIO) -> None:
    for effect in effects:
        if isinstance(effect, Send):
            cost = segment_count(effect.text)
            out.write(f"bot> {effect.text}" + (f"   [{cost} texts]" if cost > 1 else "") + "\n")
        elif isinstance(effect, RaiseRisk):
            out.write(f"  [alert: {effect.severity} {effect.category}: {effect.evidence}]\n")
        elif isinstance(effect, NoteToMentor):
            out.write(f"  [to the mentor: {effect.text}]\n")
        elif isinstance(effect, Finished):
            out.write(f"  [check-in {effect.outcome}]\n")
