"""Repository for conversations (check-ins) and their typed answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, exists, select
from sqlalchemy.orm import Session

from bot.storage.bulk import insert_rows, one_of
from bot.storage.models import Answer, Conversation, DueEvent


@dataclass(frozen=True)
class OpenCheckin:
    """A mentee's open conversation, and whether its expiry timer has fallen due."""

    id: int
    mentee_id: int
    expiry_due: bool


# Built once: every turn asks this, and building a statement costs more than running it.
_OPEN_FOR = (
    select(Conversation)
    .where(Conversation.mentee_id == bindparam("mentee_id"), Conversation.finished_at.is_(None))
    .order_by(Conversation.id.desc())
)


class ConversationRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def open_for(self, mentee_id: int) -> Conversation | None:
        return self.session.scalars(_OPEN_FOR, {"mentee_id": mentee_id}).first()

    def open_for_mentees(self, mentee_ids: Sequence[int]) -> dict[int, Conversation]:
        """As open_for, for many mentees in one query: each one's newest open conversation
        (a mentee with none is left out)."""
        if not mentee_ids:
            return {}
        stmt = (select(Conversation)
                .where(one_of(self.session, Conversation.mentee_id, sorted(set(mentee_ids))),
                       Conversation.finished_at.is_(None))
                .order_by(Conversation.id))
        return {c.mentee_id: c for c in self.session.scalars(stmt)}  # the newest is last

    def open_for_many(self, mentee_ids: Sequence[int], now: datetime) -> dict[int, OpenCheckin]:
        """Each listed mentee's open conversation (the newest, like open_for), in one query."""
        if not mentee_ids:
            return {}
        c = Conversation.__table__.c
        d = DueEvent.__table__.c
        expiry_due = exists().where(d.conversation_id == c.id, d.kind == "expiry", d.due_at <= now,
                                    d.status.in_(("pending", "claimed")))
        stmt = (select(c.id, c.mentee_id, expiry_due)
                .where(one_of(self.session, c.mentee_id, sorted(set(mentee_ids))), c.finished_at.is_(None))
                .order_by(c.id))
        return {mentee_id: OpenCheckin(cid, mentee_id, bool(due))
                for cid, mentee_id, due in self.session.execute(stmt)}

    def insert_many(self, rows: Sequence[dict[str, Any]]) -> dict[int, int]:
        """Insert many conversations (column values, at most one per mentee) in one statement;
        returns each mentee's new conversation id."""
        if len({r["mentee_id"] for r in rows}) != len(rows):
            raise ValueError("insert_many starts at most one conversation per mentee")
        table: Table = Conversation.__table__  # type: ignore[assignment]
        inserted = insert_rows(self.session, table, rows, returning=(table.c.mentee_id, table.c.id))
        return {row[0]: row[1] for row in inserted}

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

    def answers_for_mentee(self, mentee_id: int) -> Sequence[Answer]:
        stmt = select(Answer).where(Answer.mentee_id == mentee_id).order_by(Answer.id)
        return self.session.scalars(stmt).all()

    def for_mentee(self, mentee_id: int, since: datetime | None = None) -> Sequence[Conversation]:
        stmt = select(Conversation).where(Conversation.mentee_id == mentee_id)
        if since is not None:
            stmt = stmt.where(Conversation.started_at >= since)
        return self.session.scalars(stmt.order_by(Conversation.id)).all()
