"""The audit log as the coordinator reads it, and what the loops record in it."""

from __future__ import annotations

import pytest

from bot.app import audit, digests, imports, loops, timeline
from bot.app.errors import NotAllowed
from tests.bot.app.conftest import World


def test_the_audit_log_is_read_newest_first_and_filtered(world: World) -> None:
    """By actor label, by mentee (any ref), from a local date, and limited."""
    timeline.record(world.svc, world.dan, world.sam)
    timeline.record(world.svc, world.omar, world.lee)
    newest = audit.entries(world.svc, world.cora, limit=2)
    assert [e.actor for e in newest] == ["Omar Hill", "Dan Carter"]
    assert [e.action for e in audit.entries(world.svc, world.cora, by="dan carter")] == ["mentee.view"]
    by_mentee = audit.entries(world.svc, world.cora, mentee="Lee Jones")
    assert {e.action for e in by_mentee} == {"mentee.view", "mentee.add"}
    assert audit.entries(world.svc, world.cora, since="2026-03-11") == []
    assert len(audit.entries(world.svc, world.cora, since="2026-03-10")) == len(
        audit.entries(world.svc, world.cora))


def test_only_a_coordinator_reads_the_audit_log(world: World) -> None:
    """It names every mentee and staff member: admin only."""
    with pytest.raises(NotAllowed):
        audit.entries(world.svc, world.priya)


def test_a_retention_run_is_recorded_as_the_service(world: World) -> None:
    """What retention blanked is there to check; no words are."""
    world.text("+447700900123", "an old message")
    world.clock.advance(days=400)
    counts = loops.retention(world.svc)
    (entry,) = world.audited("retention.run")
    assert entry.actor_kind == "system" and counts["messages"] >= 1
    assert f"messages {counts['messages']}" in entry.detail and "old message" not in entry.detail


def test_an_import_is_recorded_with_its_id_and_counts(world: World) -> None:
    """One entry per import, rejected or not; the rows' contents are not in it."""
    text = ("first_name,last_name,phone,mentor,plan\n"
            "Kim,Lee,07700900140,Dan Carter,\nJo,,12345,Dan Carter,\n")
    done = imports.import_mentees(world.svc, world.cora, text, source="new.csv")
    assert (done.imported, [line for line, _ in done.rejected]) == (0, [3])
    (entry,) = world.audited("mentees.import")
    assert entry.target == done.import_id and entry.detail == "new.csv: 0 of 2 imported, 1 rejected"
    partial = imports.import_mentees(world.svc, world.cora, text, source="new.csv", partial=True)
    assert partial.imported == 1
    with pytest.raises(NotAllowed):
        imports.import_staff(world.svc, world.dan, "name\nKim\n")


def test_a_digest_is_each_person_s_own_unless_a_coordinator_asks(world: World) -> None:
    """A mentor reads their own, a supervisor their team's, the coordinator anyone's."""
    (own,) = digests.digest(world.svc, world.dan, week="2026-W11")
    assert own.staff_name == "Dan Carter" and "Sam" in own.text and "Lee" not in own.text
    (team,) = digests.digest(world.svc, world.priya)
    assert team.staff_name == "Priya Shah"
    with pytest.raises(NotAllowed):
        digests.digest(world.svc, world.dan, of="Omar Hill")
    assert [p.staff_name for p in digests.digest(world.svc, world.cora)] == [
        "Priya Shah", "Zoe King", "Dee Duty"]
    (other,) = digests.digest(world.svc, world.cora, of="Omar Hill", week="2026-W11", export=True)
    assert "Lee" in other.text
    assert [e.action for e in world.audited("digest.export")] == ["digest.export"]
