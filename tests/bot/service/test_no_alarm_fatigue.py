"""No alarm fatigue (issue 10): a mentee who stops answering for months raises one no-contact
alert and a handful of pages, not hundreds. Driven like `checkins serve` (daily planning, ticks,
outbox) from one stored wake-up to the next, on a real database and a manual clock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.service import admin
from bot.storage.models import Alert, Staff
from tests.bot.service.conftest import WorldFactory
from tests.bot.service.world import MENTEE_PHONE, MENTOR_PHONE, SUPERVISOR_PHONE, World, london

DUTY_PHONE = "+447700900003"


def _add_duty(world: World) -> None:
    with world.svc.sessions() as s, s.begin():
        admin.add_staff(s, world.clock.now(), name="Dee Duty", role="coordinator", phone=DUTY_PHONE,
                        channels="sms", duty=True)


def _alerts(world: World) -> list[Alert]:
    with world.svc.sessions() as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def _pages(world: World) -> dict[str, int]:
    return {who: len(world.phone.to(phone))
            for who, phone in (("mentor", MENTOR_PHONE), ("supervisor", SUPERVISOR_PHONE),
                               ("duty", DUTY_PHONE))}


def test_110_silent_days_make_one_no_contact_alert_and_a_handful_of_pages(
        sched_world: WorldFactory) -> None:
    world = sched_world(london(2026, 1, 5, 9))
    world.add_people("mon,thu 10:00")
    _add_duty(world)
    world.run_until(london(2026, 1, 5, 9) + timedelta(days=110))  # the mentee never answers

    [alert] = _alerts(world)
    assert (alert.category, alert.status) == ("no_contact", "open")
    assert "32 check-ins missed" in alert.evidence  # the summary keeps up with the misses
    pages = _pages(world)
    # Mentor at once; mentor and supervisor within the hour; all three after a day; then all
    # three again 1, 3, 7, 15, 31 and 63 days after that: 24 pages in 110 days (before this
    # change the same run made 31 alerts and 4,983 staff texts).
    assert pages == {"mentor": 9, "supervisor": 8, "duty": 7}, pages
    assert len(world.phone.to(MENTEE_PHONE)) == 32 * 2  # each check-in and its one reminder


def test_once_a_human_closes_the_no_contact_alert_further_misses_open_a_new_one(
        sched_world: WorldFactory) -> None:
    from bot.service import alerting

    world = sched_world(london(2026, 1, 5, 9))
    world.add_people("mon,thu 10:00")
    world.run_until(london(2026, 1, 13, 9))  # Mon 5, Thu 8, Mon 12 missed
    [alert] = _alerts(world)
    with world.svc.sessions() as s, s.begin():
        alerting.close(s, alert.code, "rang them: phone was broken", "Dan Carter", world.clock.now())
    world.run_until(london(2026, 1, 20, 9))  # Thu 15 and Mon 19 missed: a new run, a new alert
    alerts = _alerts(world)
    assert [(a.category, a.status) for a in alerts] == [("no_contact", "closed"), ("no_contact", "open")]
    assert "4 check-ins missed" in alerts[1].evidence  # still none answered since the first


def test_a_paused_mentor_gets_nothing_and_their_supervisor_is_told_instead(
        sched_world: WorldFactory) -> None:
    world = sched_world(london(2026, 1, 5, 9))
    world.add_people("mon,thu 10:00")
    with world.svc.sessions() as s, s.begin():
        mentor = s.scalars(select(Staff).where(Staff.name == "Dan Carter")).one()
        admin.set_staff_active(s, mentor, False)
    world.text_from(MENTEE_PHONE, "hiya")
    world.run_until(london(2026, 1, 10, 9))  # Mon 5 and Thu 8 missed: a no-contact alert
    assert world.phone.to(MENTOR_PHONE) == []
    told = [s.text for s in world.phone.to(SUPERVISOR_PHONE)]
    assert any("sent you a message between check-ins" in t for t in told)
    assert any(t.startswith("CONCERN Sam T.: no contact.") for t in told)
