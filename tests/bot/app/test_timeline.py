"""A mentee's record: one timeline, answers by conversation, alerts with history, mood strip,
and a read marker that belongs to each staff member."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.app import alerts, mentees, messages, timeline
from bot.app.timeline import mood_strip
from bot.storage.models import Answer
from tests.bot.app.conftest import SAM_PHONE, World


def test_the_record_puts_messages_in_and_out_in_one_list_oldest_first(world: World) -> None:
    """Check-in questions, the mentee's replies and a staff reply, each with who and status."""
    mentees.start_checkin(world.svc, world.dan, world.sam)
    world.settle()
    world.text(SAM_PHONE, "4")
    messages.reply_to_mentee(world.svc, world.dan, world.sam, "Good to hear, Sam")
    world.settle()
    r = timeline.record(world.svc, world.priya, world.sam)
    said = [(m.direction, m.purpose, m.sent_by) for m in r.messages]
    assert said[0] == ("out", "flow", None) and said[1] == ("in", "inbound", None)
    assert said[-1] == ("out", "staff_reply", "Dan Carter")
    assert [m.id for m in r.messages] == sorted(m.id for m in r.messages)
    assert r.messages[-1].status == "delivered"
    assert [(a.question, a.number) for a in r.answers] == [("mood", 4)]
    assert r.mood[-1].mood == 4.0 and all(w.mood is None for w in r.mood[:-1])
    assert world.audited("mentee.view")[-1].actor_label == "Priya Shah"


def test_the_record_carries_alerts_with_their_history_and_notes(world: World) -> None:
    """Each alert comes whole: steps and notes in order."""
    code = world.crisis()
    alerts.add_note(world.svc, world.dan, code, "Called; safe tonight")
    (alert,) = timeline.record(world.svc, world.dan, world.sam).alerts
    assert alert.alert.code == code
    assert {"raised", "queued", "note"} <= {h.kind for h in alert.history}
    assert alert.flags and alert.flags[0].category == "crisis"


def test_reading_marks_messages_read_for_that_staff_member_only(world: World) -> None:
    """Dan opening Sam's record leaves Priya's unread count as it was."""
    world.text(SAM_PHONE, "hi, can you ring me")
    world.text(SAM_PHONE, "whenever")
    assert timeline.mark_read(world.svc, world.dan, world.sam) == 2
    assert timeline.mark_read(world.svc, world.dan, world.sam) == 0
    assert mentees.list_mentees(world.svc, world.dan)[0].unread == 0
    assert mentees.list_mentees(world.svc, world.priya)[0].unread == 2
    world.text(SAM_PHONE, "thanks")
    assert mentees.list_mentees(world.svc, world.dan)[0].unread == 1
    assert timeline.record(world.svc, world.dan, world.sam).mentee.unread == 1  # viewing is not reading


LONDON = ZoneInfo("Europe/London")


def _mood(number: int, at: datetime) -> Answer:
    return Answer(conversation_id=1, mentee_id=1, question="mood", raw_text=str(number),
                  number=number, answered_at=at)


def test_the_mood_strip_has_one_value_per_iso_week_ending_this_week() -> None:
    """Eight weeks, oldest first; a week's value is the mean of its mood answers, else None."""
    now = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)  # Thursday of 2026-W11
    answers = [_mood(2, now - timedelta(days=1)), _mood(4, now - timedelta(hours=1)),
               _mood(5, now - timedelta(weeks=7)), _mood(1, now - timedelta(weeks=8)),
               Answer(conversation_id=1, mentee_id=1, question="sleep", raw_text="1", number=1,
                      answered_at=now)]
    strip = mood_strip(answers, now, LONDON)
    assert [w.week for w in strip][0::7] == ["2026-W04", "2026-W11"]
    assert [w.mood for w in strip] == [5.0, None, None, None, None, None, None, 3.0]
