"""An in-memory InboundSink for webhook tests: idempotent on provider id, like the real one."""

from __future__ import annotations

import threading

from bot.channels.base import InboundMessage, StatusUpdate


class MemorySink:
    """Keeps what the webhooks store; `deliveries` counts every call, duplicates included."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self.statuses: list[StatusUpdate] = []
        self.duplicates: list[InboundMessage] = []
        self.fail_with: Exception | None = None  # make the store fail, as a database outage would
        self._lock = threading.Lock()

    async def store_inbound(self, message: InboundMessage) -> bool:
        if self.fail_with is not None:
            raise self.fail_with
        with self._lock:
            key = (message.channel, message.provider_id)
            if any((m.channel, m.provider_id) == key for m in self.messages):
                self.duplicates.append(message)
                return False
            self.messages.append(message)
            return True

    async def store_status(self, update: StatusUpdate) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        with self._lock:
            self.statuses.append(update)
