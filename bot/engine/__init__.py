"""The pure conversation core. Imports neither SQLAlchemy nor any channel library."""

from bot.engine.core import (
    Cancel,
    ConversationState,
    Effect,
    Expire,
    Finished,
    Input,
    NoteToMentor,
    RaiseRisk,
    RecordAnswer,
    Remind,
    Reply,
    Send,
    Start,
    StepResult,
    step,
)

__all__ = [
    "Cancel", "ConversationState", "Effect", "Expire", "Finished", "Input", "NoteToMentor",
    "RaiseRisk", "RecordAnswer", "Remind", "Reply", "Send", "Start", "StepResult", "step",
]
