"""Every operation on a mentee or an alert, for each role: a mentor acts on their own mentee and
gets NotFound for another mentor's; a supervisor on their team and not another's; the coordinator
on any; and each allowed operation leaves its audit entry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.app import alerts, mentees, messages, timeline
from bot.app.actor import Actor
from bot.app.errors import NotFound
from tests.bot.app.conftest import LEE_PHONE, SAM_PHONE, World

Op = Callable[[World, Actor, int], Any]


def _mark_read(w: World, who: Actor, mentee_id: int) -> int:
    w.text(SAM_PHONE if mentee_id == w.sam else LEE_PHONE, "hello, are you there?")
    return timeline.mark_read(w.svc, who, mentee_id)


MENTEE_OPS: dict[str, tuple[Op, str | None]] = {
    "record": (lambda w, a, m: timeline.record(w.svc, a, m), "mentee.view"),
    "mark read": (_mark_read, "mentee.read"),
    "reply": (lambda w, a, m: messages.reply_to_mentee(w.svc, a, m, "Hi, it's your mentor"),
              "mentee.reply"),
    "edit": (lambda w, a, m: mentees.edit(w.svc, a, m, mentees.MenteeChanges(last_name="T")),
             "mentee.edit"),
    "pause": (lambda w, a, m: mentees.pause(w.svc, a, m), "mentee.pause"),
    "resume": (lambda w, a, m: mentees.resume(w.svc, a, m), "mentee.resume"),
    "set plan": (lambda w, a, m: mentees.set_plan(w.svc, a, m, "mon,thu 10:00"), "mentee.plan"),
    "one-off": (lambda w, a, m: mentees.schedule_oneoff(w.svc, a, m, "2026-03-12 10:00"),
                "mentee.oneoff"),
    "check-in now": (lambda w, a, m: mentees.start_checkin(w.svc, a, m), "mentee.checkin"),
    "telegram link": (lambda w, a, m: mentees.link_code(w.svc, a, m), "mentee.link"),
    "schedule": (lambda w, a, m: mentees.schedule(w.svc, a, m), None),
}

ALERT_OPS: dict[str, tuple[Callable[[World, Actor, str], Any], str]] = {
    "detail": (lambda w, a, code: alerts.detail(w.svc, a, code), "alert.view"),
    "acknowledge": (lambda w, a, code: alerts.acknowledge(w.svc, a, code), "alert.acknowledge"),
    "note": (lambda w, a, code: alerts.add_note(w.svc, a, code, "Rang her; GP tomorrow"), "alert.note"),
    "close": (lambda w, a, code: alerts.close(w.svc, a, code, "Spoke to them; safe"), "alert.close"),
}

# (who acts, whose mentee, allowed)
CASES = [
    ("dan", "sam", True), ("dan", "lee", False),
    ("priya", "sam", True), ("priya", "lee", False),
    ("cora", "lee", True),
]


def _check(w: World, who: str, allowed: bool, action: str | None, call: Callable[[], Any],
           mentee_id: int) -> None:
    actor: Actor = getattr(w, who)
    if not allowed:
        with pytest.raises(NotFound):
            call()
        if action:
            assert [e for e in w.audited(action) if e.actor_label == actor.label] == []
        return
    call()
    if action:
        entries = [e for e in w.audited(action) if e.actor_label == actor.label]
        assert len(entries) == 1 and entries[0].mentee_id == mentee_id
        assert entries[0].actor_staff_id == actor.staff_id and entries[0].actor_kind == actor.kind


@pytest.mark.parametrize("who,whose,allowed", CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("op", list(MENTEE_OPS))
def test_a_mentee_operation_is_open_to_exactly_the_mentee_s_people(
        world: World, op: str, who: str, whose: str, allowed: bool) -> None:
    """Mentee operations follow the caseload: own, team, or everything for a coordinator."""
    call, action = MENTEE_OPS[op]
    mentee_id = getattr(world, whose)
    _check(world, who, allowed, action, lambda: call(world, getattr(world, who), mentee_id), mentee_id)


@pytest.mark.parametrize("who,whose,allowed", CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("op", list(ALERT_OPS))
def test_an_alert_operation_is_open_to_exactly_the_mentee_s_people(
        world: World, op: str, who: str, whose: str, allowed: bool) -> None:
    """Alert operations follow the mentee's caseload; another mentor's alert code is a 404."""
    call, action = ALERT_OPS[op]
    mentee_id = getattr(world, whose)
    code = world.crisis(SAM_PHONE if whose == "sam" else LEE_PHONE)
    _check(world, who, allowed, action, lambda: call(world, getattr(world, who), code), mentee_id)
