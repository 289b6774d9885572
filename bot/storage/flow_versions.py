"""Repository for the flow versions conversations started on (their exact file text)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.storage.models import FlowVersion


class FlowVersionRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, name: str, digest: str) -> FlowVersion | None:
        return self.session.get(FlowVersion, (name, digest))

    def keep(self, name: str, digest: str, text: str, source: str, now: datetime) -> None:
        """Store a version the first time a conversation starts on it."""
        if self.get(name, digest) is None:
            self.session.add(FlowVersion(name=name, digest=digest, text=text, source=source[:300],
                                         first_used_at=now))
            self.session.flush()
