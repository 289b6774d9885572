"""The admin pages' own queries on PostgreSQL: the audit page's search (filters, pages), an
import and the digest online (the HTTP tests run them on SQLite)."""

from __future__ import annotations


import pytest

from bot.app import audit, digests, imports, mentees
from bot.app.admin import mentee_details
from tests.bot.app.conftest import World

pytestmark = pytest.mark.postgres


def test_admin_operations_and_the_audit_search_on_postgresql(pg_world: World) -> None:
    w = pg_world
    done = imports.import_mentees(w.svc, w.cora, "first_name,mentor,phone\nAmy,Dan Carter,07700900501\n",
                                  source="a.csv")
    assert done.imported == 1
    mentees.set_plan(w.svc, w.cora, w.sam, "daily 10:00")
    assert mentee_details(w.svc, w.cora, w.sam).mentee.plan == "daily 10:00"
    digests.digest(w.svc, w.priya, week="2026-W11", export=True)
    today = w.clock.now().date().isoformat()
    edits = audit.search(w.svc, w.cora, person=w.cora.staff_id, action="edit", since=today, until=today)
    assert [line.action for line in edits.lines] == ["mentee.plan"]
    assert [line.action for line in audit.search(w.svc, w.cora, action="import").lines] == ["mentees.import"]
    assert audit.search(w.svc, w.cora, action="export").lines[0].actor == "Priya Shah"
    first = audit.search(w.svc, w.cora, per_page=3)
    second = audit.search(w.svc, w.cora, per_page=3, page=2)
    assert first.more and len(first.lines) == 3
    assert second.page == 2 and second.lines
    assert [e.at for e in first.lines] == sorted((e.at for e in first.lines), reverse=True)
