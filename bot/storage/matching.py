"""Repository for mentor matching: caseloads and the record of who assigned whom, and why."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.storage.models import Mentee, MentorAssignment, Staff


class MatchingRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def mentors(self) -> Sequence[Staff]:
        return self.session.scalars(select(Staff).where(Staff.role == "mentor").order_by(Staff.id)).all()

    def caseloads(self) -> dict[int, int]:
        """Mentees per mentor, counting everyone not opted out (paused ones still need them)."""
        stmt = (select(Mentee.mentor_id, func.count()).where(Mentee.status != "opted_out")
                .group_by(Mentee.mentor_id))
        return {mentor_id: count for mentor_id, count in self.session.execute(stmt)}

    def record(self, assignment: MentorAssignment) -> None:
        self.session.add(assignment)

    def history(self, mentee_id: int) -> Sequence[MentorAssignment]:
        stmt = (select(MentorAssignment).where(MentorAssignment.mentee_id == mentee_id)
                .order_by(MentorAssignment.id))
        return self.session.scalars(stmt).all()
