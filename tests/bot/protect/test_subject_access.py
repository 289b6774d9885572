"""Subject-access export, erasure and retention by hand, through bot.app, on both databases."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import alerts, digests, messages, mentees, protect
from bot.app.errors import InvalidInput, NotAllowed
from bot.storage.models import (
    Alert,
    AlertEvent,
    AlertNote,
    Answer,
    AuditEntry,
    Conversation,
    DueEvent,
    Mentee,
    Message,
    RiskFlag,
)
from bot.storage.people import MenteeRepo
from tests.bot.app.conftest import SAM_PHONE, World
from tests.bot.protect.conftest import CRISIS

NOTE = "Called his sister, she is with him"
OUTCOME = "Crisis team visited; safe"


def sam_story(w: World) -> str:
    """Sam texts, answers a check-in, sends a crisis text; Dan replies and notes; returns the code."""
    w.text(SAM_PHONE, "hello are you there")
    mentees.start_checkin(w.svc, w.operator, w.sam)
    w.settle()
    w.text(SAM_PHONE, "4")
    w.text(SAM_PHONE, "not sleeping, worried about court")
    w.text(SAM_PHONE, CRISIS)
    code = next(a.code for a in alerts.list_alerts(w.svc, w.cora) if a.category == "crisis")
    alerts.acknowledge(w.svc, w.dan, code)
    alerts.add_note(w.svc, w.dan, code, NOTE)
    messages.reply_to_mentee(w.svc, w.dan, w.sam, "Ringing you now", send_now_anyway=True)
    w.settle()
    return code


def count(w: World, model: type, *where: object) -> int:
    with w.svc.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_the_export_holds_every_stored_item_about_the_mentee(dp_world: World) -> None:
    w = dp_world
    code = sam_story(w)
    alert_ids = select(Alert.id).where(Alert.mentee_id == w.sam)
    expected = {
        "messages": count(w, Message, Message.mentee_id == w.sam),
        "answers": count(w, Answer, Answer.mentee_id == w.sam),
        "conversations": count(w, Conversation, Conversation.mentee_id == w.sam),
        "alerts": count(w, Alert, Alert.mentee_id == w.sam),
        "alert_events": count(w, AlertEvent, AlertEvent.alert_id.in_(alert_ids)),
        "alert_notes": count(w, AlertNote, AlertNote.alert_id.in_(alert_ids)),
        "risk_flags": count(w, RiskFlag, RiskFlag.mentee_id == w.sam),
        "scheduled": count(w, DueEvent, DueEvent.mentee_id == w.sam),
        "audit": count(w, AuditEntry, AuditEntry.mentee_id == w.sam),
    }
    done = protect.export(w.svc, w.cora, "Sam Taylor")
    data = json.loads(done.json)
    assert {k: len(data[k]) for k in expected} == expected
    assert expected["messages"] >= 8 and expected["alerts"] >= 1 and expected["answers"] >= 1
    assert data["mentee"]["first_name"] == "Sam" and data["mentee"]["phone"] == SAM_PHONE
    assert data["mentee"]["mentor"] == "Dan Carter"
    assert "phone_hash" not in data["mentee"]
    words = [m["body"] for m in data["messages"]]
    for said in ("hello are you there", "not sleeping, worried about court", CRISIS, "Ringing you now"):
        assert said in words
    assert any(a["raw_text"] == "4" for a in data["answers"])
    assert [n["text"] for n in data["alert_notes"]] == [NOTE]
    assert code in [a["code"] for a in data["alerts"]] and all(a["evidence"] for a in data["alerts"])
    # The readable summary says the same in words, the HTML escaped.
    assert "Sam Taylor" in done.text and CRISIS in done.text and NOTE in done.text
    assert "alert.acknowledge" in done.text or "alert.ack" in done.text
    assert "<h2>Messages</h2>" in done.html and "<script" not in done.html
    [entry] = w.audited("mentee.export")
    assert (entry.actor_label, entry.mentee_id) == ("Cora Lane", w.sam)


def test_only_a_coordinator_may_export_or_erase(dp_world: World) -> None:
    w = dp_world
    with pytest.raises(NotAllowed, match="only a coordinator"):
        protect.export(w.svc, w.dan, w.sam)
    with pytest.raises(NotAllowed, match="only a coordinator"):
        protect.erase(w.svc, w.priya, w.sam)
    assert w.audited("mentee.export") == [] and w.audited("mentee.erase") == []


def test_erase_refuses_while_an_alert_is_open(dp_world: World) -> None:
    w = dp_world
    code = sam_story(w)
    with pytest.raises(InvalidInput, match=f"alert still open \\(.*{code}.*\\).*--force --reason"):
        protect.erase(w.svc, w.cora, w.sam)
    with pytest.raises(InvalidInput, match="reason .* is empty"):
        protect.erase(w.svc, w.cora, w.sam, force=True, reason="  ")
    with w.svc.sessions() as s:
        assert s.get(Mentee, w.sam).first_name == "Sam"  # type: ignore[union-attr]
    assert w.audited("mentee.erase") == []


def digest_figures(w: World, week: str) -> list[list[str]]:
    """Priya's digest CSV without the columns that name the person."""
    [page] = digests.digest(w.svc, w.cora, week=week, of="Priya Shah", export=True)
    rows = list(csv.reader(io.StringIO(page.csv)))
    drop = {i for i, h in enumerate(rows[0]) if h in {"mentee", "status"}}
    return [[c for i, c in enumerate(r) if i not in drop] for r in rows]


