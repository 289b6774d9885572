"""How the pages lay out what bot.app returns: pure functions, no rules and no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.app.timeline import MenteeRecord
from bot.gsm7 import gsm7_length, non_gsm7_characters, sms_parts, to_gsm7

# What closing an alert can say happened (the person adds detail); "other" needs the detail.
OUTCOMES = (
    ("spoke", "Spoke with them; they are safe for now"),
    ("referred", "Referred them on (GP, crisis team, housing, refuge)"),
    ("emergency", "Called the emergency services"),
    ("no_risk", "Checked: no risk (the words meant something else)"),
    ("no_answer", "Could not reach them; handed to the next person"),
)

DELIVERY = {  # a message's status in plain words
    "received": "received", "pending": "waiting to send", "sending": "sending", "sent": "sent",
    "delivered": "delivered", "read": "read", "failed": "not delivered", "undelivered": "not delivered",
    "expired": "not sent (too late)", "cancelled": "not sent", "queued": "sent",
}
QUIET_STEPS = {"queued", "notified", "fallback", "mentee wrote", "re-escalated"}  # alert page only


@dataclass(frozen=True)
class Item:
    """One line of a mentee's timeline."""

    at: datetime
    kind: str  # in | out | answer | alert
    text: str
    meta: str  # who, channel, delivery
    new: bool = False  # unread until this page was opened
    link: str = ""  # an alert's code


def timeline_items(record: MenteeRecord, unread: int) -> list[Item]:
    """Messages in and out, check-in answers and alert steps, oldest first; the last `unread`
    messages from the mentee are marked new."""
    items: list[Item] = []
    inbound = [m for m in record.messages if m.direction == "in"]
    new_ids = {m.id for m in inbound[len(inbound) - unread:]} if unread else set()
    for m in record.messages:
        if m.direction == "in":
            items.append(Item(m.at, "in", m.body, f"{record.mentee.first_name} by {m.channel}",
                              new=m.id in new_ids))
        else:
            who = m.sent_by or {"flow": "check-in", "safety": "safety reply",
                                "system": "the service"}.get(m.purpose, m.purpose)
            items.append(Item(m.at, "out", m.body,
                              f"{who} by {m.channel}: {DELIVERY.get(m.status, m.status)}"))
    for a in record.answers:
        answer = a.value or (str(a.number) if a.number is not None else "") or a.text
        items.append(Item(a.at, "answer", f"{a.question.replace('_', ' ')}: {answer}", "check-in answer"))
    for d in record.alerts:
        for h in d.history:
            if h.kind in QUIET_STEPS:
                continue
            items.append(Item(h.at, "alert", h.detail or h.kind,
                              f"alert {d.alert.code} {h.kind}" + (f" by {h.who}" if h.who else ""),
                              link=d.alert.code))
    # Messages keep the order they were stored in; an answer or an alert step goes after the
    # last message stored by its time (the message that raised it, before the replies to it).
    order: dict[int, float] = {}
    for index, item in enumerate(items):
        if item.kind in ("in", "out"):
            order[index] = float(index)
        else:
            before = [i for i, other in enumerate(items[:len(record.messages)]) if other.at <= item.at
                      and other.kind == "in"]
            order[index] = (before[-1] if before else -1) + 0.5
    ranked = sorted(range(len(items)), key=lambda i: (items[i].at, order[i]))
    return [items[i] for i in ranked]


@dataclass(frozen=True)
class Count:
    characters: int
    texts: int
    changed: tuple[str, ...]  # characters a basic phone cannot show, replaced or dropped


def reply_count(text: str) -> Count:
    """What the outbox will make of a reply by SMS (the same count the live counter shows)."""
    shaped = to_gsm7(text.strip())
    return Count(gsm7_length(shaped), len(sms_parts(text.strip())) if text.strip() else 0,
                 tuple(non_gsm7_characters(text.strip())))
