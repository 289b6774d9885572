"""The right flow for each person, through bot.app and the real service on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import alerts, mentees
from bot.app.errors import InvalidInput
from bot.config import Config
from bot.flows.files import DEFAULTS
from bot.service.flows import library
from bot.storage.models import Conversation, DueEvent, FlowVersion
from tests.bot.app.conftest import SAM_PHONE, World
from tests.conftest import RecordingPhone

CRISIS = "Got a rope and im doing it tonight, ive had enough"


def texts(world: World) -> list[str]:
    phone = world.svc.channels["console"]
    assert isinstance(phone, RecordingPhone)
    return phone.texts_for(SAM_PHONE)


def conversation(world: World) -> Conversation:
    with world.svc.sessions() as s:
        return s.scalars(select(Conversation).order_by(Conversation.id.desc())).first()  # type: ignore[return-value]


def test_a_plan_names_its_flow_and_a_check_in_uses_it(world: World) -> None:
    mentees.set_plan(world.svc, world.operator, world.sam, "mon 10:00", flow="monthly")
    mentees.start_checkin(world.svc, world.operator, world.sam)
    world.settle()
    assert "it's your monthly check-in" in texts(world)[-1]
    conv = conversation(world)
    assert (conv.flow_name, conv.flow_hash) == ("monthly", library(world.svc).get("monthly").digest)


def test_an_unknown_flow_is_refused_naming_the_known_ones(world: World) -> None:
    with pytest.raises(InvalidInput, match="unknown flow 'montly'; known: monthly, release_week, safe_check, weekly, welfare"):
        mentees.set_plan(world.svc, world.operator, world.sam, "mon 10:00", flow="montly")


def test_release_week_days_use_the_release_week_flow(world: World) -> None:
    release = world.clock.now().date() - timedelta(days=1)
    mentees.edit(world.svc, world.operator, world.sam, mentees.MenteeChanges(release_date=release.isoformat()))
    mentees.start_checkin(world.svc, world.operator, world.sam)
    world.settle()
    assert "Do you know where you are staying tonight?" in texts(world)[-1]


def test_schedule_show_lists_a_plan_that_starts_in_more_than_14_days(world: World) -> None:
    start = (world.clock.now() + timedelta(days=40)).date()
    mentees.set_plan(world.svc, world.operator, world.sam, "mon 10:00", start=start.isoformat())
    shown = mentees.schedule(world.svc, world.operator, world.sam, limit=3)
    assert len(shown.upcoming) == 3
    assert all(p.when.date() >= start and p.note == "planned" for p in shown.upcoming)
    with world.svc.sessions() as s:  # nothing is booked yet: the planner books 14 days ahead
        assert not s.scalars(select(DueEvent).where(DueEvent.kind == "checkin")).all()


def test_a_plan_time_in_quiet_hours_is_accepted_with_when_it_will_really_go(world: World) -> None:
    mentees.set_plan(world.svc, world.operator, world.sam, "tue 22:30")
    shown = mentees.schedule(world.svc, world.operator, world.sam)
    assert shown.upcoming
    [warning] = shown.warnings
    assert "22:30 GMT falls inside quiet hours (21:00-08:00): it will go at Wed" in warning
    assert warning.endswith("08:00 GMT")


def test_a_manual_check_in_waits_for_quiet_hours_unless_now(world: World) -> None:
    world.clock.set(datetime(2026, 3, 10, 22, 0, tzinfo=UTC))  # 22:00 GMT: quiet
    started = mentees.start_checkin(world.svc, world.operator, world.sam)
    world.settle()
    assert started.waits_until == datetime(2026, 3, 11, 8, 0, tzinfo=UTC)
    assert texts(world) == []
    world.clock.set(datetime(2026, 3, 11, 8, 0, 1, tzinfo=UTC))
    world.settle()
    assert "it's your check-in" in texts(world)[-1]


def test_a_manual_check_in_with_now_goes_at_once_in_quiet_hours(world: World) -> None:
    world.clock.set(datetime(2026, 3, 10, 22, 0, tzinfo=UTC))
    started = mentees.start_checkin(world.svc, world.operator, world.sam, now_anyway=True)
    world.settle()
    assert started.waits_until is None and "it's your check-in" in texts(world)[-1]


def test_closing_an_alert_books_a_welfare_follow_up_a_day_later(world: World) -> None:
    code = world.crisis()
    alerts.close(world.svc, world.operator, code, "spoke to Sam, safe with family")
    with world.svc.sessions() as s:
        [booked] = s.scalars(select(DueEvent).where(DueEvent.flow == "welfare")).all()
    assert booked.due_at == world.clock.now() + timedelta(hours=24)
    before = len(texts(world))
    world.clock.advance(hours=24, seconds=1)
    world.settle()
    assert texts(world)[before:] == ["Hi Sam, how are things since we spoke? Reply 1 to 5 "
                                     "(1 = really bad, 5 = really good)."]
    world.text(SAM_PHONE, "4")
    assert texts(world)[-1].startswith("Is there anything you want your mentor to know?")


def test_a_conversation_keeps_the_flow_version_it_started_on(world: World, tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    weekly = (DEFAULTS / "weekly.toml").read_text(encoding="utf-8")
    (folder / "weekly.toml").write_text(weekly, encoding="utf-8")
    svc = world.svc
    svc.config = Config(flows=type(svc.config.flows)(folder=str(folder)))
    svc.extras.clear()
    mentees.start_checkin(svc, world.operator, world.sam)
    world.settle()
    old = conversation(world).flow_hash
    # The coordinator rewords a question; the service restarts (a new library, nothing cached).
    (folder / "weekly.toml").write_text(weekly.replace("How have you been sleeping?",
                                                       "How is your sleep?"), encoding="utf-8")
    svc.extras.clear()
    world.text(SAM_PHONE, "4")
    assert texts(world)[-1].startswith("How have you been sleeping?")  # the version it began on
    with svc.sessions() as s:
        assert s.get(FlowVersion, ("weekly", old)) is not None
    for answer in ("4", "yes", "yes", "no"):
        world.text(SAM_PHONE, answer)
    assert conversation(world).outcome == "completed"
    mentees.start_checkin(svc, world.operator, world.sam)
    world.settle()
    world.text(SAM_PHONE, "4")
    assert texts(world)[-1].startswith("How is your sleep?")  # a new check-in: the new version
    assert conversation(world).flow_hash != old


def test_scheduled_check_ins_in_one_batch_each_get_their_own_flow_and_wording(world: World) -> None:
    from bot.app import safety
    from tests.bot.app.conftest import LEE_PHONE

    # Tuesday 10:30 now; both planned for 11:00 and started by the ticker in one batch.
    safety.change(world.svc, world.operator, world.sam,
                  safety.SafetyChanges(discreet=True, safe_to_text="ask"))
    mentees.set_plan(world.svc, world.operator, world.sam, "tue 11:00")
    mentees.set_plan(world.svc, world.operator, world.lee, "tue 11:00", flow="monthly")
    world.clock.advance(minutes=31)
    world.settle()
    phone = world.svc.channels["console"]
    assert isinstance(phone, RecordingPhone)
    assert phone.texts_for(SAM_PHONE) == [
        "Hi Sam, is this still a good number to text you on? Reply YES or NO."]
    assert "it's your monthly check-in" in phone.texts_for(LEE_PHONE)[0]
