"""Migrations create the whole schema on SQLite and PostgreSQL, match the models, and re-run safely."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from bot.storage.db import MIGRATIONS, current_revision, make_engine, make_session_factory, migrate, transaction
from bot.storage.models import Base, Mentee, Staff

NOW = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)
EXPECTED_TABLES = set(Base.metadata.tables) | {"alembic_version"}


def head_revision() -> str:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def add_staff(engine: Engine) -> int:
    with transaction(make_session_factory(engine)) as session:
        staff = Staff(name="Priya Shah", role="supervisor", phone="+447700900002",
                      channels="sms", created_at=NOW)
        session.add(staff)
        session.flush()
        return staff.id


def check_migrations(engine: Engine) -> None:
    migrate(engine)
    assert set(inspect(engine).get_table_names()) == EXPECTED_TABLES
    assert current_revision(engine) == head_revision()
    assert schema_differences(engine) == [], "a model changed without a migration"
    staff_id = add_staff(engine)
    migrate(engine)  # again: a no-op that keeps the data
    assert current_revision(engine) == head_revision()
    with make_session_factory(engine)() as session:
        assert session.get(Staff, staff_id).name == "Priya Shah"  # type: ignore[union-attr]


def test_migrate_on_a_fresh_sqlite_file_creates_every_table_and_is_idempotent(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert current_revision(engine) is None
        check_migrations(engine)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_migrate_on_a_fresh_postgresql_schema_creates_every_table_and_is_idempotent(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select current_schema()")).scalar().startswith("t_")
        assert current_revision(engine) is None
        check_migrations(engine)
    finally:
        engine.dispose()


def test_sqlite_runs_with_wal_a_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    finally:
        engine.dispose()


def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fk.db'}")
    try:
        migrate(engine)
        with pytest.raises(IntegrityError):
            with transaction(make_session_factory(engine)) as session:
                session.add(Mentee(first_name="Sam", phone="+447700900123", mentor_id=999,
                                   created_at=NOW))
    finally:
        engine.dispose()


def test_instants_come_back_as_aware_utc_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'utc.db'}")
    try:
        migrate(engine)
        staff_id = add_staff(engine)
        with make_session_factory(engine)() as session:
            created = session.get(Staff, staff_id).created_at  # type: ignore[union-attr]
        assert created == NOW and created.tzinfo is not None
    finally:
        engine.dispose()
