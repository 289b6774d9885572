"""The SQLite files: their owner alone can read them, and blanked words leave no copy in them.

Read as an attacker with a copy of the files would: the raw bytes of the database, its -wal and
-shm, not through SQLite.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app.loops import retention
from bot.clock import ManualClock
from bot.service.runtime import Services
from bot.storage.db import make_engine, scrub_wal
from bot.storage.models import Message
from tests.bot.service.test_checkin_persistence import seed, settle, store, text

STRANGER = "+447700900777"


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask most servers run with (022), which made the file 0644 before."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _files(db: Path) -> list[Path]:
    return [p for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")) if p.exists()]


def _raw(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in _files(db))


def _db_path(svc: Services) -> Path:
    return Path(svc.engine.url.database or "")


def test_a_new_database_and_its_wal_and_shm_are_readable_by_their_owner_only(services: Services) -> None:
    seed(services)  # writes, so the -wal and -shm exist
    db = _db_path(services)
    files = _files(db)
    assert {p.name for p in files} == {db.name, db.name + "-wal", db.name + "-shm"}
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {p.name: "0o600" for p in files}


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "old.db"
    make_engine(f"sqlite:///{db}").dispose()
    os.chmod(db, 0o644)
    engine = make_engine(f"sqlite:///{db}")
    engine.dispose()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert "was readable by others" in caplog.text


def test_a_database_in_a_folder_that_does_not_exist_is_refused_not_made_up(tmp_path: Path) -> None:
    from bot.storage.db import DatabaseUnavailable

    with pytest.raises(DatabaseUnavailable, match="folder .* does not exist"):
        make_engine(f"sqlite:///{tmp_path / 'typo' / 'checkins.db'}")
    assert not (tmp_path / "typo").exists()


@pytest.fixture
def unencrypted(services: Services) -> Services:
    """Words are encrypted at rest (bot/storage/sealed.py), so no plaintext ever reaches these
    files; blanking and scrubbing the WAL are the second line, for rows written before the
    keys (or if the keys were lost). These tests switch encryption off to check that line."""
    from bot.keyring import Keyring
    from bot.storage.sealed import attach

    attach(services.engine, Keyring.plaintext())
    return services


def test_a_strangers_words_are_blanked_and_survive_in_neither_the_database_nor_the_wal(unencrypted: Services) -> None:
    services = unencrypted
    words = "Zanzibar-marmalade-confession-4471"
    seed(services)
    store(services, words, sender=STRANGER)
    db = _db_path(services)
    assert words.encode() in _raw(db)  # the stored row really held them (the test can see them)
    settle(services)
    with services.sessions() as s:
        [row] = [m for m in s.scalars(select(Message).where(Message.direction == "in")) if m.address == STRANGER]
    assert (row.body, row.status) == ("", "unknown_sender")
    assert words.encode() not in _raw(db)
    assert words.encode("utf-16-le") not in _raw(db)


def test_words_blanked_by_retention_survive_in_neither_the_database_nor_the_wal(
        unencrypted: Services, clock: ManualClock) -> None:
    services = unencrypted
    words = "Quixotic-lighthouse-evening-9932 " * 40  # long enough to spill onto overflow pages
    seed(services)
    text(services, words)
    db = _db_path(services)
    assert b"Quixotic-lighthouse" in _raw(db)
    clock.advance(days=400)
    counts = retention(services)
    assert counts["messages"] >= 1
    assert b"Quixotic-lighthouse" not in _raw(db)


def test_without_scrubbing_the_wal_would_still_hold_blanked_words(unencrypted: Services) -> None:
    """Why scrub_wal exists: an UPDATE leaves the earlier page image in the WAL."""
    from sqlalchemy import update

    services = unencrypted
    words = b"Obsidian-walrus-paperwork-5518"
    seed(services)
    store(services, words.decode(), sender=STRANGER)
    with services.sessions() as s, s.begin():
        s.execute(update(Message).where(Message.direction == "in").values(body=""))
    db = _db_path(services)
    assert words in db.with_name(db.name + "-wal").read_bytes()
    assert scrub_wal(services.engine)
    assert words not in _raw(db)


def test_scrubbing_a_postgresql_or_memory_database_is_a_no_op() -> None:
    engine = make_engine("sqlite://")
    assert scrub_wal(engine) is True
    engine.dispose()



def test_every_connection_zeroes_freed_space(services: Services) -> None:
    """secure_delete is set per connection (this build defaults to it; others do not)."""
    raw = services.engine.raw_connection()
    try:
        assert raw.cursor().execute("PRAGMA secure_delete").fetchone()[0] == 1
    finally:
        raw.close()


def test_a_reader_holding_an_old_snapshot_makes_the_scrub_report_false_then_a_later_one_succeeds(
        services: Services, caplog: pytest.LogCaptureFixture) -> None:
    words = b"Velvet-ombudsman-tangerine-2207"
    seed(services)
    reader = services.engine.raw_connection()  # e.g. a long report, mid-read
    cursor = reader.cursor()
    cursor.execute("BEGIN")
    cursor.execute("SELECT count(*) FROM messages").fetchone()
    store(services, words.decode(), sender=STRANGER)
    settle(services)  # the turn blanks the words and tries to scrub: the reader is in the way
    db = _db_path(services)
    assert "could not be emptied yet" in caplog.text
    assert scrub_wal(services.engine) is False
    cursor.execute("COMMIT")
    cursor.close()
    reader.close()
    assert scrub_wal(services.engine) is True
    assert words not in _raw(db)