def test_erase_removes_the_words_and_keeps_the_digest_figures(dp_world: World) -> None:
    w = dp_world
    sam_story(w)
    for a in alerts.list_alerts(w.svc, w.cora):
        alerts.close(w.svc, w.priya, a.code, OUTCOME)
    week = w.clock.now().strftime("%G-W%V")
    before = digest_figures(w, week)
    done = protect.erase(w.svc, w.cora, "07700 900123")
    assert done.name == f"Erased mentee #{w.sam}" and done.alerts_closed == ()
    assert done.cleared["messages"] >= 8 and done.cleared["answers"] >= 1
    export = protect.export(w.svc, w.cora, w.sam)
    for words in ("Sam", "Taylor", SAM_PHONE, "hello are you there", "worried about court",
                  "Got a rope", NOTE, OUTCOME, "Ringing you now"):
        assert words not in export.json, words
    data = json.loads(export.json)
    assert {m["body"] for m in data["messages"]} == {""}
    assert all(a["raw_text"] == "" for a in data["answers"])
    assert any(a["number"] == 4 for a in data["answers"])  # the mood figure stays
    assert all(a["category"] and a["evidence"] == "" and a["outcome"] is None for a in data["alerts"])
    assert digest_figures(w, week) == before
    with w.svc.sessions() as s:
        assert MenteeRepo(s).by_address("sms", SAM_PHONE) is None
    [entry] = w.audited("mentee.erase")
    assert entry.mentee_id == w.sam and "messages" in entry.detail and "hello" not in entry.detail


def test_a_forced_erase_closes_the_open_alert_and_records_why(dp_world: World) -> None:
    w = dp_world
    code = sam_story(w)
    live = tuple(a.code for a in alerts.list_alerts(w.svc, w.cora))
    done = protect.erase(w.svc, w.cora, w.sam, force=True, reason="court order, today")
    assert code in live and sorted(done.alerts_closed) == sorted(live)
    assert alerts.list_alerts(w.svc, w.cora) == []
    [entry] = w.audited("mentee.erase")
    assert "forced (court order, today)" in entry.detail and code in entry.detail
    with w.svc.sessions() as s:
        pending = s.scalars(select(DueEvent).where(DueEvent.mentee_id == w.sam,
                                                   DueEvent.status == "pending")).all()
        assert pending == []  # the ladder stops too


def test_erase_on_sqlite_leaves_nothing_in_the_wal_or_free_pages(dp_world: World) -> None:
    """The ciphertext of a blanked body is gone from the database file and the WAL is empty."""
    w = dp_world
    if w.svc.engine.dialect.name != "sqlite":
        pytest.skip("a SQLite file's own pages")
    w.text(SAM_PHONE, "see you on tuesday at the office")
    from sqlalchemy import Text, type_coerce
    with w.svc.sessions() as s:
        stored = s.scalar(select(type_coerce(Message.body, Text())).where(Message.direction == "in"))
    assert stored and stored.startswith("enc:")
    protect.erase(w.svc, w.cora, w.sam)
    db = Path(w.svc.engine.url.database or "")
    wal = Path(f"{db}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert stored.encode() not in db.read_bytes()


def test_purge_dry_run_lists_and_purge_blanks_what_retention_allows(dp_world: World) -> None:
    w = dp_world
    w.text(SAM_PHONE, "an old message")
    w.clock.advance(days=400)
    w.text(SAM_PHONE, "a new message")
    dry = protect.purge(w.svc, w.cora, dry_run=True)
    assert dry.by_kind["messages"] >= 1 and dry.by_mentee[w.sam] >= 1 and dry.names[w.sam] == "Sam T."
    assert w.audited("retention.purge") == []
    with w.svc.sessions() as s:
        assert "an old message" in [m.body for m in s.scalars(select(Message))]
    done = protect.purge(w.svc, w.cora)
    assert done.by_kind == dry.by_kind
    with w.svc.sessions() as s:
        bodies = [m.body for m in s.scalars(select(Message))]
    assert "an old message" not in bodies and "a new message" in bodies
    assert protect.purge(w.svc, w.cora, dry_run=True).by_kind["messages"] == 0
    [entry] = w.audited("retention.purge")
    assert entry.actor_label == "Cora Lane" and "messages" in entry.detail
