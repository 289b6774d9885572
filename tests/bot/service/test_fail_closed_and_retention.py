"""A message the service cannot handle still reaches a human; old free text is removed on time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.app.loops import retention
from bot.service.runtime import Services
from bot.storage.models import Alert, Answer, Conversation, Message
from tests.bot.service.test_checkin_persistence import (
    seed,
    settle,
    start_checkin,
    store,
    text,
)


def test_a_message_that_breaks_its_turn_raises_a_review_alert_and_the_rest_of_the_batch_is_handled(
        services: Services) -> None:
    """A conversation whose flow no longer exists makes the turn raise: fail closed, not silent."""
    mentee_id = seed(services)
    start_checkin(services, mentee_id)
    settle(services)
    with services.sessions() as s, s.begin():
        conversation = s.scalars(select(Conversation).where(Conversation.mentee_id == mentee_id)).one()
        conversation.flow_name = "a-flow-removed-in-a-deploy"
    store(services, "4")
    store(services, "hello", sender="+447700900777")  # a stranger, in the same batch
    settle(services)
    with services.sessions() as s:
        alerts = s.scalars(select(Alert).where(Alert.mentee_id == mentee_id)).all()
        inbound = s.scalars(select(Message).where(Message.direction == "in")).all()
    assert [(a.category, a.severity) for a in alerts] == [("review", "urgent")]
    assert all(m.processed_at is not None for m in inbound)
    assert any("isn't linked" in m for m in services.channels["console"].texts_for("+447700900777"))  # type: ignore[attr-defined]


def test_retention_blanks_old_words_but_keeps_the_figures(services: Services, clock: ManualClock) -> None:
    mentee_id = seed(services)
    start_checkin(services, mentee_id)
    settle(services)
    text(services, "3")
    clock.advance(days=400)
    text(services, "feeling ok today")  # recent: kept
    counts = retention(services)
    with services.sessions() as s:
        old = s.scalars(select(Message).where(Message.created_at < clock.now() - timedelta(days=365))).all()
        answer = s.scalars(select(Answer).where(Answer.mentee_id == mentee_id)).first()
        recent = [m for m in s.scalars(select(Message)) if m.body == "feeling ok today"]
    assert counts["messages"] >= 2 and counts["answers"] == 1
    assert old and all(m.body == "" for m in old)
    assert answer is not None and answer.raw_text == "" and answer.number == 3
    assert len(recent) == 1


def test_a_button_pressed_after_the_check_in_finished_is_explained_not_forwarded(
        services: Services) -> None:
    mentee_id = seed(services)
    start_checkin(services, mentee_id)
    settle(services)
    for answer in ("4", "3", "yes", "yes", "no"):
        text(services, answer)
    replies = text(services, "mood=5")  # an old Telegram button, pressed later
    assert replies == ["That check-in has finished. Text CHECKIN to start a new one, or just send a message."]
    with services.sessions() as s:
        answers = s.scalars(select(Answer).where(Answer.mentee_id == mentee_id)).all()
    assert [a.question for a in answers].count("mood") == 1


def test_a_burst_of_messages_gets_one_acknowledgement_and_one_nudge_to_the_mentor(
        services: Services, clock: ManualClock) -> None:
    seed(services)
    replies = [text(services, body) for body in ("hiya", "you there?", "can you ring me later")]
    assert [len(r) for r in replies] == [1, 0, 0]
    mentor = services.channels["console"].texts_for("+447700900001")  # type: ignore[attr-defined]
    assert len(mentor) == 1 and "sent you a message" in mentor[0]
    clock.advance(hours=4)  # later, a new message is acknowledged and passed on again
    assert len(text(services, "me again")) == 1
    assert len(services.channels["console"].texts_for("+447700900001")) == 2  # type: ignore[attr-defined]


def test_a_later_im_fine_joins_the_alert_record_and_never_closes_it(services: Services) -> None:
    from bot.storage.models import AlertEvent

    def alert_and_events() -> tuple[Alert, list[AlertEvent]]:
        with services.sessions() as s:
            [alert] = s.scalars(select(Alert)).all()
            return alert, list(s.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)).all())

    seed(services)
    text(services, "I'm going to kill myself tonight")
    _, before = alert_and_events()
    text(services, "ignore me im fine now honestly")
    alert, events = alert_and_events()
    assert alert.status == "open" and alert.closed_at is None
    # Recorded on the same open alert: as what the mentee wrote, or (the learned layer reads
    # "ignore me im fine" after a crisis as a concern of its own) as a further finding.
    added = [(e.kind, e.detail) for e in events[len(before):]]
    assert added in ([("mentee wrote", "ignore me im fine now honestly")],
                     [("folded", "another concern flag: model.crisis")])


def test_a_voice_note_or_picture_is_answered_and_the_mentor_told(services: Services) -> None:
    """We cannot read it, and it might be a plea for help: never drop it silently."""
    mentee_id = seed(services)
    start_checkin(services, mentee_id)
    settle(services)
    replies = text(services, "")  # what a voice note or MMS picture arrives as
    assert replies == ["Sorry, we can only read typed messages. Please type your reply. "
                       "Your mentor will see you sent something."]
    mentor = services.channels["console"].texts_for("+447700900001")  # type: ignore[attr-defined]
    assert any("voice note, photo or picture message" in m for m in mentor)
    with services.sessions() as s:
        conv = s.scalars(select(Conversation).where(Conversation.mentee_id == mentee_id)).one()
    assert conv.state == "mood" and conv.reasks == 0  # the check-in waits for a typed answer


def test_an_urgent_message_is_handled_and_committed_before_a_queue_of_ordinary_ones(
        services: Services) -> None:
    from bot.service import admin
    from bot.service.turns import process_inbound

    seed(services)
    with services.sessions() as s, s.begin():
        for i in range(5):
            admin.add_mentee(s, services, services.clock.now(), first_name=f"M{i}",
                             phone=f"+44770090020{i}", mentor="Dan Carter")
    for i in range(5):
        store(services, "hiya, all good this week", sender=f"+44770090020{i}")
    store(services, "I'm going to kill myself tonight")
    assert process_inbound(services) == 1  # the crisis alone, first, committed at once
    with services.sessions() as s:
        [alert] = s.scalars(select(Alert)).all()
        handled = s.scalars(select(Message).where(Message.direction == "in",
                                                  Message.processed_at.is_not(None))).all()
    assert alert.severity == "urgent" and [m.body for m in handled] == ["I'm going to kill myself tonight"]
    assert process_inbound(services) == 5
