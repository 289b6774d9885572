"""A hand-built caseload around 2026-W43, the week UK clocks go back (Sunday 25 October 2026).

Supervisor Dana (1) supervises Alex (10) and Bea (11); Cal (12) belongs to another supervisor.
Expected figures are worked out by hand in test_figures.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from escalation.digest.records import (
    AlertRecord,
    CheckinRecord,
    DigestRecords,
    LastContact,
    Mentee,
    Mentor,
    Supervisor,
)
from escalation.digest.week import LONDON


def uk(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    """A UK wall-clock time as a UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def answered(mentee_id: int, at: datetime, after_min: int, mood: int | None) -> CheckinRecord:
    reply = at + timedelta(minutes=after_min)
    return CheckinRecord(mentee_id, at, "completed", answered_at=reply, mood=mood, first_reply_at=reply)


def missed(mentee_id: int, at: datetime) -> CheckinRecord:
    return CheckinRecord(mentee_id, at, "missed")


SAM, JO, LEE, MO, ANA, OLD, ZED = 100, 101, 102, 103, 104, 105, 106


def hand_built_records(
    sam_first_name: str = "Sam", bea_name: str = "Bea Khan"
) -> DigestRecords:
    supervisors = (
        Supervisor(1, "Dana Price", "dana@example.org"),
        Supervisor(2, "Other Supervisor", "other@example.org"),
    )
    mentors = (
        Mentor(10, "Alex Moss", 1, "alex@example.org"),
        Mentor(11, bea_name, 1, "bea@example.org"),
        Mentor(12, "Cal Other", 2),
    )
    mentees = (
        Mentee(SAM, sam_first_name, "Kerr", 10, uk(8, 3, 9), "active"),
        Mentee(JO, "Jo", "Patel", 10, uk(10, 22, 12), "active"),  # joined Thursday of W43
        Mentee(LEE, "Lee", "Dunn", 11, uk(6, 1, 9), "active"),
        Mentee(MO, "Mo", "Reid", 11, uk(7, 1, 9), "opted_out", opted_out_at=uk(10, 22, 15)),
        Mentee(ANA, "Ana", "Bell", 11, uk(5, 1, 9), "unreachable", unreachable_since=uk(10, 24, 9)),
        Mentee(OLD, "Old", "Gone", 11, uk(3, 1, 9), "opted_out", opted_out_at=uk(9, 1, 9)),
        Mentee(ZED, "Zed", "Other", 12, uk(3, 1, 9), "active"),
    )
    checkins = (
        # Sam, W39-W42: 8 sent, 6 answered, 2 missed; moods 4,4,4,4,5,3.
        answered(SAM, uk(9, 21, 10), 10, 4), answered(SAM, uk(9, 24, 10), 10, 4),
        answered(SAM, uk(9, 28, 10), 10, 4), missed(SAM, uk(10, 1, 10)),
        missed(SAM, uk(10, 5, 10)), answered(SAM, uk(10, 8, 10), 10, 4),
        answered(SAM, uk(10, 12, 10), 10, 5), answered(SAM, uk(10, 15, 10), 10, 3),
        # Sam, W43. 00:30 on Monday is still Sunday 23:30 in UTC (BST): inside the UK week.
        answered(SAM, datetime(2026, 10, 18, 23, 30, tzinfo=UTC), 12, 4),
        answered(SAM, uk(10, 21, 10), 30, 3),
        missed(SAM, uk(10, 23, 10)),
        # 23:30 on Sunday after the clocks went back: the 169th hour of the week.
        missed(SAM, datetime(2026, 10, 25, 23, 30, tzinfo=UTC)),
        # Monday of W44: outside the week.
        CheckinRecord(SAM, uk(10, 26, 0, 30), "open"),
        # Jo: a message before joining does not count; one answered, one still open.
        missed(JO, uk(10, 21, 10)),
        answered(JO, uk(10, 23, 10), 5, 5),
        CheckinRecord(JO, uk(10, 24, 10), "open"),
        # Lee: answered in W41 and W42, then nothing.
        answered(LEE, uk(10, 7, 10), 60, 4),
        answered(LEE, uk(10, 14, 17), 60, 4),
        CheckinRecord(LEE, uk(10, 20, 10), "expired"),
        # Mo: mood 4, 4 then 2, then opted out.
        answered(MO, uk(10, 7, 10), 5, 4),
        answered(MO, uk(10, 14, 10), 5, 4),
        answered(MO, uk(10, 19, 10), 120, 2),
        # Ana: answered once before her number stopped working.
        answered(ANA, uk(10, 20, 10), 60, 3),
        # Zed (another supervisor's caseload).
        missed(ZED, uk(10, 20, 10)),
    )
    alerts = (
        AlertRecord(SAM, "A1", "crisis", "urgent", uk(10, 20, 14),
                    acknowledged_at=uk(10, 20, 14, 40), closed_at=uk(10, 21, 9), ladder_fired=True),
        AlertRecord(LEE, "A2", "housing", "concern", uk(10, 22, 9), ladder_fired=True),
        # Handled promptly weeks ago: not news.
        AlertRecord(ANA, "A0", "housing", "concern", uk(9, 30, 9),
                    acknowledged_at=uk(9, 30, 9, 10), closed_at=uk(10, 2, 9)),
        AlertRecord(ZED, "Z1", "crisis", "urgent", uk(10, 20, 9)),
    )
    contacts = (
        LastContact(SAM, uk(10, 21, 10, 30)),
        LastContact(LEE, uk(10, 14, 18)),
        LastContact(MO, uk(10, 22, 15)),
        LastContact(ANA, uk(10, 20, 11)),
        LastContact(JO, uk(10, 23, 10, 5)),
    )
    return DigestRecords(supervisors, mentors, mentees, checkins, alerts, contacts)
