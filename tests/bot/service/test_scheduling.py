"""Scheduled check-ins end to end: real database, real ticker and outbox, a manual clock.

Each test drives the service the way `checkins serve` does (daily planning at 03:17, ticks, outbox
passes) from one stored wake-up to the next, and reads what the phone actually received.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from bot.service import admin
from bot.storage.conversations import ConversationRepo
from bot.storage.models import Alert, Conversation, DueEvent
from bot.storage.people import MenteeRepo
from tests.bot.service.conftest import WorldFactory, configured
from tests.bot.service.world import (
    LONDON,
    MENTEE_PHONE,
    MENTOR_PHONE,
    OPENING,
    REMINDER,
    SUPERVISOR_PHONE,
    Sent,
    World,
    answering,
    london,
    weekdays_between,
)


def openings(world: World) -> list[Sent]:
    """The first question of every check-in the mentee received (not reminders)."""
    return [s for s in world.phone.to(MENTEE_PHONE)
            if OPENING in s.text and REMINDER not in s.text.lower()]


def reminders(world: World) -> list[Sent]:
    return [s for s in world.phone.to(MENTEE_PHONE) if s.text.lower().startswith(REMINDER)]


def in_quiet_hours(sent: Sent, start: time = time(21), end: time = time(8)) -> bool:
    wall = sent.local.time()
    return wall >= start or wall < end


def conversations(world: World) -> list[Conversation]:
    with world.svc.sessions() as s:
        return list(s.scalars(select(Conversation).order_by(Conversation.id)))


# ---- the "done when" ---------------------------------------------------------------------
def test_mon_thu_10_00_for_a_year_arrives_exactly_then_in_london_across_both_clock_changes(
        sched_world: WorldFactory) -> None:
    """A year of "mon,thu 10:00": every check-in at 10:00 London (GMT and BST), none twice, none
    in quiet hours; every unanswered one is reminded once at 14:00 and then recorded missed."""
    world = sched_world(london(2026, 1, 1))
    mentee_id = world.add_people("mon,thu 10:00")
    skipped = lambda s: s.local.isocalendar().week % 5 == 0 and s.local.weekday() == 0  # noqa: E731
    world.run_until(london(2027, 1, 1), answering(skip=skipped))

    expected = [datetime.combine(d, time(10), tzinfo=LONDON)
                for d in weekdays_between(date(2026, 1, 1), date(2027, 1, 1), {0, 3})]
    got = [s.local for s in openings(world)]
    assert got == expected  # exactly these instants, in order, each once
    assert {s.local.utcoffset() for s in openings(world)} == {timedelta(0), timedelta(hours=1)}
    assert not [s for s in world.phone.to(MENTEE_PHONE) if in_quiet_hours(s)]

    missed_days = [s.local.date() for s in openings(world) if skipped(s)]
    assert len(missed_days) == 10
    assert [r.local for r in reminders(world)] == [
        datetime.combine(d, time(14), tzinfo=LONDON) for d in missed_days]
    convs = conversations(world)
    assert len(convs) == len(expected)
    outcomes = Counter(c.outcome for c in convs)
    assert outcomes == {"completed": len(expected) - 10, "missed": 10}
    for c in convs:
        if c.outcome == "missed":  # expired after 24 hours, before the next check-in
            assert c.finished_at - c.started_at == timedelta(hours=24)
    with world.svc.sessions() as s:
        mentee = MenteeRepo(s).get(mentee_id)
        assert mentee is not None and mentee.missed_streak == 0
        assert not s.scalars(select(Alert)).all()  # single misses never raise no-contact
        assert not s.scalars(select(DueEvent).where(DueEvent.status.in_(("claimed", "missed")))).all()


# ---- DST -----------------------------------------------------------------------------------------
def test_a_01_30_check_in_runs_once_on_both_clock_change_sundays(sched_world: WorldFactory) -> None:
    """Without quiet hours, "sun 01:30" runs at 02:00 BST when 01:30 does not exist (29 Mar) and
    at the first 01:30 when it happens twice (25 Oct): once each, like every other Sunday."""
    world = sched_world(london(2026, 3, 20), configured(service={"quiet_hours": ""}))
    world.add_people("sun 01:30")
    world.run_until(london(2026, 11, 2), answering())
    got = [s.at for s in openings(world)]
    assert len(got) == len(set(got)) == len(weekdays_between(date(2026, 3, 20), date(2026, 11, 2), {6}))
    assert datetime(2026, 3, 29, 1, 0, tzinfo=UTC) in got  # 02:00 BST, the moment clocks change
    assert datetime(2026, 10, 25, 0, 30, tzinfo=UTC) in got  # 01:30 BST, the first of two
    assert datetime(2026, 10, 25, 1, 30, tzinfo=UTC) not in got  # never the second 01:30 GMT
    assert all(s.local.time() == time(1, 30) for s in openings(world)
               if s.local.date() not in (date(2026, 3, 29),))


def test_a_01_30_check_in_inside_quiet_hours_goes_at_08_00_on_both_clock_change_sundays(
        sched_world: WorldFactory) -> None:
    world = sched_world(london(2026, 3, 27))
    world.add_people("sun 01:30")
    world.run_until(london(2026, 11, 2), answering())
    by_day = {s.local.date(): s.local for s in openings(world)}
    assert by_day[date(2026, 3, 29)] == london(2026, 3, 29, 8)
    assert by_day[date(2026, 10, 25)] == london(2026, 10, 25, 8)
    assert all(s.local.time() == time(8) for s in openings(world))
    assert len(openings(world)) == len(by_day)  # once a Sunday


# ---- quiet hours ---------------------------------------------------------------------------------
def test_a_check_in_due_at_07_00_with_quiet_hours_until_08_00_goes_at_08_00(sched_world: WorldFactory) -> None:
    world = sched_world(london(2026, 3, 9, 12))  # a Monday
    world.add_people("tue 07:00")
    world.run_until(london(2026, 3, 10, 7, 59, 59), answering())
    assert openings(world) == []
    world.run_until(london(2026, 3, 10, 9), answering())
    assert [s.local for s in openings(world)] == [london(2026, 3, 10, 8)]


def test_a_check_in_just_before_quiet_hours_goes_and_one_at_their_start_waits_for_the_morning(
        sched_world: WorldFactory) -> None:
    world = sched_world(london(2026, 3, 9, 12))
    world.add_people("tue 20:59, wed 21:00")
    world.run_until(london(2026, 3, 12, 12), answering())
    assert [s.local for s in openings(world)] == [london(2026, 3, 10, 20, 59), london(2026, 3, 12, 8)]


def test_a_reminder_due_in_quiet_hours_waits_for_the_morning(sched_world: WorldFactory) -> None:
    world = sched_world(london(2026, 3, 9, 12))
    world.add_people("tue 18:00")
    world.run_until(london(2026, 3, 11, 12))  # no answer
    assert [s.local for s in openings(world)] == [london(2026, 3, 10, 18)]
    assert [s.local for s in reminders(world)] == [london(2026, 3, 11, 8)]  # due 22:00, waited
    assert not [s for s in world.phone.to(MENTEE_PHONE) if in_quiet_hours(s)]


def test_a_reminder_held_by_quiet_hours_is_not_sent_if_the_mentee_answers_first(
        sched_world: WorldFactory) -> None:
    world = sched_world(london(2026, 3, 9, 12))
    world.add_people("tue 18:00")
    world.run_until(london(2026, 3, 11, 7))
    world.text_from(MENTEE_PHONE, "4")  # answers at 07:00, in quiet hours, before the reminder
    world.run_until(london(2026, 3, 11, 12))
    assert reminders(world) == []
    texts = [s.text for s in world.phone.to(MENTEE_PHONE)]
    assert "sleeping" in texts[-1]  # the reply to their answer went at once: it answers them


# ---- restarts and downtime -----------------------------------------------------------------------
def test_a_restart_mid_schedule_continues_without_losing_or_repeating_a_check_in(
        sched_world: WorldFactory) -> None:
    first = sched_world(london(2026, 3, 1))
    first.add_people("mon,thu 10:00")
    first.run_until(london(2026, 3, 12, 9), answering())
    first.run_until(london(2026, 3, 12, 10, 1))  # Thu 10:00: the opening went, not yet answered
    assert OPENING in first.phone.sent[-1].text
    first.svc.engine.dispose()  # the process stops mid-check-in

    second = sched_world(first.clock.now(), clock=first.clock)  # a new process, same database
    second.text_from(MENTEE_PHONE, "4")
    second.run_until(london(2026, 4, 10), answering())
    got = [s.local for s in openings(first) + openings(second)]
    expected = [datetime.combine(d, time(10), tzinfo=LONDON)
                for d in weekdays_between(date(2026, 3, 1), date(2026, 4, 10), {0, 3})]
    assert got == expected
    # The check-in open at the restart was finished by the new process, from its next question.
    assert "sleeping" in second.phone.to(MENTEE_PHONE)[0].text
    assert Counter(c.outcome for c in conversations(second)) == {"completed": len(expected)}


def test_claimed_rows_of_a_process_that_died_before_commit_are_handled_once_by_the_next(
        sched_world: WorldFactory) -> None:
    from bot.storage.schedule import DueEventRepo

    world = sched_world(london(2026, 3, 9, 9))
    world.add_people("mon 10:00")
    world.clock.set(london(2026, 3, 9, 10))
    with world.svc.sessions() as s:
        s.begin()
        assert len(DueEventRepo(s).claim_due(world.clock.now(), "dying-worker", 10)) == 1
        s.rollback()  # the process died before committing
    world.run_until(london(2026, 3, 9, 11))
    assert [s.local for s in openings(world)] == [london(2026, 3, 9, 10)]


def test_after_downtime_a_check_in_inside_its_late_window_goes_once(sched_world: WorldFactory) -> None:
    world = sched_world(london(2026, 3, 9, 8))
    world.add_people("mon 10:00")
    world.clock.set(london(2026, 3, 9, 12, 30))  # down from before 10:00 until 12:30
    world.run_until(london(2026, 3, 10, 12), answering())
    assert [s.local for s in openings(world)] == [london(2026, 3, 9, 12, 30)]


def test_after_long_downtime_stale_check_ins_are_recorded_missed_and_never_sent_in_a_burst(
        sched_world: WorldFactory) -> None:
    world = sched_world(london(2026, 3, 9, 8))
    world.add_people("daily 10:00")
    world.clock.set(london(2026, 3, 16, 13, 30))  # a week down; Monday's is 3.5 hours late
    from bot.service.ticker import plan_all

    plan_all(world.svc)  # `checkins serve` plans at start-up
    world.run_until(london(2026, 3, 18, 12), answering())
    assert [s.local for s in openings(world)] == [london(2026, 3, 17, 10), london(2026, 3, 18, 10)]
    with world.svc.sessions() as s:
        missed = s.scalars(select(DueEvent).where(DueEvent.status == "missed")).all()
    assert len(missed) == 8  # 9th to 16th March
    assert all("unavailable" in (m.note or "") for m in missed)


# ---- plans ---------------------------------------------------------------------------------------
def test_release_week_is_daily_then_the_regular_plan(sched_world: WorldFactory) -> None:
    world = sched_world(london(2026, 3, 9, 12))
    world.add_people("mon,thu 10:00", release_date="2026-03-10")
    world.run_until(london(2026, 3, 31), answering())
    days = [s.local.date() for s in openings(world)]
    daily = [date(2026, 3, 11) + timedelta(days=i) for i in range(7)]
    later = weekdays_between(date(2026, 3, 18), date(2026, 3, 31), {0, 3})
    assert days == daily + later
    assert all(s.local.time() == time(10) for s in openings(world))


def test_unanswered_daily_check_ins_still_go_out_every_day(sched_world: WorldFactory) -> None:
    """The expiry of yesterday's unanswered check-in falls due with today's: today's still goes."""
    world = sched_world(london(2026, 3, 9, 12))
    world.add_people("daily 10:00")
    world.run_until(london(2026, 3, 14, 12))
    assert [s.local.date() for s in openings(world)] == [date(2026, 3, d) for d in range(10, 15)]
    outcomes = [c.outcome for c in conversations(world)]
    assert outcomes == ["missed"] * 4 + ["open"]


