"""The pure conversation core. Imports neither SQLAlchemy nor any channel library."""

from bot.engine.core import (
    Cancel,
    ConversationState,
    Effect,
    Expire,
    Finished,
    Input,
    NoteToMentor,
    Pause,
    RaiseRisk,
    RecordAnswer,
    Remind,
    Reply,
    Resume,
    Send,
    Skip,
    Start,
    StepResult,
    step,
)

__all__ = [
    "Cancel", "ConversationState", "Effect", "Expire", "Finished", "Input", "NoteToMentor",
    "Pause", "RaiseRisk", "RecordAnswer", "Remind", "Reply", "Resume", "Send", "Skip", "Start",
    "StepResult", "step",
]
