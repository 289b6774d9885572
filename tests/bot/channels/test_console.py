"""The demo's simulated phone."""

from __future__ import annotations

import asyncio
import io

from bot.channels.base import Button, OutboundText
from bot.channels.console import ConsoleChannel


def test_the_simulated_phone_prints_who_each_message_is_for_with_its_buttons() -> None:
    out = io.StringIO()
    phone = ConsoleChannel(out)
    asyncio.run(phone.send(OutboundText("+447700900123", "How are you?", buttons=(Button("Good", "1"), Button("Bad", "2")))))
    assert out.getvalue() == "[phone -> +447700900123] How are you?  [Good] [Bad]\n"


def test_provider_ids_count_up_so_demo_runs_repeat_exactly() -> None:
    def run() -> list[str]:
        phone = ConsoleChannel()

        async def go() -> list[str]:
            return [(await phone.send(OutboundText("a", t))).provider_id for t in ("one", "two")]

        return asyncio.run(go()) + [phone.inbound("a", "reply").provider_id]

    assert run() == run() == ["console-out-000001", "console-out-000002", "console-in-000001"]


def test_sent_messages_are_kept_per_address() -> None:
    phone = ConsoleChannel()

    async def go() -> None:
        await phone.send(OutboundText("a", "for a"))
        await phone.send(OutboundText("b", "for b"))

    asyncio.run(go())
    assert phone.texts_for("a") == ["for a"]
    assert phone.inbound("b", "hi").channel == "console"


def test_each_sent_message_is_kept_with_its_provider_id() -> None:
    phone = ConsoleChannel()
    message = OutboundText("a", "hello")
    receipt = asyncio.run(phone.send(message))
    assert (phone.sent, phone.provider_ids) == ([message], [receipt.provider_id])
