"""Data protection operations (coordinator): subject-access export, erasure, retention by hand,
and re-encrypting under a new key. Each checks the actor may, and leaves an audit entry.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.app.actor import Actor
from bot.app.errors import InvalidInput
from bot.app.unit import MenteeRef, Unit, run, written
from bot.schedule import describe_local
from bot.service.retention import apply_retention
from bot.service.runtime import Services
from bot.storage.alerts import AlertRepo
from bot.storage.models import Mentee
from bot.storage.people import MenteeRepo, StaffRepo
from bot.storage.rekey import Progress, key_usage, rotate
from bot.storage.retention import due_before
from bot.storage.subject import (
    as_dict,
    checkpoint,
    erase as erase_rows,
    everything_about,
    open_alerts,
    secure_delete,
)


# ---- subject access -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SubjectExport:
    mentee_id: int
    counts: dict[str, int]  # records of each kind in the export
    json: str
    text: str
    html: str


def export(svc: Services, actor: Actor, ref: MenteeRef) -> SubjectExport:
    """Every stored item about one mentee, as JSON and as a readable summary (coordinator)."""
    def work(unit: Unit) -> SubjectExport:
        unit.require_admin("export a mentee's data")
        m = unit.mentee(ref)
        rows = everything_about(unit.session, m)
        staff = {s.id: s.name for s in StaffRepo(unit.session).list()}
        data: dict[str, Any] = {
            "export": {"made_at": unit.now.isoformat(), "made_by": actor.label,
                       "service": unit.svc.config.service.org_name,
                       "about": "every record this service holds about this person"},
            "mentee": as_dict(m) | {"mentor": staff.get(m.mentor_id)},
            **{kind: [as_dict(r) for r in items] for kind, items in rows.items()},
        }
        counts = {kind: len(items) for kind, items in rows.items()}
        unit.audit("mentee.export", mentee_id=m.id,
                   detail=", ".join(f"{k} {n}" for k, n in counts.items() if n))
        zone = unit.svc.config.service.timezone
        return SubjectExport(m.id, counts, json.dumps(data, indent=2, ensure_ascii=False),
                             *_summaries(m, rows, staff, zone, unit.now, actor.label))

    return run(svc, actor, work)


def _summaries(m: Mentee, rows: dict[str, list[Any]], staff: dict[int, str], zone: str,
               now: datetime, by: str) -> tuple[str, str]:
    """The same records as plain text and as a simple HTML page, for a person to read."""
    def when(instant: datetime | None) -> str:
        return describe_local(instant, zone) if instant else "-"

    sections: list[tuple[str, list[str]]] = []
    sections.append(("About you", [
        f"Name: {m.first_name} {m.last_name}".rstrip(),
        f"Phone: {m.phone or '-'}", f"Telegram chat: {m.telegram_chat_id or '-'}",
        f"Mentor: {staff.get(m.mentor_id, '-')}", f"Status: {m.status}",
        f"Check-in plan: {m.plan or 'none'}", f"Time zone: {m.timezone}",
        f"Release date: {m.release_date or '-'}", f"Added: {when(m.created_at)}",
    ]))
    answers: dict[int, list[Any]] = {}
    for a in rows["answers"]:
        answers.setdefault(a.conversation_id, []).append(a)
    sections.append(("Check-ins", [
        f"{when(c.started_at)}: {c.outcome}" + "".join(
            f"\n    {a.question}: {a.raw_text or a.value or '-'}" for a in answers.get(c.id, []))
        for c in rows["conversations"]] or ["none"]))
    sections.append(("Messages", [
        f"{when(msg.created_at)}  "
        + ("from you" if msg.direction == "in" else
           f"to {staff.get(msg.staff_id, 'staff')} (about you)" if msg.staff_id else
           f"to you{' from ' + staff[msg.sent_by_staff_id] if msg.sent_by_staff_id in staff else ''}")
        + f" by {msg.channel}: {msg.body or '(removed)'}"
        for msg in rows["messages"]] or ["none"]))
    notes: dict[int, list[Any]] = {}
    for n in rows["alert_notes"]:
        notes.setdefault(n.alert_id, []).append(n)
    sections.append(("Safety alerts raised about you", [
        f"{when(a.created_at)}: {a.severity} {a.category}, {a.status}; because: {a.evidence or '-'}"
        + (f"; outcome: {a.outcome}" if a.outcome else "")
        + "".join(f"\n    note by {n.author} ({when(n.created_at)}): {n.text}" for n in notes.get(a.id, []))
        for a in rows["alerts"]] or ["none"]))
    sections.append(("Who looked at or changed your record", [
        f"{when(e.at)}  {e.actor_label}: {e.action}{' (' + e.detail + ')' if e.detail else ''}"
        for e in rows["audit"]] or ["none"]))
    title = f"Records held about {m.first_name} {m.last_name}".rstrip()
    intro = f"Made {when(now)} by {by}. The JSON file beside this one holds every field."
    text = "\n".join([title, "=" * len(title), intro, ""] + [
        f"{head}\n{'-' * len(head)}\n" + "\n".join(lines) + "\n" for head, lines in sections])
    body = "".join(
        f"<h2>{html.escape(head)}</h2>\n<ul>\n"
        + "".join(f"<li>{html.escape(line).replace(chr(10), '<br>')}</li>\n" for line in lines)
        + "</ul>\n" for head, lines in sections)
    page = (f"<!doctype html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title></head>\n<body>\n<h1>{html.escape(title)}</h1>\n"
            f"<p>{html.escape(intro)}</p>\n{body}</body></html>\n")
    return text, page


# ---- erasure ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Erased:
    mentee_id: int
    name: str  # what the record is called now
    cleared: dict[str, int]
    alerts_closed: tuple[str, ...]  # codes closed by a forced erasure


def erase(svc: Services, actor: Actor, ref: MenteeRef, *, force: bool = False,
          reason: str = "") -> Erased:
    """Remove a mentee's personal data, keeping the anonymous figures (coordinator). Refused
    while one of their alerts is not closed, unless forced with a reason (the alerts are then
    closed: nobody can act on them any more)."""
    if force:
        reason = written(reason, "reason (--reason) for erasing with an alert open", 200)

    def work(unit: Unit) -> Erased:
        unit.require_admin("erase a mentee's data")
        m = unit.mentee(ref)
        MenteeRepo(unit.session).get(m.id, lock=True)  # a turn for them waits, or went first
        live = list(open_alerts(unit.session, m.id))
        if live and not force:
            codes = ", ".join(a.code for a in live)
            raise InvalidInput(f"{m.display_name} has an alert still open ({codes}): close it first, "
                               "or erase anyway with --force --reason \"...\"")
        alerts = AlertRepo(unit.session)
        for a in live:
            a.status, a.closed_at, a.closed_by = "closed", unit.now, actor.label
            alerts.record(a, "closed", unit.now, staff_id=actor.staff_id, detail="record erased")
        secure_delete(unit.session)
        cleared = erase_rows(unit.session, m, unit.now)
        detail = ", ".join(f"{k} {n}" for k, n in cleared.items() if n)
        if live:
            detail = f"forced ({reason}); closed {', '.join(a.code for a in live)}; {detail}"
        unit.audit("mentee.erase", mentee_id=m.id, detail=detail)
        return Erased(m.id, m.first_name, cleared, tuple(a.code for a in live))

    done = run(svc, actor, work)
    checkpoint(svc.engine)
    return done


# ---- retention by hand --------------------------------------------------------------------------
@dataclass(frozen=True)
class Purged:
    cutoff: datetime | None  # None: retention is off ([service] retention_days = 0)
    dry_run: bool
    by_kind: dict[str, int]
    by_mentee: dict[int | None, int]  # records per mentee id (None: not about a mentee)
    names: dict[int, str]


def purge(svc: Services, actor: Actor, *, dry_run: bool = False) -> Purged:
    """Blank what the retention rules say has been kept long enough, now (coordinator); with
    `dry_run`, only say what that would be."""
    def work(unit: Unit) -> Purged:
        unit.require_admin("apply retention")
        days = unit.svc.config.service.retention_days
        if days <= 0:
            return Purged(None, dry_run, {}, {}, {})
        cutoff = unit.now - timedelta(days=days)
        due = due_before(unit.session, cutoff)
        by_kind = {kind: sum(per.values()) for kind, per in due.items()}
        by_mentee: dict[int | None, int] = {}
        for per in due.values():
            for mentee_id, n in per.items():
                by_mentee[mentee_id] = by_mentee.get(mentee_id, 0) + n
        ids = {i for i in by_mentee if i is not None}
        names = {i: m.display_name for i, m in MenteeRepo(unit.session).get_many(ids).items()}
        if not dry_run:
            secure_delete(unit.session)
            apply_retention(unit.session, unit.svc, unit.now)
            unit.audit("retention.purge", target=cutoff.date().isoformat(),
                       detail=", ".join(f"{k} {n}" for k, n in by_kind.items()))
        return Purged(cutoff, dry_run, by_kind, by_mentee, names)

    done = run(svc, actor, work)
    if not dry_run:
        checkpoint(svc.engine)
    return done


# ---- keys ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rotated:
    active: str
    rewritten: dict[str, int]
    usage: dict[str, int]  # stored values per key id afterwards ("clear": never encrypted)


def rotate_keys(svc: Services, actor: Actor, *, batch: int = 200,
                progress: Callable[[Progress], None] | None = None) -> Rotated:
    """Re-encrypt every stored value under the active key (coordinator). Many short
    transactions: stopping it loses nothing, and running it again carries on."""
    from bot.storage.sealed import keyring_of

    run(svc, actor, lambda unit: unit.require_admin("re-encrypt the database"))
    keyring = keyring_of(svc.engine.dialect)
    if not keyring.encrypting:
        raise InvalidInput("this database has no encryption keys attached")
    rewritten = rotate(svc.engine, batch=max(1, batch), progress=progress)
    usage = dict(key_usage(svc.engine))

    def record(unit: Unit) -> None:
        unit.audit("keys.rotate", target=keyring.active,
                   detail=", ".join(f"{t} {n}" for t, n in rewritten.items() if n) or "nothing to do")

    run(svc, actor, record)
    return Rotated(keyring.active, rewritten, usage)
