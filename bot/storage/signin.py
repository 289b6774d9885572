"""Repository for staff sign-in: one-time codes, the attempts the throttles count, sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.storage.models import SigninAttempt, SigninCode, StaffSession


class SigninRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    # ---- codes ----------------------------------------------------------------------------------
    def add_code(self, code: SigninCode) -> SigninCode:
        self.session.add(code)
        self.session.flush()
        return code

    def retire_codes(self, staff_id: int, now: datetime) -> None:
        """Codes not yet used stop working (a newer one was sent)."""
        self.session.execute(update(SigninCode)
                             .where(SigninCode.staff_id == staff_id, SigninCode.used_at.is_(None))
                             .values(used_at=now))

    def live_code(self, staff_id: int, now: datetime) -> SigninCode | None:
        """The staff member's newest code that is unused and unexpired, locked."""
        stmt = (select(SigninCode)
                .where(SigninCode.staff_id == staff_id, SigninCode.used_at.is_(None),
                       SigninCode.expires_at > now)
                .order_by(SigninCode.id.desc()).limit(1).with_for_update())
        return self.session.scalars(stmt).first()

    # ---- attempts -------------------------------------------------------------------------------
    def add_attempt(self, kind: str, address_key: str, client: str, now: datetime) -> None:
        self.session.add(SigninAttempt(kind=kind, address_key=address_key, client=client[:64], at=now))

    def count_attempts(self, since: datetime, *, kind: str | None = None,
                       address_key: str | None = None, client: str | None = None) -> int:
        stmt = select(func.count()).select_from(SigninAttempt).where(SigninAttempt.at >= since)
        if kind is not None:
            stmt = stmt.where(SigninAttempt.kind == kind)
        if address_key is not None:
            stmt = stmt.where(SigninAttempt.address_key == address_key)
        if client is not None:
            stmt = stmt.where(SigninAttempt.client == client[:64])
        return int(self.session.scalar(stmt) or 0)

    def forget_attempts(self, before: datetime) -> None:
        self.session.execute(SigninAttempt.__table__.delete().where(SigninAttempt.at < before))

    # ---- sessions -------------------------------------------------------------------------------
    def add_session(self, row: StaffSession) -> StaffSession:
        self.session.add(row)
        self.session.flush()
        return row

    def session_by_token_hash(self, token_hash: str) -> StaffSession | None:
        stmt = select(StaffSession).where(StaffSession.token_hash == token_hash)
        return self.session.scalars(stmt).first()

    def open_sessions(self, staff_id: int) -> Sequence[StaffSession]:
        stmt = select(StaffSession).where(StaffSession.staff_id == staff_id,
                                          StaffSession.ended_at.is_(None))
        return self.session.scalars(stmt.order_by(StaffSession.id)).all()

    def end_sessions(self, staff_id: int, now: datetime, why: str) -> int:
        result = self.session.execute(
            update(StaffSession)
            .where(StaffSession.staff_id == staff_id, StaffSession.ended_at.is_(None))
            .values(ended_at=now, ended_why=why))
        return int(result.rowcount or 0)
