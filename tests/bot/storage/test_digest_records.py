"""The digest's plain records loaded from a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.db import make_engine, make_session_factory, migrate
from bot.storage.digest_records import load_digest_records
from bot.storage.models import Alert, Answer, Conversation, Mentee, Message, Staff
from escalation.digest.figures import mentor_digest, supervisor_digest
from escalation.digest.records import CheckinRecord, LastContact
from escalation.digest.week import LONDON, parse_week

W43 = parse_week("2026-W43")
SECRET_WORDS = "my private words about my week"


def uk(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sessions(request: pytest.FixtureRequest) -> Iterator[sessionmaker[Session]]:
    url = request.getfixturevalue("db_url" if request.param == "sqlite" else "pg_url")
    engine = make_engine(url)
    migrate(engine)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def _conversation(mentee: Mentee, started: datetime, outcome: str, reply_after: int | None) -> Conversation:
    reply = started + timedelta(minutes=reply_after) if reply_after is not None else None
    return Conversation(
        mentee_id=mentee.id, flow_name="weekly", flow_version=1, state="done", outcome=outcome,
        started_at=started, first_reply_at=reply, last_activity_at=reply or started,
        finished_at=(reply or started + timedelta(hours=24)) if outcome != "open" else None,
    )


def _inbound(mentee: Mentee, at: datetime) -> Message:
    return Message(direction="in", channel="sms", address="+447700900123", mentee_id=mentee.id,
                   body=SECRET_WORDS, status="received", created_at=at, updated_at=at)


def _seed(session: Session) -> dict[str, int]:
    t0 = uk(1, 5, 9)
    dana = Staff(name="Dana Price", role="supervisor", email="dana@example.org", created_at=t0)
    other_boss = Staff(name="Other Boss", role="supervisor", created_at=t0)
    session.add_all([dana, other_boss])
    session.flush()
    alex = Staff(name="Alex Moss", role="mentor", supervisor_id=dana.id, email="alex@example.org", created_at=t0)
    cal = Staff(name="Cal Other", role="mentor", supervisor_id=other_boss.id, created_at=t0)
    session.add_all([alex, cal])
    session.flush()
    sam = Mentee(first_name="Sam", last_name="kerr", phone="+447700900123", mentor_id=alex.id,
                 created_at=uk(8, 3, 9))
    jo = Mentee(first_name="Jo", last_name="Patel", phone="+447700900124", mentor_id=alex.id,
                created_at=uk(10, 22, 12))
    zed = Mentee(first_name="Zed", last_name="Other", phone="+447700900125", mentor_id=cal.id,
                 created_at=t0)
    session.add_all([sam, jo, zed])
    session.flush()

    answered = _conversation(sam, datetime(2026, 10, 18, 23, 30, tzinfo=UTC), "completed", 12)
    missed = _conversation(sam, uk(10, 23, 10), "missed", None)
    cancelled = _conversation(sam, uk(10, 24, 10), "cancelled", None)
    next_week = _conversation(sam, uk(10, 26, 0, 30), "open", None)
    jo_open = _conversation(jo, uk(10, 24, 10), "open", None)
    zed_missed = _conversation(zed, uk(10, 20, 10), "missed", None)
    session.add_all([answered, missed, cancelled, next_week, jo_open, zed_missed])
    session.flush()
    assert answered.first_reply_at is not None
    session.add_all([
        Answer(conversation_id=answered.id, mentee_id=sam.id, question="mood", raw_text="4",
               value="4", number=4, answered_at=answered.first_reply_at),
        Answer(conversation_id=answered.id, mentee_id=sam.id, question="sleep", raw_text="1",
               value="1", number=1, answered_at=answered.first_reply_at),
        _inbound(sam, answered.first_reply_at),
        _inbound(sam, uk(10, 21, 10, 30)),
        _inbound(sam, uk(10, 27, 9)),  # after the cut-off
        Alert(code="A1", mentee_id=sam.id, category="crisis", severity="urgent", evidence=SECRET_WORDS,
              created_at=uk(10, 20, 14), ladder_started_at=uk(10, 20, 14), last_finding_at=uk(10, 20, 14),
              acknowledged_at=uk(10, 20, 14, 40), status="acknowledged", ladder_fired=True),
        Alert(code="Z1", mentee_id=zed.id, category="crisis", severity="urgent", evidence="x",
              created_at=uk(10, 20, 9), ladder_started_at=uk(10, 20, 9), last_finding_at=uk(10, 20, 9)),
    ])
    return {"dana": dana.id, "alex": alex.id, "sam": sam.id, "jo": jo.id}


def test_a_supervisors_records_hold_their_caseload_and_nothing_private(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session, session.begin():
        ids = _seed(session)
    with sessions() as session:
        records = load_digest_records(session, W43, supervisor_id=ids["dana"])

    assert [(s.name, s.email) for s in records.supervisors] == [("Dana Price", "dana@example.org")]
    assert [m.name for m in records.mentors] == ["Alex Moss"]
    assert [(m.first_name, m.last_initial, m.joined_at) for m in records.mentees] == [
        ("Sam", "K", uk(8, 3, 9)), ("Jo", "P", uk(10, 22, 12))]
    sam_checkins = [c for c in records.checkins if c.mentee_id == ids["sam"]]
    assert sam_checkins == [
        CheckinRecord(ids["sam"], datetime(2026, 10, 18, 23, 30, tzinfo=UTC), "completed",
                      answered_at=datetime(2026, 10, 18, 23, 42, tzinfo=UTC), mood=4,
                      first_reply_at=datetime(2026, 10, 18, 23, 42, tzinfo=UTC)),
        CheckinRecord(ids["sam"], uk(10, 23, 10), "missed"),
    ]
    assert records.contacts == (LastContact(ids["sam"], uk(10, 21, 10, 30)),)
    assert [(a.code, a.acknowledged_at, a.ladder_fired) for a in records.alerts] == [
        ("A1", uk(10, 20, 14, 40), True)]
    assert SECRET_WORDS not in repr(records) and "+4477" not in repr(records)


def test_loaded_records_give_the_expected_digest(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        ids = _seed(session)
    with sessions() as session:
        records = load_digest_records(session, W43)

    digest = supervisor_digest(records, ids["dana"], W43)
    [alex] = digest.mentors
    assert (alex.engagement.sent, alex.engagement.answered, alex.engagement.missed,
            alex.engagement.pending) == (3, 1, 1, 1)
    assert alex.engagement.median_reply == timedelta(minutes=12)
    assert [(a.code, a.time_to_ack, a.late) for a in alex.alerts] == [("A1", timedelta(minutes=40), True)]
    assert [m.name for m in digest.needs_a_look] == ["Sam K."]
    assert mentor_digest(records, ids["alex"], W43).recipient_email == "alex@example.org"


def test_a_later_cut_off_loads_what_happened_by_then(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        ids = _seed(session)
    with sessions() as session:
        records = load_digest_records(session, W43, mentor_id=ids["alex"], as_of=uk(10, 28))
    assert records.contacts == (LastContact(ids["sam"], uk(10, 27, 9)),)
    assert any(c.started_at == uk(10, 26, 0, 30) for c in records.checkins)
    assert [s.name for s in records.supervisors] == ["Dana Price"]