def test_a_plan_change_replaces_future_check_ins_and_never_sends_stale_ones(
        sched_world: WorldFactory) -> None:
    world = sched_world(london(2026, 3, 9, 6))  # Monday
    mentee_id = world.add_people("mon,thu 07:00")
    world.run_until(london(2026, 3, 9, 7, 30))  # 07:00 was held back by quiet hours until 08:00
    assert openings(world) == []
    with world.svc.sessions() as s, s.begin():
        mentee = MenteeRepo(s).get(mentee_id)
        assert mentee is not None
        admin.set_plan(s, world.svc, mentee, "tue 15:00", world.clock.now())
    world.run_until(london(2026, 3, 25), answering())
    assert [s.local for s in openings(world)] == [
        london(2026, 3, 10, 15), london(2026, 3, 17, 15), london(2026, 3, 24, 15)]
    with world.svc.sessions() as s:
        stale = s.scalars(select(DueEvent).where(DueEvent.kind == "checkin", DueEvent.plan_version == 0)).all()
    assert stale and all(e.status == "cancelled" for e in stale)


def test_pause_cancels_the_open_check_in_and_sends_nothing_until_resumed(sched_world: WorldFactory) -> None:
    world = sched_world(london(2026, 3, 9, 9))
    mentee_id = world.add_people("mon,thu 10:00")
    world.run_until(london(2026, 3, 9, 11))
    assert len(openings(world)) == 1
    with world.svc.sessions() as s, s.begin():
        admin.pause(s, world.svc, MenteeRepo(s).get(mentee_id), world.clock.now())  # type: ignore[arg-type]
    world.run_until(london(2026, 3, 24, 9))
    assert len(openings(world)) == 1 and reminders(world) == []
    assert [c.outcome for c in conversations(world)] == ["cancelled"]
    with world.svc.sessions() as s, s.begin():
        admin.resume(s, world.svc, MenteeRepo(s).get(mentee_id), world.clock.now())  # type: ignore[arg-type]
    world.run_until(london(2026, 3, 31), answering())
    assert [s.local for s in openings(world)][1:] == [
        london(2026, 3, 26, 10), london(2026, 3, 30, 10)]  # no catch-up burst for the paused days


