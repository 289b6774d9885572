"""The demo's simulated phone: messages are printed and kept in memory instead of sent."""

from __future__ import annotations

from datetime import datetime
from typing import TextIO

from bot.channels.base import ChannelName, InboundMessage, OutboundText, SendReceipt
from bot.gsm7 import segment_count


class ConsoleChannel:
    """A Channel that 'delivers' to a text stream and a list; provider ids count up from 1."""

    name: ChannelName = "console"

    def __init__(self, stream: TextIO | None = None, label: str = "phone") -> None:
        self.stream = stream
        self.label = label
        self.sent: list[OutboundText] = []
        self.provider_ids: list[str] = []  # parallel to `sent`
        self._sent_count = 0
        self._received_count = 0

    async def send(self, message: OutboundText) -> SendReceipt:
        """Record `message` and write it as `[phone -> <address>] <text>` plus its buttons."""
        self._sent_count += 1
        provider_id = f"console-out-{self._sent_count:06d}"
        self.sent.append(message)
        self.provider_ids.append(provider_id)
        if self.stream is not None:
            line = f"[{self.label} -> {message.address}] {message.text}"
            if message.buttons:
                line += "  " + " ".join(f"[{b.label}]" for b in message.buttons)
            self.stream.write(line + "\n")
            self.stream.flush()
        return SendReceipt(provider_id=provider_id, status="delivered", segments=segment_count(message.text))

    def inbound(self, address: str, text: str, received_at: datetime | None = None) -> InboundMessage:
        """A message typed on the simulated phone, as the service would receive it."""
        self._received_count += 1
        return InboundMessage(
            channel="console",
            provider_id=f"console-in-{self._received_count:06d}",
            address=address,
            text=text,
            received_at=received_at,
        )

    def texts_for(self, address: str) -> list[str]:
        """Everything sent to `address`, oldest first."""
        return [m.text for m in self.sent if m.address == address]
