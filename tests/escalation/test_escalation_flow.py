"""Escalation end to end: a risk reaches a human, is acknowledged, or climbs until it is.

Real parts throughout (see escalation_world): the service's own passes over a SQLite file (and
PostgreSQL when CHECKINS_TEST_POSTGRES_URL is set), twilio and python-telegram-bot clients
against fake provider APIs, SMTP to aiosmtpd, and a ManualClock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.service import checkins
from bot.storage.people import MenteeRepo
from escalation.replies import DA_UNSAFE_WORDS, NEVER_SAY
from tests.escalation.escalation_world import (
    MENTEE_PHONE,
    MENTOR_CHAT,
    MENTOR_PHONE,
    OTHER_MENTOR_PHONE,
    STRANGER_PHONE,
    SUPERVISOR_CHAT,
    World,
    running_world,
)
from tests.fakes.telegram_server import TelegramFault
from tests.fakes.twilio_server import TwilioFault

LONDON = ZoneInfo("Europe/London")
# A Tuesday mid-morning in London (GMT): outside the default 21:00-08:00 quiet hours.
START = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)
CRISIS = "Got a rope and im doing it tonight, ive had enough"
CRISIS_AGAIN = "got all my pills ready for tonight"
CONCERN = "sometimes I wish I could go to sleep and not wake up"
ABUSE = "my partner tried to strangle me last night and I am scared to go home"
HELPLINES = ("999", "116 123", "85258", "111, option 2")


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """The service with fakes around it, a mentee, their mentor and supervisor, and a duty contact.

    Channel lists: mentor sms,telegram,email; supervisor telegram,email; duty email.
    """
    url = (f"sqlite:///{tmp_path / 'checkins.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    with running_world(url, ManualClock(START)) as w:
        w.add_people()
        yield w


def _alert_sms(world: World) -> list[str]:
    return [b for b in world.sms_to(MENTOR_PHONE) if "ACK" in b]


# ---- the first page --------------------------------------------------------------------------
def test_a_crisis_text_gets_helplines_at_once_and_pages_mentor_and_supervisor_on_their_channels(
    world: World,
) -> None:
    world.sms_from(MENTEE_PHONE, CRISIS)
    world.run()

    alert = world.alert()
    assert (alert.category, alert.severity, alert.status) == ("crisis", "urgent", "open")
    # The mentee: warm lead and every crisis helpline, sent at once, their words never echoed.
    to_mentee = world.sms_to(MENTEE_PHONE)
    joined = " ".join(to_mentee)
    assert "Your mentor has been told" in joined
    for number in HELPLINES:
        assert number in joined
    assert all(NEVER_SAY.search(text) is None for text in to_mentee)
    assert "rope" not in joined.lower()
    # The mentor's first channel is SMS: one segment, first name and initial, the code.
    [page] = world.sms_to(MENTOR_PHONE)
    assert page.startswith("URGENT Jo B.: crisis")
    assert f"Reply ACK {alert.code}" in page
    assert "Bloggs" not in page and len(page) <= 160
    # The supervisor's first channel is Telegram, with an Acknowledge button.
    [tg] = world.telegram_to(SUPERVISOR_CHAT)
    assert f"ACK {alert.code}" in tg["text"]
    assert tg["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"ack:{alert.code}"
    # Nobody else: not the duty contact yet, and each person on one channel only.
    assert world.emails_to("duty@bridges.example") == []
    assert world.telegram_to(MENTOR_CHAT) == [] and world.emails_to("maya@bridges.example") == []
    kinds = world.event_kinds(alert)
    assert kinds[0] == "raised" and kinds.count("queued") == 2 and kinds.count("notified") == 2
    # The next rung is a row, due 15 minutes after the alert was raised.
    [rung] = [r for r in world.ladder_rows(alert) if r.status == "pending"]
    assert rung.due_at == START + timedelta(minutes=15)


def test_staff_with_email_first_get_the_alert_by_email_with_subject_and_the_code(tmp_path: Path) -> None:
    with running_world(f"sqlite:///{tmp_path / 'c.db'}", ManualClock(START)) as world:
        world.add_people(mentor_channels="email,sms", supervisor_channels="sms")
        world.sms_from(MENTEE_PHONE, CRISIS)
        world.run()
        code = world.alert().code
        [email] = world.emails_to("maya@bridges.example")
        assert email["Subject"] == f"[URGENT] Jo B.: crisis/self-harm risk - reply ACK {code}"
        body = email.get_content()
        assert "call 999" in body and f"checkins alerts show {code}" in body
        assert world.sms_to(MENTOR_PHONE) == []
        assert [b for b in world.sms_to("+447700900102") if f"ACK {code}" in b]


# ---- acknowledgement -------------------------------------------------------------------------
def test_ack_by_sms_from_the_mentor_stops_the_ladder(world: World) -> None:
    world.sms_from(MENTEE_PHONE, CRISIS)
    world.run()
    code = world.alert().code
    world.clock.advance(minutes=4)
    world.sms_from(MENTOR_PHONE, f"ack {code.lower()}")
    world.run()

    alert = world.alert()
    assert alert.status == "acknowledged"
    assert alert.acknowledged_by == world.people.mentor_id  # type: ignore[union-attr]
    assert alert.ack_via == "sms"
    assert alert.acknowledged_at == START + timedelta(minutes=4)
    assert world.sms_to(MENTOR_PHONE)[-1] == (
        f"Thanks. Alert {code} for Jo B. is acknowledged and the reminders have stopped.")
    assert {r.status for r in world.ladder_rows(alert)} <= {"cancelled", "done"}
    sent = len(world.twilio.messages) + len(world.telegram.sent) + len(world.inbox.messages)
    world.at(START + timedelta(hours=2))
    assert len(world.twilio.messages) + len(world.telegram.sent) + len(world.inbox.messages) == sent
    assert "re-escalated" not in world.event_kinds(alert)


def test_the_telegram_acknowledge_button_records_the_supervisor(world: World) -> None:
    world.sms_from(MENTEE_PHONE, CRISIS)
    world.run()
    code = world.alert().code
    world.telegram_update(world.telegram.callback_update(SUPERVISOR_CHAT, f"ack:{code}"))
    world.run()

    alert = world.alert()
    assert (alert.status, alert.ack_via) == ("acknowledged", "telegram")
    assert alert.acknowledged_by == world.people.supervisor_id  # type: ignore[union-attr]
    assert len(world.telegram.answered_queries) == 1  # the button's spinner stopped
    assert f"Alert {code} for Jo B. is acknowledged" in world.telegram_to(SUPERVISOR_CHAT)[-1]["text"]
    world.at(START + timedelta(minutes=45))
    assert world.emails_to("duty@bridges.example") == []


def test_an_ack_from_staff_not_linked_to_the_mentee_is_refused_politely(world: World) -> None:
    world.sms_from(MENTEE_PHONE, CRISIS)
    world.run()
    code = world.alert().code
    world.sms_from(OTHER_MENTOR_PHONE, f"ACK {code}")
    world.sms_from(STRANGER_PHONE, f"ACK {code}")
    world.run()

    alert = world.alert()
    assert alert.status == "open" and alert.acknowledged_at is None
    [refusal] = world.sms_to(OTHER_MENTOR_PHONE)
    assert refusal.startswith(f"Sorry, we can't acknowledge {code}")
    assert "Jo" not in refusal  # a refusal reveals nothing about the mentee
    [stranger] = world.sms_to(STRANGER_PHONE)
    assert stranger.startswith("Sorry, this number isn't linked")
    refused = [e for e in world.events(alert) if e.kind == "ack_refused"]
    assert [e.staff_id for e in refused] == [world.people.other_mentor_id]  # type: ignore[union-attr]
    # The ladder carries on as if nothing had been said.
    world.at(START + timedelta(minutes=15))
    assert "re-escalated" in world.event_kinds(alert)


# ---- the ladder ------------------------------------------------------------------------------
def test_without_an_ack_the_alert_climbs_to_the_duty_contact_at_15_minutes_and_repeats(
    world: World,
) -> None:
    world.sms_from(MENTEE_PHONE, CRISIS)
    world.run()
    alert = world.alert()

    world.at(START + timedelta(minutes=14, seconds=59))
    assert len(_alert_sms(world)) == 1 and world.emails_to("duty@bridges.example") == []

    world.at(START + timedelta(minutes=15))
    assert _alert_sms(world)[-1].startswith("STILL NOT ACKED 15 min: URGENT Jo B.")
    assert world.telegram_to(SUPERVISOR_CHAT)[-1]["text"].startswith("STILL NOT ACKED 15 min")
    [duty] = world.emails_to("duty@bridges.example")
    assert duty["Subject"].startswith("STILL NOT ACKED 15 min: [URGENT] Jo B.")
    assert duty["Subject"].endswith(f"reply ACK {alert.code}")

    world.at(START + timedelta(minutes=30))
    assert _alert_sms(world)[-1].startswith("STILL NOT ACKED 30 min")
    assert len(world.emails_to("duty@bridges.example")) == 2
    assert len(world.telegram_to(SUPERVISOR_CHAT)) == 3

    steps = [e.detail for e in world.events(alert) if e.kind == "re-escalated"]
    assert steps == ["step 2", "step 3"]
    # The duty contact can take it from there.
    world.sms_from("+447700900103", f"ACK {alert.code}")
    world.run()
    assert world.alert().acknowledged_by == world.people.duty_id  # type: ignore[union-attr]


def test_the_ladder_continues_after_a_restart(world: World) -> None:
    world.sms_from(MENTEE_PHONE, CRISIS)
    world.run()
    code = world.alert().code

    world.restart()  # the timer is a row in the database, not memory
    world.at(START + timedelta(minutes=15))
    assert _alert_sms(world)[-1].startswith("STILL NOT ACKED 15 min")
    assert len(world.emails_to("duty@bridges.example")) == 1

    world.restart()
    world.clock.set(START + timedelta(minutes=20))
    world.sms_from(MENTOR_PHONE, f"ACK {code}")
    world.run()
    world.restart()
    world.at(START + timedelta(hours=1))
    assert world.alert().status == "acknowledged"
    # No more rungs after the ACK: the duty contact's only other email says who has it.
    ladder, taken = world.emails_to("duty@bridges.example")
    assert "has taken this alert" in taken["Subject"] and "STILL NOT ACKED" not in taken["Subject"]


def test_after_downtime_the_ladder_sends_one_catch_up_not_a_burst(world: World) -> None:
    world.sms_from(MENTEE_PHONE, CRISIS)
    world.run()
    world.restart()
    world.at(START + timedelta(minutes=50))  # three rungs were due while the service was down
    assert len(world.emails_to("duty@bridges.example")) == 1
    assert _alert_sms(world)[-1].startswith("STILL NOT ACKED 50 min")
    [rung] = [r for r in world.ladder_rows(world.alert()) if r.status == "pending"]
    assert rung.due_at == START + timedelta(minutes=60)


# ---- channels failing ------------------------------------------------------------------------
def test_a_staff_channel_failing_permanently_falls_back_to_the_next(world: World) -> None:
    world.twilio.fail_recipient(MENTOR_PHONE, TwilioFault.unsubscribed())  # 21610
    world.telegram.fail_chat(MENTOR_CHAT, TelegramFault.blocked())  # 403
    world.sms_from(MENTEE_PHONE, CRISIS)
    world.run()

    alert = world.alert()
    [email] = world.emails_to("maya@bridges.example")
    assert email["Subject"] == f"[URGENT] Jo B.: crisis/self-harm risk - reply ACK {alert.code}"
    mentor = world.people.mentor_id  # type: ignore[union-attr]
    trail = [(e.kind, e.channel) for e in world.events(alert) if e.staff_id == mentor]
    assert trail == [("queued", "sms"), ("failed", "sms"), ("fallback", "telegram"),
                     ("failed", "telegram"), ("fallback", "email"), ("notified", "email")]
    # A staff number refusing texts says nothing about the mentee: they stay reachable.
    mentee = world.mentee()
    assert mentee.sms_reachable and mentee.unreachable_since is None
    assert [a.category for a in world.alerts()] == ["crisis"]
    # Later rungs go straight to the channel that works.
    world.at(START + timedelta(minutes=15))
    assert len(world.emails_to("maya@bridges.example")) == 2
    assert [r for r in world.twilio.requests if r.form.get("To") == MENTOR_PHONE].__len__() == 1


def test_a_telegram_block_for_the_supervisor_falls_back_to_email_with_the_same_alert(world: World) -> None:
    world.telegram.fail_chat(SUPERVISOR_CHAT, TelegramFault.blocked())
    world.sms_from(MENTEE_PHONE, CRISIS)
    world.run()
    code = world.alert().code
    [email] = world.emails_to("sam@bridges.example")
    assert email["Subject"].endswith(f"reply ACK {code}")
    assert world.telegram.sent == []


def test_a_transient_failure_is_retried_on_the_same_channel(world: World) -> None:
    world.twilio.fail_next(TwilioFault.server_error())
    world.sms_from(MENTEE_PHONE, CRISIS)
    world.run()
    world.at(world.clock.now() + timedelta(seconds=5))
    alert = world.alert()
    assert len([b for b in _alert_sms(world) if alert.code in b]) == 1
    assert world.emails_to("maya@bridges.example") == []
    assert any(e.kind == "notified" and e.channel == "sms" for e in world.events(alert))


# ---- folding and upgrading -------------------------------------------------------------------
def test_a_duplicate_flag_folds_into_the_open_alert_without_a_second_page(world: World) -> None:
    world.sms_from(MENTEE_PHONE, CRISIS)
    world.run()
    pages = len(_alert_sms(world)), len(world.telegram_to(SUPERVISOR_CHAT))
    world.clock.advance(minutes=5)
    world.sms_from(MENTEE_PHONE, CRISIS_AGAIN)
    world.run()

    alert = world.alert()
    assert (len(_alert_sms(world)), len(world.telegram_to(SUPERVISOR_CHAT))) == pages
    assert world.event_kinds(alert).count("folded") == 1
    # The mentee is still answered with the helplines, whatever the alert's state.
    assert sum("116 123" in t for t in world.sms_to(MENTEE_PHONE)) == 2
    # Folding does not push the ladder back.
    world.at(START + timedelta(minutes=15))
    assert "re-escalated" in world.event_kinds(alert)


def test_a_concern_then_an_urgent_message_upgrades_the_same_alert_and_pages_at_once(world: World) -> None:
    world.sms_from(MENTEE_PHONE, CONCERN)
    world.run()
    first = world.alert()
    assert first.severity == "concern"
    assert len(_alert_sms(world)) == 1 and world.telegram_to(SUPERVISOR_CHAT) == []  # mentor only
    assert _alert_sms(world)[0].startswith("CONCERN Jo B.")

    world.clock.advance(minutes=30)
    world.sms_from(MENTEE_PHONE, CRISIS)
    world.run()
    alert = world.alert()
    assert alert.code == first.code and alert.severity == "urgent"
    assert "upgraded" in world.event_kinds(alert)
    assert _alert_sms(world)[-1].startswith("URGENT Jo B.")
    assert len(world.telegram_to(SUPERVISOR_CHAT)) == 1
    # The urgent ladder counts from the upgrade.
    upgraded_at = START + timedelta(minutes=30)
    [rung] = [r for r in world.ladder_rows(alert) if r.status == "pending"]
    assert rung.due_at == upgraded_at + timedelta(minutes=15)
    world.at(upgraded_at + timedelta(minutes=15))
    assert len(world.emails_to("duty@bridges.example")) == 1


# ---- quiet hours ------------------------------------------------------------------------------
def test_quiet_hours_delay_neither_the_safety_reply_nor_staff_alerts(world: World) -> None:
    two_am = datetime(2026, 3, 11, 2, 0, tzinfo=LONDON)
    world.clock.set(two_am)
    world.sms_from(MENTEE_PHONE, CRISIS)
    world.run()

    assert any("116 123" in t for t in world.sms_to(MENTEE_PHONE))
    assert len(_alert_sms(world)) == 1 and len(world.telegram_to(SUPERVISOR_CHAT)) == 1
    assert {m.sent_at for m in world.outbound() if m.purpose in ("safety", "alert")} == {two_am}
    # The ladder climbs at night too.
    world.at(two_am + timedelta(minutes=15))
    assert len(world.emails_to("duty@bridges.example")) == 1
    # ...while an ordinary check-in question waits for the morning.
    with world.svc.sessions() as s, s.begin():
        mentee = MenteeRepo(s).get(world.people.mentee_id)  # type: ignore[union-attr]
        checkins.start(s, world.svc, mentee, world.clock.now(), trigger="oneoff",  # type: ignore[arg-type]
                       due_at=world.clock.now())
    world.run()
    held = [m for m in world.outbound() if m.purpose == "flow"]
    assert held and all(m.status == "pending" for m in held)
    assert held[0].next_attempt_at == datetime(2026, 3, 11, 8, 0, tzinfo=LONDON)


# ---- what the mentee is told -----------------------------------------------------------------
def test_the_domestic_abuse_reply_is_neutral(world: World) -> None:
    world.sms_from(MENTEE_PHONE, ABUSE)
    world.run()

    alert = world.alert()
    assert (alert.category, alert.severity) == ("domestic_abuse", "urgent")
    replies = world.sms_to(MENTEE_PHONE)
    joined = " ".join(replies).lower()
    assert "0808 2000 247" in joined and "999" in joined
    words = set(joined.replace(".", " ").replace(",", " ").split())
    assert words.isdisjoint(DA_UNSAFE_WORDS)
    assert "has been told" not in joined and "strangle" not in joined
    # Staff are still told what it is.
    assert "domestic abuse" in _alert_sms(world)[0]


def test_a_housing_alert_prompts_duty_to_refer_and_the_flow_records_consent_and_council(
    world: World,
) -> None:
    world.sms_from(MENTEE_PHONE, "CHECKIN")
    world.run()
    for answer in ("3", "3", "NO"):  # mood, sleep, somewhere safe to stay tonight?
        world.sms_from(MENTEE_PHONE, answer)
        world.run()

    alert = world.alert()
    assert (alert.category, alert.severity) == ("housing", "urgent")
    code = alert.code
    mentor_texts = world.sms_to(MENTOR_PHONE)
    assert mentor_texts[0].startswith("URGENT Jo B.: housing")
    assert mentor_texts[1].startswith(f"{code} housing:") and "Duty to Refer" in mentor_texts[1]
    assert "consent" in mentor_texts[1] and "56 days" in mentor_texts[1]
    assert world.sms_to(MENTEE_PHONE)[-1].startswith("Thanks for telling us.")  # the consent question

    world.sms_from(MENTEE_PHONE, "yes")
    world.run()
    world.sms_from(MENTEE_PHONE, "Leeds")
    world.run()
    alert = world.alert()
    assert alert.housing_consent is True and alert.housing_council == "Leeds"
    details = [e.detail for e in world.events(alert) if e.kind == "housing"]
    assert details == ["consent to Duty to Refer: yes", "chosen council: Leeds"]


def test_a_housing_alert_by_email_carries_the_duty_to_refer_advice(tmp_path: Path) -> None:
    with running_world(f"sqlite:///{tmp_path / 'c.db'}", ManualClock(START)) as world:
        world.add_people(mentor_channels="email")
        world.sms_from(MENTEE_PHONE, "kicked out of the hostel, got nowhere to sleep tonight")
        world.run()
        [email] = world.emails_to("maya@bridges.example")
        body = email.get_content()
        assert "Duty to Refer" in body and "56 days" in body and "consent" in body
        assert any("Shelter 0808 800 4444" in t for t in world.sms_to(MENTEE_PHONE))


# ---- non-engagement ----------------------------------------------------------------------------
def _miss_a_checkin(world: World) -> None:
    with world.svc.sessions() as s, s.begin():
        mentee = MenteeRepo(s).get(world.people.mentee_id)  # type: ignore[union-attr]
        checkins.start(s, world.svc, mentee, world.clock.now(), trigger="on_demand")  # type: ignore[arg-type]
    world.run()
    world.at(world.clock.now() + timedelta(hours=24, minutes=1))  # the check-in expires unanswered


def test_missed_checkins_raise_a_no_contact_concern_for_the_mentor_then_the_supervisor(world: World) -> None:
    _miss_a_checkin(world)
    assert world.alerts() == []
    _miss_a_checkin(world)
    alert = world.alert()
    assert (alert.category, alert.severity) == ("no_contact", "concern")
    assert "2 check-ins missed" in alert.evidence
    page = _alert_sms(world)[-1]
    assert page.startswith("CONCERN Jo B.: no contact.") and alert.code in page
    assert world.telegram_to(SUPERVISOR_CHAT) == []

    # Nobody acknowledged: within the hour the concern climbs to the supervisor.
    world.at(world.clock.now() + timedelta(minutes=59))
    assert world.telegram_to(SUPERVISOR_CHAT) == []
    world.at(world.clock.now() + timedelta(minutes=1))
    [tg] = world.telegram_to(SUPERVISOR_CHAT)
    assert tg["text"].startswith("STILL NOT ACKED 1 h: CONCERN Jo B.: no contact.")

    # The third miss folds into the same alert (no alarm fatigue): its summary keeps count, and
    # the supervisor, already on it, is not paged again for it.
    told = len(world.telegram_to(SUPERVISOR_CHAT))
    _miss_a_checkin(world)
    alert = world.alert()
    assert "3 check-ins missed" in alert.evidence
    assert not any("3 check-ins missed" in m["text"] for m in world.telegram_to(SUPERVISOR_CHAT)[told:])


def test_an_unreachable_mentee_raises_a_no_contact_concern(world: World) -> None:
    world.twilio.fail_recipient(MENTEE_PHONE, TwilioFault.unsubscribed())
    world.sms_from(MENTEE_PHONE, "CHECKIN")
    world.run()

    mentee = world.mentee()
    assert not mentee.sms_reachable and mentee.unreachable_since is not None
    alert = world.alert()
    assert (alert.category, alert.severity) == ("no_contact", "concern")
    assert "can't reach them" in alert.evidence
    assert any(alert.code in t for t in world.sms_to(MENTOR_PHONE))


def test_a_staff_alert_reported_undelivered_later_falls_back_to_the_next_channel(world: World) -> None:
    """Twilio took the mentor's SMS, then its status callback says it never arrived."""
    from bot.channels.base import StatusUpdate
    from bot.service.sink import DatabaseSink

    world.sms_from(MENTEE_PHONE, CRISIS)
    world.run()
    alert = world.alert()
    [sms] = [m for m in world.outbound() if m.channel == "sms" and m.alert_id == alert.id
             and m.address == MENTOR_PHONE]
    assert sms.provider_id and not world.telegram_to(MENTOR_CHAT)
    DatabaseSink(world.svc).store_status_sync(
        StatusUpdate(channel="sms", provider_id=sms.provider_id, status="undelivered", error_code="30003"))
    world.run()
    [page] = world.telegram_to(MENTOR_CHAT)
    assert alert.code in page["text"]
    mentor = world.people.mentor_id  # type: ignore[union-attr]
    trail = [(e.kind, e.channel) for e in world.events(alert) if e.staff_id == mentor]
    assert ("failed", "sms") in trail and ("fallback", "telegram") in trail
    assert world.mentee().sms_reachable  # a staff phone's trouble says nothing about the mentee