# ---- non-response --------------------------------------------------------------------------------
def test_reminder_then_expiry_then_missed_streak_concern_to_mentor_then_supervisor(
        sched_world: WorldFactory) -> None:
    world = sched_world(london(2026, 3, 8, 12))  # Sunday
    mentee_id = world.add_people("mon,thu 10:00")
    world.run_until(london(2026, 3, 13, 10, 5))  # Mon 9 and Thu 12 unanswered
    assert [s.local for s in reminders(world)] == [london(2026, 3, 9, 14), london(2026, 3, 12, 14)]
    assert [c.outcome for c in conversations(world)] == ["missed", "missed"]
    mentor = world.phone.to(MENTOR_PHONE)
    assert [m.local for m in mentor] == [london(2026, 3, 13, 10)]  # when the 2nd expired
    assert "no contact" in mentor[0].text.lower() and "2 check-ins missed" in mentor[0].text
    assert world.phone.to(SUPERVISOR_PHONE) == []
    with world.svc.sessions() as s:
        code = s.scalars(select(Alert.code)).one()
    world.text_from(MENTOR_PHONE, f"ACK {code}")  # the mentor takes it; the ladder stops
    world.run_until(london(2026, 3, 17, 12))  # Mon 16 unanswered too: the 3rd in a row
    assert [c.outcome for c in conversations(world)] == ["missed", "missed", "missed"]
    supervisor = world.phone.to(SUPERVISOR_PHONE)
    assert [m.local for m in supervisor] == [london(2026, 3, 17, 10)]  # after the 3rd
    with world.svc.sessions() as s:
        alerts = s.scalars(select(Alert)).all()
        assert alerts and {(a.category, a.severity) for a in alerts} == {("no_contact", "concern")}
        assert MenteeRepo(s).get(mentee_id).missed_streak == 3  # type: ignore[union-attr]
    # Answering resets the streak: the next miss does not alert again straight away.
    world.run_until(london(2026, 3, 24, 12), answering())
    with world.svc.sessions() as s:
        assert MenteeRepo(s).get(mentee_id).missed_streak == 0  # type: ignore[union-attr]


