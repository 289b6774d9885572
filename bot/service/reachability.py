"""A permanent 'unreachable' from a provider (SMS 21610, Telegram 403): mark it and tell a human."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.service import alerting
from bot.service.runtime import Services
from bot.storage.models import Mentee, Message


def on_unreachable(session: Session, svc: Services, row: Message, now: datetime) -> None:
    if row.mentee_id is None or row.staff_id is not None:
        # Staff (their rows carry the alert's mentee id too): the alert's own fallback and
        # 'failed' events cover it; a mentor's phone refusing texts says nothing of the mentee.
        return
    mentee = session.get(Mentee, row.mentee_id)
    if mentee is None:
        return
    if row.channel == "sms":
        mentee.sms_reachable = False
    elif row.channel == "telegram":
        mentee.telegram_reachable = False
    if mentee.unreachable_since is None:
        mentee.unreachable_since = now
    alerting.unreachable(session, svc, mentee, row.channel, now)
