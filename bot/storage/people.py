"""Repositories for people: mentees and staff."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from bot.storage.bulk import one_of
from bot.storage.models import Mentee, Staff


# Built once (every inbound turn asks): by Telegram chat id or phone, locked or not.
_MENTEE_BY_ADDRESS = {
    (telegram, lock): (
        select(Mentee).where((Mentee.telegram_chat_id if telegram else Mentee.phone) == bindparam("address"))
        .with_for_update() if lock else
        select(Mentee).where((Mentee.telegram_chat_id if telegram else Mentee.phone) == bindparam("address"))
    )
    for telegram in (False, True) for lock in (False, True)
}


class MenteeRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, mentee: Mentee) -> Mentee:
        self.session.add(mentee)
        self.session.flush()
        return mentee

    def get(self, mentee_id: int, lock: bool = False) -> Mentee | None:
        stmt = select(Mentee).where(Mentee.id == mentee_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def get_many(self, ids: set[int]) -> dict[int, Mentee]:
        if not ids:
            return {}
        rows = self.session.scalars(select(Mentee).where(Mentee.id.in_(sorted(ids)))).all()
        return {m.id: m for m in rows}

    def lock_many(self, ids: set[int]) -> dict[int, Mentee]:
        """Load and lock many mentees (FOR UPDATE on PostgreSQL), in id order so that two
        workers locking overlapping batches can never deadlock."""
        if not ids:
            return {}
        stmt = (select(Mentee).where(one_of(self.session, Mentee.id, sorted(ids)))
                .order_by(Mentee.id).with_for_update())
        return {m.id: m for m in self.session.scalars(stmt).all()}

    def find(self, ref: str) -> Mentee | None:
        """By id, phone or chat id, or an unambiguous full or first name (CLI convenience)."""
        if ref.isdigit():
            found = self.get(int(ref))
            if found:
                return found
        stmt = select(Mentee).where(or_(Mentee.phone == ref, Mentee.telegram_chat_id == ref))
        found = self.session.scalars(stmt).first()
        if found:
            return found
        matches = [m for m in self.list() if ref.lower() in
                   {m.first_name.lower(), f"{m.first_name} {m.last_name}".strip().lower()}]
        return matches[0] if len(matches) == 1 else None

    def by_address(self, channel: str, address: str, lock: bool = False) -> Mentee | None:
        stmt = _MENTEE_BY_ADDRESS[(channel == "telegram", lock)]
        return self.session.scalars(stmt, {"address": address}).first()

    def by_link_code(self, code: str, now: datetime) -> Mentee | None:
        stmt = select(Mentee).where(Mentee.telegram_link_code == code)
        mentee = self.session.scalars(stmt).first()
        if mentee and mentee.telegram_link_expires and mentee.telegram_link_expires >= now:
            return mentee
        return None

    def list(self, mentor_id: int | None = None) -> Sequence[Mentee]:
        stmt = select(Mentee).order_by(Mentee.id)
        if mentor_id is not None:
            stmt = stmt.where(Mentee.mentor_id == mentor_id)
        return self.session.scalars(stmt).all()

    def with_plans(self) -> Sequence[Mentee]:
        stmt = select(Mentee).where(Mentee.plan.is_not(None), Mentee.status == "active")
        return self.session.scalars(stmt.order_by(Mentee.id)).all()


class StaffRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, staff: Staff) -> Staff:
        self.session.add(staff)
        self.session.flush()
        return staff

    def get(self, staff_id: int) -> Staff | None:
        # Staff rows are read many times a turn (mentor, supervisor, duty); the session's identity
        # map only holds weak references, so keep them for the life of this unit of work.
        cache: dict[int, Staff | None] = self.session.info.setdefault("staff_by_id", {})
        if staff_id not in cache:
            cache[staff_id] = self.session.get(Staff, staff_id)
        return cache[staff_id]

    def find(self, ref: str) -> Staff | None:
        if ref.isdigit():
            found = self.get(int(ref))
            if found:
                return found
        stmt = select(Staff).where(or_(Staff.phone == ref, Staff.email == ref, Staff.name == ref))
        return self.session.scalars(stmt).first()

    def by_address(self, channel: str, address: str) -> Staff | None:
        if channel == "email":
            return self.session.scalars(select(Staff).where(Staff.email == address)).first()
        column = Staff.telegram_chat_id if channel == "telegram" else Staff.phone
        return self.session.scalars(select(Staff).where(column == address)).first()

    def by_link_code(self, code: str) -> Staff | None:
        return self.session.scalars(select(Staff).where(Staff.telegram_link_code == code)).first()

    def duty(self) -> Staff | None:
        """The duty contact alerts climb to (looked up once per unit of work)."""
        if "duty" not in self.session.info:
            stmt = select(Staff).where(Staff.is_duty.is_(True), Staff.active.is_(True)).order_by(Staff.id)
            self.session.info["duty"] = self.session.scalars(stmt).first()
        duty: Staff | None = self.session.info["duty"]
        return duty

    def list(self, role: str | None = None) -> Sequence[Staff]:
        stmt = select(Staff).order_by(Staff.id)
        if role:
            stmt = stmt.where(Staff.role == role)
        return self.session.scalars(stmt).all()
