"""Re-encrypting stored values under the active key, a batch per short transaction.

Safe to stop at any moment and run again: a batch commits whole or not at all, and a value
already under the active key is left alone, so a second run carries on where the first stopped.
Values still in clear (written before encryption) are encrypted on the way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Column, Engine, Table, Text, bindparam, func, select, type_coerce, update
from sqlalchemy.orm import Session, sessionmaker

from bot.keyring import key_id_of
from bot.storage.models import Base
from bot.storage.sealed import HASHED, Sealed, SealedJSON, session_keyring
from bot.storage.subject import checkpoint, secure_delete


def sealed_columns() -> Iterator[tuple[Table, Column[object], list[Column[object]]]]:
    """(table, primary key, its encrypted columns) for every table that has any, in name order."""
    for name in sorted(Base.metadata.tables):
        table = Base.metadata.tables[name]
        columns = [c for c in table.columns if isinstance(c.type, Sealed | SealedJSON)]
        if columns:
            pk = list(table.primary_key.columns)
            assert len(pk) == 1, f"{name}: rotate-key needs a one-column primary key"
            yield table, pk[0], columns


@dataclass(frozen=True)
class Progress:
    table: str
    rows_seen: int
    rows_total: int
    rewritten: int  # rows re-encrypted in this table so far, this run


def _raw(columns: list[Column[object]]) -> list[object]:
    """The columns as stored (ciphertext or old clear text), not decrypted."""
    return [type_coerce(c, Text()).label(c.name) for c in columns]


def rotate(engine: Engine, *, batch: int = 200,
           progress: Callable[[Progress], None] | None = None) -> dict[str, int]:
    """Re-encrypt every encrypted value not yet under the active key; rows rewritten per table."""
    sessions = sessionmaker(engine)
    done: dict[str, int] = {}
    for table, pk, columns in sealed_columns():
        with sessions() as session:
            total = int(session.scalar(select(func.count()).select_from(table)) or 0)
        after: object = None
        seen = rewritten = 0
        while True:
            with sessions() as session, session.begin():
                secure_delete(session)  # the old ciphertext (or clear text) is not left in free pages
                n, changed, after = _one_batch(session, table, pk, columns, after, batch)
            seen += n
            rewritten += changed
            if progress is not None and n:
                progress(Progress(table.name, seen, total, rewritten))
            if n < batch:
                break
        done[table.name] = rewritten
    checkpoint(engine)
    return done


def _one_batch(session: Session, table: Table, pk: Column[object], columns: list[Column[object]],
               after: object, batch: int) -> tuple[int, int, object]:
    keyring = session_keyring(session)
    stmt = select(pk, *_raw(columns)).order_by(pk).limit(batch)
    if after is not None:
        stmt = stmt.where(pk > after)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()  # the running service may be writing these rows
    rows = session.execute(stmt).all()
    params = []
    for row in rows:
        if not any(keyring.needs_sealing(getattr(row, c.name)) for c in columns):
            continue
        # Every encrypted column of the row, opened with the key it was sealed with; the column
        # types seal them again with the active key on the way back.
        values: dict[str, object] = {"_pk": row[0]}
        for c in columns:
            stored = getattr(row, c.name)
            plain = keyring.open(stored) if stored else stored
            values[f"v_{c.name}"] = _json(plain) if plain and isinstance(c.type, SealedJSON) else plain
        params.append(values)
    if params:
        stmt_update = update(table).where(pk == bindparam("_pk")).values(
            {c.name: bindparam(f"v_{c.name}", type_=c.type) for c in columns})
        session.connection().execute(stmt_update, params)
    _rehash(session, table, [row[0] for row in rows])
    return len(rows), len(params), rows[-1][0] if rows else after


def _json(text: str) -> object:
    import json

    return json.loads(text)


def _rehash(session: Session, table: Table, ids: list[object]) -> None:
    """Lookup hashes for rows that lack them (rows from before encryption)."""
    for cls, attributes in HASHED.items():
        if getattr(cls, "__table__", None) is not table or not ids:
            continue
        keyring = session_keyring(session)
        for row in session.scalars(select(cls).where(table.primary_key.columns.values()[0].in_(ids))):
            for name in attributes:
                value = getattr(row, name)
                wanted = keyring.lookup(value) if value else None
                if getattr(row, f"{name}_hash") != wanted:
                    setattr(row, f"{name}_hash", wanted)
        session.flush()


def key_usage(engine: Engine) -> Counter[str]:
    """How many stored values each key id holds ("clear" for values never encrypted)."""
    counts: Counter[str] = Counter()
    with sessionmaker(engine)() as session:
        for table, _pk, columns in sealed_columns():
            for row in session.execute(select(*_raw(columns))):
                for stored in row:
                    if stored:
                        counts[key_id_of(stored) or "clear"] += 1
    return counts
