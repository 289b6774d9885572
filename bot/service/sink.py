"""The webhook's durable sink: inbound messages and status callbacks are committed before 200."""

from __future__ import annotations

import asyncio
import logging

from bot.channels.base import STATUS_RANK, TERMINAL_STATUSES, InboundMessage, StatusUpdate
from bot.service.runtime import Services
from bot.storage.messages import MessageRepo

log = logging.getLogger("checkins.sink")


class DatabaseSink:
    """Implements bot.web.InboundSink on the database; pokes the turn worker after each commit.

    Concurrent webhook requests are committed together (group commit): while one batch is being
    written, the next requests queue up and share the following transaction. Each request is
    still answered only after its own row is committed.
    """

    MAX_BATCH = 500

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self._pending: asyncio.Queue[tuple[InboundMessage, asyncio.Future[bool]]] | None = None
        self._writer: asyncio.Task[None] | None = None

    def store_inbound_sync(self, message: InboundMessage) -> bool:
        return self.store_batch_sync([message])[0]

    def store_batch_sync(self, messages: list[InboundMessage]) -> list[bool]:
        """Store messages in one transaction; for each, True if new, False if a duplicate."""
        unique: dict[tuple[str, str], InboundMessage] = {}
        for m in messages:  # a provider retry can land in the same batch as the original
            unique.setdefault((m.channel, m.provider_id), m)
        rows = [{"channel": m.channel, "provider_id": m.provider_id, "address": m.address,
                 "body": m.callback_data or m.text, "segments": m.raw_segments or 1}
                for m in unique.values()]
        def work() -> set[tuple[str, str]]:
            with self.svc.sessions() as session, session.begin():
                return MessageRepo(session).store_inbound_many(rows, self.svc.clock.now())

        new = self.svc.retrying(work, "storing inbound messages")
        answers = []
        for m in messages:
            key = (m.channel, m.provider_id)
            answers.append(key in new)
            new.discard(key)  # the second copy in one batch is a duplicate
        return answers

    async def _write_loop(self) -> None:
        assert self._pending is not None
        while True:
            batch = [await self._pending.get()]
            while len(batch) < self.MAX_BATCH and not self._pending.empty():
                batch.append(self._pending.get_nowait())
            try:
                results = await asyncio.to_thread(self.store_batch_sync, [m for m, _ in batch])
            except Exception as exc:  # each waiting request answers 500, so the provider retries
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), new in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(new)

    async def store_inbound(self, message: InboundMessage) -> bool:
        loop = asyncio.get_running_loop()
        if self._writer is None or self._writer.done() or self._writer.get_loop() is not loop:
            self._pending = asyncio.Queue()
            self._writer = loop.create_task(self._write_loop())
        future: asyncio.Future[bool] = loop.create_future()
        assert self._pending is not None
        self._pending.put_nowait((message, future))
        new = await future
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
        self.svc.retrying(lambda: self._store_status(update), "storing a delivery status")

    def _store_status(self, update: StatusUpdate) -> None:
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
            if changed and update.status in ("undelivered", "failed"):
                # The provider took it but it never arrived: treat it like a refused send, so
                # a staff alert moves on to the person's next channel and nothing goes unseen.
                from bot.service.outbox import handle_permanent_failure

                row.status = update.status
                row.error_code = update.error_code
                row.error_detail = f"{update.status} (provider error {update.error_code or 'none'})"
                handle_permanent_failure(session, self.svc, row, self.svc.clock.now(),
                                         unreachable=update.error_code == "21610" or update.unreachable)

    async def store_status(self, update: StatusUpdate) -> None:
        await asyncio.to_thread(self.store_status_sync, update)