def test_a_scheduled_check_in_never_interrupts_one_in_progress(sched_world: WorldFactory) -> None:
    world = sched_world(london(2026, 3, 9, 9, 50))
    world.add_people("mon 10:00")
    world.text_from(MENTEE_PHONE, "CHECKIN")
    world.run_until(london(2026, 3, 9, 9, 55))
    world.text_from(MENTEE_PHONE, "3")  # mid-way through the on-demand check-in
    world.run_until(london(2026, 3, 9, 10, 5))
    assert len(openings(world)) == 1  # the 10:00 one did not start over it
    world.text_from(MENTEE_PHONE, "4")
    world.run_until(london(2026, 3, 9, 10, 6))
    assert "somewhere safe" in world.phone.to(MENTEE_PHONE)[-1].text
    with world.svc.sessions() as s:
        row = s.scalars(select(DueEvent).where(DueEvent.kind == "checkin")
                        .order_by(DueEvent.due_at)).first()
    assert row is not None and row.status == "skipped"


def test_checkin_on_demand_starts_at_once_even_at_night(sched_world: WorldFactory) -> None:
    world = sched_world(london(2026, 3, 9, 23))
    world.add_people("mon 10:00")
    world.text_from(MENTEE_PHONE, "checkin")
    world.run_until(london(2026, 3, 9, 23, 1))
    assert [s.local for s in openings(world)] == [london(2026, 3, 9, 23)]
    with world.svc.sessions() as s:
        conv = ConversationRepo(s).open_for(1)
        assert conv is not None and conv.trigger == "on_demand"
