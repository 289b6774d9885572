"""Turns decided a chunk at a time: one pass reads for many mentees at once and writes their
routine replies together, yet each message is handled once, each mentee's in order, and one
turn that breaks neither loses nor doubles the others' replies. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from bot.service.alerting import ack_reply_text
from bot.service.runtime import Services
from bot.service.turns import process_inbound
from bot.storage.models import Alert, Answer, Conversation, Message
from tests.bot.service.test_checkin_persistence import (
    MENTEE,
    MENTOR,
    STRANGER,
    add_others,
    handle_side_by_side,
    prompt,
    rows,
    seed,
    sent_to,
    settle,
    start_checkin,
    store,
)

OTHERS = ["+447700900201", "+447700900202", "+447700900203"]


def nudges(svc: Services) -> list[str]:
    return [t for t in sent_to(svc, MENTOR) if "sent you a message" in t]


def test_one_pass_handles_a_mixed_batch_in_order_with_one_acknowledgement_each(
        on_any_db: Callable[[], Services]) -> None:
    svc = on_any_db()
    mentee_id = seed(svc)
    add_others(svc, OTHERS)
    start_checkin(svc, mentee_id)
    settle(svc)
    # Alex0 writes twice and Sam answers twice, one after the other, in one batch with others and
    # a stranger: each one's second message must see what their first one's turn did.
    for body, sender in (("hiya", OTHERS[0]), ("you there?", OTHERS[0]), ("4", MENTEE),
                         ("3", MENTEE), ("hello", STRANGER), ("all good this week", OTHERS[1])):
        store(svc, body, sender)
    assert process_inbound(svc) == 6  # one pass: the test's clock stands still
    settle(svc)

    answers = [(a.question, a.raw_text) for a in rows(svc, Answer, Answer.mentee_id == mentee_id)]
    assert answers == [("mood", "4"), ("sleep", "3")]
    assert sent_to(svc, MENTEE)[-2:] == [prompt("sleep"), prompt("safe_place")]
    ack = ack_reply_text(svc)
    assert sent_to(svc, OTHERS[0]) == [ack]  # two messages, one acknowledgement
    assert sent_to(svc, OTHERS[1]) == [ack]
    assert len(nudges(svc)) == 2  # the mentor hears once about each of them
    assert any("isn't linked" in t for t in sent_to(svc, STRANGER))
    inbound = rows(svc, Message, Message.direction == "in")
    assert len(inbound) == 6 and all(m.processed_at is not None for m in inbound)


def test_a_turn_that_breaks_in_a_batch_neither_loses_nor_doubles_the_others_replies(
        on_any_db: Callable[[], Services]) -> None:
    svc = on_any_db()
    mentee_id = seed(svc)
    others = add_others(svc, OTHERS)
    start_checkin(svc, mentee_id)
    settle(svc)
    with svc.sessions() as s, s.begin():  # Sam's turn will raise: the flow is gone
        conversation = s.scalars(select(Conversation).where(Conversation.mentee_id == mentee_id)).one()
        conversation.flow_name = "a-flow-removed-in-a-deploy"
    for body, sender in (("hiya", OTHERS[0]), ("all good", OTHERS[1]), ("4", MENTEE),
                         ("you there?", OTHERS[0]), ("fine thanks", OTHERS[2])):
        store(svc, body, sender)
    settle(svc)

    alerts = rows(svc, Alert, Alert.mentee_id == mentee_id)
    assert [(a.category, a.severity) for a in alerts] == [("review", "urgent")]
    ack = ack_reply_text(svc)
    for phone, other_id in zip(OTHERS, others, strict=True):
        # The batch that broke was rolled back whole; handled again one at a time, each reply
        # was written once.
        assert sent_to(svc, phone) == [ack]
        queued = rows(svc, Message, Message.direction == "out", Message.mentee_id == other_id)
        assert len(queued) == 2  # their acknowledgement and the mentor's nudge
    assert len(nudges(svc)) == 3
    inbound = rows(svc, Message, Message.direction == "in")
    assert len(inbound) == 5 and all(m.processed_at is not None for m in inbound)


def test_two_workers_on_one_database_handle_each_message_once_and_each_mentee_in_order(
        on_any_db: Callable[[], Services]) -> None:
    workers = [on_any_db(), on_any_db()]
    first = workers[0]
    ids = [seed(first), *add_others(first, OTHERS)]
    for mentee_id in ids:
        start_checkin(first, mentee_id)
    settle(first)
    phones = [MENTEE, *OTHERS]
    replies = ["4", "3", "yes", "no"]
    for reply in replies:  # interleaved: every mentee's first answer, then every second one, ...
        for phone in phones:
            store(first, reply, phone)
    total = len(phones) * len(replies)

    # small batches: the two take turns in the queue
    handle_side_by_side([lambda w=w: process_inbound(w, limit=5) for w in workers], first, total)
    settle(first)

    for mentee_id in ids:  # each answer once, in the order sent
        answers = [a.raw_text for a in rows(first, Answer, Answer.mentee_id == mentee_id)]
        assert answers == replies
    for phone in phones:
        assert sent_to(first, phone)[1:] == [prompt(q) for q in ("sleep", "safe_place",
                                                                 "safe_home", "anything_else")]
