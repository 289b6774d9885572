"""Email as a Channel, for staff alerts: the first line of the text is the subject."""

from __future__ import annotations

from bot.channels.base import ChannelName, OutboundText, SendReceipt
from escalation.notify_email import EmailNotifier


class EmailChannel:
    name: ChannelName = "email"

    def __init__(self, notifier: EmailNotifier) -> None:
        self.notifier = notifier

    async def send(self, message: OutboundText) -> SendReceipt:
        subject, _, body = message.text.partition("\n")
        message_id = await self.notifier.send_async(message.address, subject.strip(), body.strip() or subject)
        return SendReceipt(provider_id=message_id, status="sent")
