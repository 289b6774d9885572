"""Rows a batch of turns writes later, together: one Core INSERT per table instead of one each.

Inside `rows_later(session)` the repositories keep some new rows as column values instead of
adding ORM objects: outbox messages (MessageRepo.add_outbound_later), and alert events, risk
flags and ladder rows (AlertRepo.record and add_flag, DueEventRepo.schedule_later). They are
written before the session's next statement (so every query in the block sees them) and when
the block ends: the messages first, in the order given, then the rows that may point at them;
and a flush that inserts rows of these tables writes first those that must keep their place
(see RowsLater.before_flush).
A row may name a message kept with it by the LaterId that add_outbound_later returned; it is
given that message's id when they are written. Use it inside a transaction: if the block
raises, nothing more is written and the caller's rollback takes what was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.orm import Session

from bot.storage.bulk import insert_rows
from bot.storage.models import AlertEvent, DueEvent, Message, RiskFlag

_KEY = "rows_later"  # Session.info: the block's RowsLater

_MESSAGES: Table = Message.__table__  # type: ignore[assignment]
# Written after the messages, in this order; each with the unique columns a row may collide on
# (skipped then, as ON CONFLICT DO NOTHING).
_AFTER: tuple[tuple[Table, tuple[str, ...] | None], ...] = (
    (RiskFlag.__table__, None),  # type: ignore[has-type]
    (AlertEvent.__table__, None),  # type: ignore[has-type]
    (DueEvent.__table__, ("dedupe_key",)),  # type: ignore[has-type]
)


_CLASSES = (Message, AlertEvent, RiskFlag, DueEvent)


class LaterId:
    """The id a kept message will have once written (None until then)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: int | None = None


class RowsLater:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.messages: list[tuple[dict[str, Any], LaterId | None]] = []
        self.after: dict[str, list[dict[str, Any]]] = {t.name: [] for t, _ in _AFTER}
        self.in_place = False  # kept rows that must not be overtaken (see before_flush)

    def keep_message(self, values: dict[str, Any], *, want_id: bool = False,
                     in_place: bool = False) -> LaterId | None:
        """`in_place`: a row that must not be overtaken (see before_flush)."""
        ref = LaterId() if want_id else None
        self.messages.append((values, ref))
        self.in_place = self.in_place or in_place
        return ref

    def keep(self, table: Table, values: dict[str, Any]) -> None:
        self.after[table.name].append(values)
        self.in_place = True

    def before_flush(self, session: Session, *_: Any) -> None:
        """A flush that inserts rows into these tables writes first the kept rows that must
        keep their place: alert history, risk flags, ladder rows and urgent messages (pages,
        helplines) go in the order they were made, as if written at once. (Routine replies
        kept alone may be overtaken by a row written at once, as before they were.)"""
        if self.in_place and any(isinstance(o, _CLASSES) for o in session.new):
            self.write()

    def write(self, *_: Any) -> None:
        if not self.messages and not any(self.after.values()):
            return
        # Taken out before the INSERTs: they run through the session too (and so call this).
        messages, self.messages = self.messages, []
        after, self.after = self.after, {t.name: [] for t, _ in _AFTER}
        self.in_place = False
        if messages:
            rows = [values for values, _ in messages]
            if any(ref is not None for _, ref in messages):
                # Both backends issue ids in increasing order as the rows go in, and insert them
                # in the order given: the smallest id is the first row's.
                ids = sorted(i for (i,) in insert_rows(self.session, _MESSAGES, rows,
                                                       returning=[_MESSAGES.c.id]))
                for (_, ref), message_id in zip(messages, ids, strict=True):
                    if ref is not None:
                        ref.value = message_id
            else:
                insert_rows(self.session, _MESSAGES, rows)
        for table, unique in _AFTER:
            rows = [{k: (v.value if isinstance(v, LaterId) else v) for k, v in values.items()}
                    for values in after[table.name]]
            if rows:
                insert_rows(self.session, table, rows, skip_conflicts_on=unique)


def kept(session: Session) -> RowsLater | None:
    """The block's rows, or None outside `rows_later` (write at once then)."""
    later: RowsLater | None = session.info.get(_KEY)
    return later


@contextlib.contextmanager
def rows_later(session: Session) -> Iterator[None]:
    """See the module's docstring."""
    later = RowsLater(session)
    session.info[_KEY] = later
    event.listen(session, "do_orm_execute", later.write)
    event.listen(session, "before_flush", later.before_flush)
    try:
        yield
        later.write()
    finally:
        event.remove(session, "do_orm_execute", later.write)
        event.remove(session, "before_flush", later.before_flush)
        session.info.pop(_KEY, None)
