"""Retention: words people sent or were sent are removed after the configured period.

Figures the digest needs (answer values, mood numbers, timestamps, statuses) are kept; the free
text is blanked. Open alerts keep their evidence until a human closes them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.storage.models import Alert, AlertEvent, AlertNote, Answer, Message

REDACTED = ""


def due_before(session: Session, cutoff: datetime) -> dict[str, dict[int | None, int]]:
    """What `redact_before(cutoff)` would blank, without blanking it: per kind, how many
    records of each mentee (None: not about a mentee, e.g. a stranger's text)."""
    from sqlalchemy import func

    closed_before = select(Alert.id).where(Alert.closed_at.is_not(None), Alert.closed_at < cutoff)
    queries = {
        "messages": select(Message.mentee_id, func.count()).where(
            Message.created_at < cutoff, Message.body != REDACTED).group_by(Message.mentee_id),
        "answers": select(Answer.mentee_id, func.count()).where(
            Answer.answered_at < cutoff, Answer.raw_text != REDACTED).group_by(Answer.mentee_id),
        "alerts": select(Alert.mentee_id, func.count()).where(
            Alert.closed_at.is_not(None), Alert.closed_at < cutoff, Alert.evidence != REDACTED)
            .group_by(Alert.mentee_id),
        "alert notes": select(Alert.mentee_id, func.count()).select_from(AlertNote)
            .join(Alert, Alert.id == AlertNote.alert_id)
            .where(AlertNote.alert_id.in_(closed_before), AlertNote.text != REDACTED)
            .group_by(Alert.mentee_id),
    }
    return {kind: {mentee_id: int(n) for mentee_id, n in session.execute(stmt).all()}
            for kind, stmt in queries.items()}


def redact_before(session: Session, cutoff: datetime) -> dict[str, int]:
    """Blank message bodies, free-text answers, and closed alerts' evidence and staff notes,
    older than `cutoff`."""
    messages = session.execute(
        update(Message).where(Message.created_at < cutoff, Message.body != REDACTED)
        .values(body=REDACTED)
    ).rowcount
    answers = session.execute(
        update(Answer).where(Answer.answered_at < cutoff, Answer.raw_text != REDACTED)
        .values(raw_text=REDACTED)
    ).rowcount
    alerts = session.execute(
        update(Alert).where(Alert.closed_at.is_not(None), Alert.closed_at < cutoff,
                            Alert.evidence != REDACTED)
        .values(evidence=REDACTED)
    ).rowcount
    closed_before = select(Alert.id).where(Alert.closed_at.is_not(None), Alert.closed_at < cutoff)
    session.execute(
        update(AlertNote).where(AlertNote.alert_id.in_(closed_before), AlertNote.text != REDACTED)
        .values(text=REDACTED)
    )
    session.execute(
        update(AlertEvent).where(AlertEvent.at < cutoff, AlertEvent.kind == "mentee wrote",
                                 AlertEvent.detail != REDACTED)
        .values(detail=REDACTED)
    )
    return {"messages": int(messages or 0), "answers": int(answers or 0), "alerts": int(alerts or 0)}


def redact_stranger_pages_before(session: Session, cutoff: datetime) -> int:
    """Blank duty pages about people not registered with us (purpose "stranger"), which carry
    their words, sent before `cutoff`."""
    return int(session.execute(
        update(Message).where(Message.purpose == "stranger", Message.created_at < cutoff,
                              Message.body != REDACTED)
        .values(body=REDACTED)
    ).rowcount or 0)
