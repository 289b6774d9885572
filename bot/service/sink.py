"""The webhook's durable sink: inbound messages and status callbacks are committed before 200."""

from __future__ import annotations

import asyncio
import logging

from bot.channels.base import STATUS_RANK, TERMINAL_STATUSES, InboundMessage, StatusUpdate
from bot.service.runtime import Services
from bot.storage.messages import MessageRepo

log = logging.getLogger("checkins.sink")


class DatabaseSink:
    """Implements bot.web.InboundSink on the database; pokes the turn worker after each commit."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def store_inbound_sync(self, message: InboundMessage) -> bool:
        with self.svc.sessions() as session, session.begin():
            return MessageRepo(session).store_inbound(
                channel=message.channel, provider_id=message.provider_id, address=message.address,
                body=message.callback_data or message.text, now=self.svc.clock.now(),
                segments=message.raw_segments or 1,
            )

    async def store_inbound(self, message: InboundMessage) -> bool:
        new = await asyncio.to_thread(self.store_inbound_sync, message)
        if new:
            self.svc.poke_inbound()
        callback = message.extra.get("callback_query_id")
        telegram = self.svc.channels.get("telegram")
        if callback and telegram is not None:
            try:  # stops the button's spinner; cosmetic, so a failure is only logged
                await telegram.answer_button(callback)  # type: ignore[attr-defined]
            except Exception as exc:
                log.info("could not answer Telegram button %s: %s", callback, exc)
        return new

    def store_status_sync(self, update: StatusUpdate) -> None:
        with self.svc.sessions() as session, session.begin():
            messages = MessageRepo(session)
            row = messages.by_provider_id(update.channel, update.provider_id)
            if row is None:
                return
            # Only move forward: "delivered" then a late "sent" keeps "delivered".
            rank = STATUS_RANK.get(update.status, 0)
            allowed = [s for s, r in STATUS_RANK.items() if r < rank and s not in TERMINAL_STATUSES]
            if update.status == "read":
                allowed.append("delivered")
            changed = messages.set_status_if_forward(row.id, update.status, allowed,
                                                     self.svc.clock.now(), update.error_code)
            if changed and update.status in ("undelivered", "failed") and update.error_code == "21610":
                from bot.service.reachability import on_unreachable

                on_unreachable(session, self.svc, row, self.svc.clock.now())

    async def store_status(self, update: StatusUpdate) -> None:
        await asyncio.to_thread(self.store_status_sync, update)
