"""Repositories for people: mentees and staff."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from bot.people import as_id
from bot.storage.bulk import one_of
from bot.storage.models import Mentee, Staff
from bot.storage.sealed import lookup

# Built once (every inbound turn asks): by the hash of a Telegram chat id or phone, locked or not.
# Phones and chat ids are stored encrypted; their keyed hashes are what an index can find.
_MENTEE_BY_ADDRESS = {
    (telegram, lock): (
        select(Mentee).where((Mentee.telegram_chat_id_hash if telegram else Mentee.phone_hash)
                             == bindparam("address_hash"))
        .with_for_update() if lock else
        select(Mentee).where((Mentee.telegram_chat_id_hash if telegram else Mentee.phone_hash)
                             == bindparam("address_hash"))
    )
    for telegram in (False, True) for lock in (False, True)
}


def _same_name(name: str, wanted: str) -> bool:
    return " ".join(name.split()).lower() == " ".join(wanted.split()).lower()


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

    def matching(self, ref: str, phone: str | None = None) -> Sequence[Mentee]:
        """Mentees whose id, phone (or `phone`, the ref as the caller normalised it), Telegram
        chat id, first name or full name (any case) is exactly `ref`; the caller decides what
        several matches mean."""
        ref = ref.strip()
        hashes = [lookup(self.session, ref)] + ([lookup(self.session, phone)] if phone else [])
        conditions = [Mentee.phone_hash.in_(hashes), Mentee.telegram_chat_id_hash == hashes[0]]
        if (mentee_id := as_id(ref)) is not None:
            conditions.append(Mentee.id == mentee_id)
        found = {m.id: m for m in self.session.scalars(select(Mentee).where(or_(*conditions)))}
        # Names are encrypted, so they are compared here (a caseload is hundreds, not millions).
        for m in self.session.scalars(select(Mentee)):
            if _same_name(m.first_name, ref) or _same_name(f"{m.first_name} {m.last_name}", ref):
                found[m.id] = m
        return [found[i] for i in sorted(found)]

    def by_address(self, channel: str, address: str, lock: bool = False) -> Mentee | None:
        stmt = _MENTEE_BY_ADDRESS[(channel == "telegram", lock)]
        return self.session.scalars(stmt, {"address_hash": lookup(self.session, address)}).first()

    def by_addresses(self, senders: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Mentee]:
        """The mentees these (channel, address) pairs belong to, locked (FOR UPDATE on
        PostgreSQL) in one query, in id order so that two workers locking overlapping batches
        cannot deadlock. A pair that is no mentee's is left out."""
        by_hash: dict[tuple[bool, str], tuple[str, str]] = {
            (channel == "telegram", lookup(self.session, address)): (channel, address)
            for channel, address in senders}
        phones = [h for telegram, h in by_hash if not telegram]
        chats = [h for telegram, h in by_hash if telegram]
        if not by_hash:
            return {}
        found = or_(one_of(self.session, Mentee.phone_hash, phones),
                    one_of(self.session, Mentee.telegram_chat_id_hash, chats))
        stmt = select(Mentee).where(found).order_by(Mentee.id).with_for_update()
        mentees: dict[tuple[str, str], Mentee] = {}
        for mentee in self.session.scalars(stmt):
            for key in ((False, mentee.phone_hash), (True, mentee.telegram_chat_id_hash)):
                if key in by_hash:
                    mentees[by_hash[key]] = mentee
        return mentees

    def by_link_code(self, code: str, now: datetime) -> Mentee | None:
        stmt = select(Mentee).where(Mentee.telegram_link_code == code)
        mentee = self.session.scalars(stmt).first()
        if mentee and mentee.telegram_link_expires and mentee.telegram_link_expires >= now:
            return mentee
        return None

    def list(self, mentor_id: int | None = None, *, mentor_ids: Sequence[int] | None = None,
             ids: Sequence[int] | None = None) -> Sequence[Mentee]:
        """By id; `mentor_id`/`mentor_ids` narrow to those mentors' mentees, and `ids` (with
        `mentor_ids`) adds these mentees whoever their mentor is."""
        stmt = select(Mentee).order_by(Mentee.id)
        if mentor_id is not None:
            stmt = stmt.where(Mentee.mentor_id == mentor_id)
        if mentor_ids is not None or ids is not None:
            stmt = stmt.where(or_(Mentee.mentor_id.in_(list(mentor_ids or ())),
                                  Mentee.id.in_(list(ids or ()))))
        return self.session.scalars(stmt).all()

    def needing_plans(self, after_id: int, planned_before: datetime, limit: int) -> Sequence[Mentee]:
        """Active mentees with a plan, after `after_id` in id order, whose check-ins are not
        planned (planned_until is empty: new, imported, or from before planning kept it) or
        are planned only up to before `planned_before`."""
        stmt = (select(Mentee)
                .where(Mentee.id > after_id, Mentee.plan.is_not(None), Mentee.status == "active",
                       or_(Mentee.planned_until.is_(None), Mentee.planned_until < planned_before))
                .order_by(Mentee.id).limit(limit))
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
            # No autoflush: by primary key, a staff row changed in this unit is the one in the
            # identity map already, so pending writes need not be flushed first.
            with self.session.no_autoflush:
                cache[staff_id] = self.session.get(Staff, staff_id)
        return cache[staff_id]

    def matching(self, ref: str, phone: str | None = None) -> Sequence[Staff]:
        """Staff whose id, phone (or `phone`, the ref as the caller normalised it), email or
        name (any case) is exactly `ref`; the caller decides what several matches mean."""
        ref = ref.strip()
        hashes = [lookup(self.session, ref)] + ([lookup(self.session, phone)] if phone else [])
        conditions = [Staff.phone_hash.in_(hashes), func.lower(Staff.email) == ref.lower(),
                      func.lower(Staff.name) == ref.lower()]
        if (staff_id := as_id(ref)) is not None:
            conditions.append(Staff.id == staff_id)
        return self.session.scalars(select(Staff).where(or_(*conditions)).order_by(Staff.id)).all()

    def named(self, name: str) -> Sequence[Staff]:
        """Staff called `name`, ignoring case and spacing."""
        wanted = " ".join(name.split()).lower()
        return self.session.scalars(select(Staff).where(func.lower(Staff.name) == wanted)).all()

    def supervised_by(self, supervisor_id: int) -> Sequence[Staff]:
        stmt = select(Staff).where(Staff.supervisor_id == supervisor_id).order_by(Staff.id)
        return self.session.scalars(stmt).all()

    def by_address(self, channel: str, address: str) -> Staff | None:
        if channel == "email":
            return self.session.scalars(select(Staff).where(Staff.email == address)).first()
        column = Staff.telegram_chat_id_hash if channel == "telegram" else Staff.phone_hash
        return self.session.scalars(select(Staff).where(column == lookup(self.session, address))).first()

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
