"""The application layer's own queries on PostgreSQL: refs, read markers, unread counts, the
audit log and an alert's life (the rest of the suite runs them on SQLite)."""

from __future__ import annotations


import pytest

from bot.app import alerts, audit, mentees, messages, staff, timeline
from tests.bot.app.conftest import SAM_PHONE, World

pytestmark = pytest.mark.postgres


def test_refs_read_markers_and_the_audit_log_work_on_postgresql(pg_world: World) -> None:
    """Find by full name and by phone as typed, count and mark unread, read the log back."""
    w = pg_world
    assert mentees.schedule(w.svc, w.cora, "sam taylor").mentee.id == w.sam
    assert mentees.schedule(w.svc, w.cora, "07700 900123").mentee.id == w.sam
    assert mentees.schedule(w.svc, w.cora, "07700900123").mentee.id == w.sam  # not an id: too big
    assert staff.resume(w.svc, w.cora, "07700900001").name == "Dan Carter"
    w.text(SAM_PHONE, "can you call me")
    assert mentees.list_mentees(w.svc, w.dan)[0].unread == 1
    assert timeline.mark_read(w.svc, w.dan, w.sam) == 1
    assert mentees.list_mentees(w.svc, w.dan)[0].unread == 0
    messages.reply_to_mentee(w.svc, w.dan, w.sam, "Yes, at 3")
    actions = [e.action for e in audit.entries(w.svc, w.cora, by="Dan Carter", mentee="Sam")]
    assert actions == ["mentee.reply", "mentee.read"]


def test_an_alert_is_acknowledged_noted_and_closed_on_postgresql(pg_world: World) -> None:
    """The whole life of an alert through the application layer."""
    w = pg_world
    code = w.crisis()
    assert [a.code for a in alerts.list_alerts(w.svc, w.dee)] == [code]
    alerts.acknowledge(w.svc, w.dan, code)
    alerts.add_note(w.svc, w.dan, code, "Called; safe tonight")
    alerts.close(w.svc, w.priya, code, "GP seen")
    detail = alerts.detail(w.svc, w.cora, code)
    assert detail.closed_by == "Priya Shah"
    assert [h.kind for h in detail.history][-2:] == ["note", "closed"]
