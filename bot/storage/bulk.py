"""Many rows in one INSERT, cheaply on both backends.

PostgreSQL gets one `INSERT ... SELECT unnest(:col1), unnest(:col2), ...`: one array parameter per
column, so the SQL text stays the same whatever the batch size (psycopg parses and caches it once,
and the server plans it once). A multi-row VALUES list instead grows a placeholder per value and
costs more to build and parse than the insert itself. SQLite, in-process, takes executemany.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Column, ColumnElement, Table, Text, any_, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def one_of(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN values` for a batch: on PostgreSQL `= ANY(:array)`, one parameter whose SQL
    text is the same for any batch, instead of a placeholder per value to build and parse."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(list(values))  # type: ignore[no-any-return]


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]], *,
                returning: Sequence[Column[Any]] = (),
                skip_conflicts_on: Sequence[str] | None = None) -> list[tuple[Any, ...]]:
    """Insert `rows` (all with the same keys) in one statement; the `returning` columns of the
    rows inserted, in no particular order. With `skip_conflicts_on` (a unique index's columns),
    a row that would collide is skipped (ON CONFLICT DO NOTHING) and returns nothing."""
    if not rows:
        return []
    names = list(rows[0])
    if session.get_bind().dialect.name != "postgresql":
        stmt: Any = sqlite.insert(table)
        if skip_conflicts_on:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
        if returning:
            return [tuple(r) for r in session.execute(stmt.returning(*returning), list(rows))]
        session.execute(stmt, list(rows))
        return []
    columns: list[ColumnElement[Any]] = []
    for index, name in enumerate(names):
        column = table.c[name]
        values = [row[name] for row in rows]
        # A value shared by every row (a status, a timestamp) is sent once, not once a row:
        # encoding array elements is most of the client's cost. The first column always
        # stays an array, so the SELECT yields one row per row given.
        same = index > 0 and all(v == values[0] for v in values)
        if isinstance(column.type, JSON):
            # No arrays of JSON: ship the encoded text and let the server read it back as JSON.
            # None becomes JSON null, as the JSON type (and the ORM) store an explicit None.
            if same:
                columns.append(cast(bindparam(f"p_{name}", json.dumps(values[0]), type_=Text()),
                                    column.type))
            else:
                param = bindparam(f"p_{name}", [json.dumps(v) for v in values],
                                  type_=postgresql.ARRAY(Text()))
                columns.append(cast(func.unnest(param), column.type))
        elif same:
            columns.append(cast(bindparam(f"p_{name}", values[0], type_=column.type), column.type))
        else:
            param = bindparam(f"p_{name}", values, type_=postgresql.ARRAY(column.type))
            columns.append(func.unnest(param))
    pg = postgresql.insert(table).from_select(names, select(*columns))
    if skip_conflicts_on:
        pg = pg.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
    if returning:
        return [tuple(r) for r in session.execute(pg.returning(*returning))]
    session.execute(pg)
    return []
