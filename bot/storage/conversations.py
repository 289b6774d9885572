"""Repository for conversations (check-ins) and their typed answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.models import Answer, Conversation


class ConversationRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def open_for(self, mentee_id: int) -> Conversation | None:
        stmt = (
            select(Conversation)
            .where(Conversation.mentee_id == mentee_id, Conversation.finished_at.is_(None))
            .order_by(Conversation.id.desc())
        )
        return self.session.scalars(stmt).first()

    def get(self, conversation_id: int) -> Conversation | None:
        return self.session.get(Conversation, conversation_id)

    def add(self, conversation: Conversation) -> Conversation:
        self.session.add(conversation)
        self.session.flush()
        return conversation

    def add_answer(self, answer: Answer) -> None:
        self.session.add(answer)

    def answers(self, conversation_id: int) -> Sequence[Answer]:
        stmt = select(Answer).where(Answer.conversation_id == conversation_id).order_by(Answer.id)
        return self.session.scalars(stmt).all()

    def for_mentee(self, mentee_id: int, since: datetime | None = None) -> Sequence[Conversation]:
        stmt = select(Conversation).where(Conversation.mentee_id == mentee_id)
        if since is not None:
            stmt = stmt.where(Conversation.started_at >= since)
        return self.session.scalars(stmt.order_by(Conversation.id)).all()
