"""Repository for messages: the inbound log and the outbound outbox."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.storage.bulk import insert_rows, one_of
from bot.storage.later import LaterId, kept, rows_later
from bot.storage.models import Message, ReadMarker

# A message claimed for sending is held by its worker for a lease, renewed while the worker is
# alive and busy with it (bot.service.outbox); once a lease has run out the message is handed
# out again (its worker died mid-send). At-least-once: a crash right after the provider took it
# sends it twice, which is better than never. Callers pass the configured lease; this is the
# default of `[service] send_lease_seconds`.
SENDING_LEASE = timedelta(seconds=15)
# Purposes that are not urgent: everything else (helpline replies, staff alerts) goes first.
ORDINARY_PURPOSES = ("flow", "system", "staff_reply")


def _insert(session: Session) -> Any:
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


# Built once: asked on every unsolicited text. Bodies are encrypted, so they are compared here.
_SAID_SINCE = select(Message.body, Message.created_at).where(
    Message.mentee_id == bindparam("mentee_id"), Message.direction == "out",
    Message.created_at >= bindparam("since"),
)


# Built once: the receipt of a plain send (no alert to record it on), by primary key, for many
# rows in one executemany. A receipt without a segment count keeps the stored one. It counts the
# try as `_record_one` does for every other outcome.
_t = Message.__table__.c
_SENT = (update(Message.__table__).where(_t.id == bindparam("b_id"))
         .values(status=bindparam("b_status"), provider_id=bindparam("b_provider_id"),
                 segments=func.coalesce(bindparam("b_segments"), _t.segments),
                 sent_at=bindparam("b_now"), updated_at=bindparam("b_now"), error_detail=None,
                 # A send is a try, counted with its outcome (never at the claim).
                 attempts=_t.attempts + 1, first_tried_at=func.coalesce(_t.first_tried_at, bindparam("b_now"))))


@contextlib.contextmanager
def outbox_rows_later(session: Session) -> Iterator[None]:
    """Within the block, rows given to MessageRepo.add_outbound_later are kept as column values
    and written together, with one Core INSERT instead of an ORM object each (and so are alert
    events, risk flags and ladder rows: see bot.storage.later): before the session's next
    statement (so every query in the block sees them) and when the block ends. Use it inside a
    transaction: if the block raises, nothing more is written and the caller's rollback takes
    what was."""
    with rows_later(session):
        yield


_STORE_INBOUND: dict[str, Any] = {}  # dialect name -> the intake's INSERT (see store_inbound_many)


class MessageRepo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def store_inbound(self, *, channel: str, provider_id: str, address: str, body: str,
                      now: datetime, segments: int = 1) -> bool:
        """Store an inbound message once per provider id; False if it was already stored."""
        stmt = (
            _insert(self.session)(Message)
            .values(direction="in", channel=channel, provider_id=provider_id, address=address,
                    body=body, status="received", segments=segments, created_at=now,
                    updated_at=now, purpose="inbound", respect_quiet_hours=False, attempts=0)
            .on_conflict_do_nothing(index_elements=["channel", "direction", "provider_id"])
        )
        result = self.session.execute(stmt)
        return bool(result.rowcount)

    def store_inbound_many(self, rows: Sequence[dict[str, Any]], now: datetime) -> set[tuple[str, str]]:
        """Store many inbound messages in one statement, each once per (channel, provider id).

        `rows` carry channel, provider_id, address, body, segments. Returns the (channel,
        provider_id) pairs that were new; the others were duplicates of stored messages.
        """
        if not rows:
            return set()
        values = [
            {"direction": "in", "channel": r["channel"], "provider_id": r["provider_id"],
             "address": r["address"], "body": r["body"], "status": "received",
             "segments": r.get("segments", 1), "created_at": now, "updated_at": now,
             "purpose": "inbound", "respect_quiet_hours": False, "attempts": 0}
            for r in rows
        ]
        # One statement built once per dialect, run as an executemany: SQLAlchemy batches it
        # into multi-row INSERTs from a cached compilation ("insertmanyvalues"). `.values(list)`
        # compiled a new statement for every batch: 28% of webhook intake's CPU, profiled.
        stmt = _STORE_INBOUND.get(self.session.get_bind().dialect.name)
        if stmt is None:
            table = Message.__table__
            stmt = (_insert(self.session)(table)
                    .on_conflict_do_nothing(index_elements=["channel", "direction", "provider_id"])
                    .returning(table.c.channel, table.c.provider_id))
            _STORE_INBOUND[self.session.get_bind().dialect.name] = stmt
        return {(c, p) for c, p in self.session.execute(stmt, values).all()}

    def claim_inbound(self, limit: int = 50, *, take: int | None = None,
                      prefer: Callable[[Any], bool] | None = None) -> Sequence[Any]:
        """As next_inbound, but plain rows (id, channel, address, body) instead of ORM objects:
        a pass that handles only a few of them (its deadline came) has not built all of them.
        Load the ones handled with get_many.

        `take` (one of several workers claiming only a few each): the first `limit` unprocessed
        rows are read without locking and at most `take` of them claimed, skipping rows other
        workers hold: first every row of the senders `prefer` picks a row of (an urgent text,
        and the messages before it from the same person), then the oldest. So a crisis among
        the first `limit` is taken next, however few a worker claims."""
        t = Message.__table__.c
        if take is not None and take < limit:
            return self._claim_some(limit, take, prefer)
        stmt = (
            select(t.id, t.channel, t.address, t.body)
            .where(t.direction == "in", t.processed_at.is_(None))
            .order_by(t.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return self._in_sender_order(self.session.execute(stmt).all())

    def _claim_some(self, limit: int, take: int, prefer: Callable[[Any], bool] | None) -> Sequence[Any]:
        t = Message.__table__.c
        window = self.session.execute(
            select(t.id, t.channel, t.address, t.body)
            .where(t.direction == "in", t.processed_at.is_(None))
            .order_by(t.id).limit(limit)).all()
        if not window:
            return []
        first = [t.id]
        if prefer is not None:  # addresses are encrypted: senders are matched here, not in SQL
            chosen = {(r.channel, r.address) for r in window if prefer(r)}
            preferred = [r.id for r in window if (r.channel, r.address) in chosen]
            if preferred:
                first = [case((one_of(self.session, t.id, preferred), 0), else_=1), t.id]
        stmt = (
            select(t.id, t.channel, t.address, t.body)
            .where(one_of(self.session, t.id, [r.id for r in window]), t.processed_at.is_(None))
            .order_by(*first)
            .limit(take)
            .with_for_update(skip_locked=True)
        )
        # In id order for the sender check: a row whose sender has an earlier unprocessed row
        # not claimed here (held elsewhere, or left for later) is left out.
        return self._in_sender_order(sorted(self.session.execute(stmt).all(), key=lambda r: r.id))

    def next_inbound(self, limit: int = 50) -> Sequence[Message]:
        """Unprocessed inbound messages, oldest first, locked (skipped if another worker has them).

        Each sender's messages are handled in the order they arrived, across processes: a
        message is left out while an earlier one from the same sender is unprocessed and held
        by another worker (SKIP LOCKED passed over it), and is taken once that one commits.
        (SQLite needs no check: its one writer at a time sees every earlier row unlocked.)
        """
        stmt = (
            select(Message)
            .where(Message.direction == "in", Message.processed_at.is_(None))
            .order_by(Message.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return self._in_sender_order(self.session.scalars(stmt).all())

    def _in_sender_order(self, rows: Sequence[Any]) -> Sequence[Any]:
        """Leave out each message that an earlier unprocessed one from its sender, held by
        another worker, must go before (see next_inbound)."""
        if not rows or self.session.get_bind().dialect.name != "postgresql":
            return rows
        ids = [r.id for r in rows]
        # Addresses are encrypted at rest (a fresh nonce each time), so they are matched here, not
        # in SQL. The rows held are those other workers hold now: a batch or two, not a backlog.
        held = (select(Message.id, Message.channel, Message.address)
                .where(Message.direction == "in", Message.processed_at.is_(None),
                       Message.id < ids[-1], ~one_of(self.session, Message.id, ids)))
        first_held: dict[tuple[str, str], int] = {}
        for i, c, a in self.session.execute(held):
            if i < first_held.get((c, a), i + 1):
                first_held[(c, a)] = i
        if not first_held:
            return rows
        return [r for r in rows if r.id < first_held.get((r.channel, r.address), r.id + 1)]

    def add_outbound(self, message: Message, *, flush: bool = True) -> Message:
        """Add an outbox row. `flush=False`: it is written with the transaction's next flush
        (with the turn's other rows, in one statement) and has no id until then."""
        self.session.add(message)
        if flush:
            self.session.flush()
        return message

    def add_outbound_later(self, values: dict[str, Any], *, want_id: bool = False) -> bool | LaterId:
        """Keep an outbox row (a full set of column values) to be written with the others inside
        `outbox_rows_later`; False (nothing kept) outside one. `want_id`: returns the LaterId
        that gets the row's id when it is written (for a row kept with it that names it)."""
        later = kept(self.session)
        if later is None:
            return False
        # An urgent row (a page, a helpline) is never overtaken by one written at once.
        return later.keep_message(values, want_id=want_id,
                                  in_place=values["purpose"] not in ORDINARY_PURPOSES) or True

    def writes_later(self) -> bool:
        """Whether new rows are kept to be written together (inside `outbox_rows_later`)."""
        return kept(self.session) is not None

    def add_outbound_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write many outbox rows in one statement (each a full set of Message column values)."""
        insert_rows(self.session, Message.__table__, rows)  # type: ignore[arg-type]

    def claim_outbox(self, now: datetime, worker: str, limit: int = 100, *,
                     lease: timedelta = SENDING_LEASE, urgent_only: bool = False,
                     held_here: Sequence[int] = ()) -> list[Message]:
        """Claim due outbound messages for sending (status -> sending); safe across workers.

        Urgent rows first (or only, with `urgent_only`); rows whose lease ran out are taken back,
        except `held_here`: those the calling process is still sending (its lease on them may
        have lapsed on a busy machine, but it is alive: taking them back would send them twice).
        A claim is not a try: `attempts` counts sends the provider was asked for, written with
        their outcome (bot.service.outbox), so a worker that died holding a row spends none of
        its tries (a few restarts must not turn one 5xx into a long wait, or a failed message).
        """
        due = or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now)
        pending = (Message.direction == "out") & (Message.status == "pending") & due
        stale = (Message.direction == "out") & (Message.status == "sending") & (
            Message.updated_at <= now - lease
        )
        ordinary = Message.purpose.in_(ORDINARY_PURPOSES)
        stmt = select(Message).where(or_(pending, stale))
        if urgent_only:
            stmt = stmt.where(~ordinary)
        if held_here:
            stmt = stmt.where(~one_of(self.session, Message.id, list(held_here)))
        stmt = stmt.order_by(ordinary, Message.id).limit(limit).with_for_update(skip_locked=True)
        rows = list(self.session.scalars(stmt).all())
        for row in rows:
            row.status = "sending"
            row.updated_at = now
        return rows

    def record_sent_many(self, sent: Sequence[tuple[int, str, str, int | None]], now: datetime) -> None:
        """Write many plain receipts at once: (message id, status, provider id, segments or None)."""
        if sent:
            self.session.execute(_SENT, [{"b_id": i, "b_status": status, "b_provider_id": provider_id,
                                          "b_segments": segments, "b_now": now}
                                         for i, status, provider_id, segments in sent])

    def renew_leases(self, message_ids: Sequence[int], now: datetime) -> int:
        """Keep holding messages this worker is still sending; returns how many it still holds."""
        if not message_ids:
            return 0
        stmt = (update(Message)
                .where(Message.id.in_(list(message_ids)), Message.status == "sending")
                .values(updated_at=now))
        return int(self.session.execute(stmt).rowcount or 0)

    def said_since(self, mentee_id: int, since: datetime) -> dict[str, datetime]:
        """Each text that went out about this mentee since `since` (to them or staff), with when
        it last did: one query answers "said within the hour?" and "within three hours?"."""
        said: dict[str, datetime] = {}
        for body, at in self.session.execute(_SAID_SINCE, {"mentee_id": mentee_id, "since": since}):
            if body not in said or at > said[body]:
                said[body] = at
        return said

    def said_since_many(self, mentee_ids: Sequence[int], since: datetime) -> dict[int, dict[str, datetime]]:
        """As said_since, for many mentees in one query (one with nothing said maps to {})."""
        said: dict[int, dict[str, datetime]] = {i: {} for i in mentee_ids}
        if not said:
            return said
        stmt = select(Message.mentee_id, Message.body, Message.created_at).where(
            one_of(self.session, Message.mentee_id, sorted(said)), Message.direction == "out",
            Message.created_at >= since)
        for mentee_id, body, at in self.session.execute(stmt):
            theirs = said[mentee_id]
            if body not in theirs or at > theirs[body]:
                theirs[body] = at
        return said

    def get_many(self, ids: Sequence[int]) -> dict[int, Message]:
        if not ids:
            return {}
        rows = self.session.scalars(select(Message).where(Message.id.in_(list(ids)))).all()
        return {m.id: m for m in rows}

    def get(self, message_id: int) -> Message | None:
        return self.session.get(Message, message_id)

    def by_provider_id(self, channel: str, provider_id: str) -> Message | None:
        stmt = select(Message).where(
            Message.channel == channel, Message.direction == "out", Message.provider_id == provider_id
        )
        return self.session.scalars(stmt).first()

    def set_status_if_forward(self, message_id: int, new_status: str, allowed_from: Sequence[str],
                              now: datetime, error_code: str | None = None) -> bool:
        """Compare-and-set a delivery status so out-of-order callbacks never move it backwards."""
        values: dict[str, Any] = {"status": new_status, "updated_at": now}
        if error_code:
            values["error_code"] = error_code
        stmt = (
            update(Message)
            .where(Message.id == message_id, Message.status.in_(list(allowed_from)))
            .values(**values)
        )
        return bool(self.session.execute(stmt).rowcount)

    def for_mentee(self, mentee_id: int, since: datetime | None = None) -> Sequence[Message]:
        stmt = select(Message).where(Message.mentee_id == mentee_id)
        if since is not None:
            stmt = stmt.where(Message.created_at >= since)
        return self.session.scalars(stmt.order_by(Message.id)).all()

    def for_alert(self, alert_id: int) -> Sequence[Message]:
        stmt = select(Message).where(Message.alert_id == alert_id).order_by(Message.id)
        return self.session.scalars(stmt).all()

    def outbox_size(self) -> int:
        stmt = select(func.count()).select_from(Message).where(
            Message.direction == "out", Message.status.in_(("pending", "sending"))
        )
        return int(self.session.scalar(stmt) or 0)

    def recent_outbound(self, limit: int = 50) -> Sequence[Message]:
        stmt = select(Message).where(Message.direction == "out").order_by(Message.id.desc()).limit(limit)
        return self.session.scalars(stmt).all()

    # ---- what a staff member has read ------------------------------------------------------------
    def latest_inbound_id(self, mentee_id: int) -> int | None:
        stmt = select(func.max(Message.id)).where(Message.mentee_id == mentee_id,
                                                  Message.direction == "in")
        return self.session.scalar(stmt)

    def mark_read(self, staff_id: int, mentee_id: int, up_to: int, now: datetime) -> None:
        """Move the staff member's read marker for this mentee forward to message `up_to`."""
        marker = self.session.get(ReadMarker, (staff_id, mentee_id))
        if marker is None:
            self.session.add(ReadMarker(staff_id=staff_id, mentee_id=mentee_id,
                                        last_read_message_id=up_to, read_at=now))
        elif up_to > marker.last_read_message_id:
            marker.last_read_message_id = up_to
            marker.read_at = now

    def unread_counts(self, staff_id: int, mentee_ids: Sequence[int]) -> dict[int, int]:
        """Inbound messages each mentee sent after this staff member's read marker (0 omitted)."""
        if not mentee_ids:
            return {}
        read_up_to = (select(ReadMarker.last_read_message_id)
                      .where(ReadMarker.staff_id == staff_id, ReadMarker.mentee_id == Message.mentee_id)
                      .scalar_subquery())
        stmt = (select(Message.mentee_id, func.count())
                .where(Message.direction == "in", Message.mentee_id.in_(list(mentee_ids)),
                       Message.id > func.coalesce(read_up_to, 0))
                .group_by(Message.mentee_id))
        return {mentee_id: int(count) for mentee_id, count in self.session.execute(stmt)
                if mentee_id is not None}
