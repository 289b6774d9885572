"""Personal data is encrypted at rest, found by keyed hash, and old plaintext rows still read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import alerts, mentees, safety
from bot.clock import ManualClock
from bot.config import Config, ConfigError, load_config
from bot.keyring import Keyring, MissingKey, WrongKey, beside, key_id_of, read_key_file
from bot.service.runtime import build_services
from bot.storage.db import make_engine, migrate
from bot.storage.models import Mentee, Message
from bot.storage.people import MenteeRepo
from bot.storage.sealed import attach, fill_missing_hashes
from tests.bot.app.conftest import SAM_PHONE, World
from tests.bot.protect.conftest import CRISIS, clear_database

SECRET_WORDS = ("Taylor", "+447700900123", "7700900123", "a rope", "ive had enough", "Called his sister")


def raw_database_text(w: World) -> str:
    """Every byte the database keeps, as text: the SQLite file and its WAL, or every row of
    every table on PostgreSQL."""
    url = w.svc.engine.url
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        data = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        return data.decode("latin-1")
    with w.svc.engine.connect() as conn:
        tables = conn.execute(text("select tablename from pg_tables where schemaname = current_schema()"))
        return "\n".join(str(row) for t in tables.scalars().all()
                         for row in conn.execute(text(f'select t::text from "{t}" t')))


def test_names_phones_bodies_and_evidence_are_not_in_the_database_in_clear(dp_world: World) -> None:
    """After a crisis, a staff note and an outcome, the raw database holds none of the words."""
    w = dp_world
    w.text(SAM_PHONE, CRISIS)
    code = alerts.list_alerts(w.svc, w.cora)[0].code
    alerts.add_note(w.svc, w.dan, code, "Called his sister")
    raw = raw_database_text(w)
    for word in SECRET_WORDS:
        assert word not in raw, word
    assert "enc:k1:" in raw
    # ...and the service reads them back in clear.
    detail = alerts.detail(w.svc, w.cora, code)
    assert "rope" in detail.evidence.lower() or "doing it tonight" in detail.evidence.lower()
    assert [h.detail for h in detail.history if h.kind == "note"] == ["Called his sister"]


def test_a_code_word_is_kept_encrypted_and_still_works(dp_world: World) -> None:
    """Whoever reads the database must not learn what a mentee at risk texts to stop contact."""
    w = dp_world
    safety.change(w.svc, w.cora, w.sam, safety.SafetyChanges(code_word="Bluebell"))
    assert "bluebell" not in raw_database_text(w).lower()
    w.text(SAM_PHONE, "bluebell")
    with w.svc.sessions() as s:
        assert s.get(Mentee, w.sam).hold_until is not None  # type: ignore[union-attr]


def test_lookups_by_phone_chat_id_and_name_still_work(dp_world: World) -> None:
    """The inbound turn finds Sam by his number; staff find him by number as typed or by name."""
    w = dp_world
    assert mentees.schedule(w.svc, w.cora, "07700 900123").mentee.id == w.sam
    assert mentees.schedule(w.svc, w.cora, "sam taylor").mentee.id == w.sam
    assert mentees.schedule(w.svc, w.cora, "Sam").mentee.id == w.sam
    with w.svc.sessions() as s:
        assert MenteeRepo(s).by_address("sms", SAM_PHONE).id == w.sam  # type: ignore[union-attr]
        assert MenteeRepo(s).by_address("sms", "+447700900999") is None
    w.text(SAM_PHONE, "hello")
    with w.svc.sessions() as s:
        inbound = s.query(Message).filter(Message.direction == "in").one()
        assert inbound.mentee_id == w.sam and inbound.body == "hello" and inbound.address == SAM_PHONE


def test_a_phone_already_taken_is_still_refused(dp_world: World) -> None:
    """Uniqueness moved to the hash: a second mentee with Sam's number is one clear line."""
    w = dp_world
    with pytest.raises(Exception, match="already belongs to"):
        mentees.add(w.svc, w.operator, mentees.NewMentee("Kim", "Dan Carter", phone=SAM_PHONE, plan="none"))


def test_rows_written_before_encryption_are_read_and_found(tmp_path: Path, clock: ManualClock) -> None:
    """A database written in clear (before this version) reads as before, and its people are
    found by phone once the service has started on it."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    clear_database(url, clock, "Old")
    bare = make_engine(url)
    with bare.connect() as conn:  # what an old version left: no hashes
        conn.execute(text("update mentees set phone_hash = null"))
        conn.commit()
    bare.dispose()
    svc = build_services(Config().with_database(url), clock)
    try:
        with svc.sessions() as s:
            found = MenteeRepo(s).by_address("sms", "+447700900555")
            assert found is not None and found.first_name == "Old" and found.last_name == "Row"
    finally:
        svc.engine.dispose()


def test_keys_never_show_in_a_repr_and_a_wrong_or_missing_key_is_one_line() -> None:
    ring = Keyring.generate()
    other = Keyring.generate()
    sealed = ring.seal("Sam Taylor")
    assert key_id_of(sealed) == "k1" and "Sam" not in sealed
    assert ring.open(sealed) == "Sam Taylor"
    assert ring.open("written in clear") == "written in clear"
    for shown in (repr(ring), str(ring)):
        assert all(repr(k) not in shown for k in ring.keys.values())
    with pytest.raises(WrongKey, match="right key file"):
        other.open(sealed)
    with pytest.raises(MissingKey, match="restore that key"):
        Keyring.generate(key_id="k2").open(sealed)
    cfg = Config()
    assert "keys" not in repr(cfg.security) and "lookup_key" not in repr(cfg.security)


def test_values_opened_lately_are_kept_bounded_and_only_for_their_own_keyring(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.keyring as keyring_module

    monkeypatch.setattr(keyring_module, "OPENED_KEPT", 3)
    ring = Keyring.generate()
    fresh = Keyring(keys=ring.keys, active=ring.active, lookup_key=ring.lookup_key, source="same keys")
    stored = [ring.seal(f"words {i}") for i in range(5)]
    # Another keyring with the same keys decrypts each value itself and gets the same words.
    assert [fresh.open(s) for s in stored] == [ring.open(s) for s in stored] == [f"words {i}" for i in range(5)]
    assert len(ring._opened) == 3 and len(fresh._opened) == 3  # oldest out first
    assert list(ring._opened.values()) == ["words 2", "words 3", "words 4"]
    assert "words" not in repr(ring)
    with pytest.raises(WrongKey):  # a value kept by one keyring never opens under another
        Keyring.generate().open(stored[4])
    assert ring.open("written in clear") == "written in clear" and "written in clear" not in ring._opened


def test_a_sqlite_database_gets_a_private_key_file_beside_it(tmp_path: Path, clock: ManualClock,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """No keys configured: the first run writes <db>.keys (0600); a lost key file is refused."""
    monkeypatch.delenv("CHECKINS_SECURITY_KEY_FILE", raising=False)
    db = tmp_path / "checkins.db"
    svc = build_services(Config().with_database(f"sqlite:///{db}"), clock)
    try:
        from bot.app import staff
        from bot.app.actor import Actor
        staff.add(svc, Actor.operator("t"), staff.NewStaff("Dan Carter", "mentor", phone="+447700900001"))
        mentees.add(svc, Actor.operator("t"), mentees.NewMentee("Sam", "Dan Carter", phone=SAM_PHONE,
                                                                plan="none"))
    finally:
        svc.engine.dispose()
    keys = beside(db)
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o600
    assert read_key_file(keys).active == "k1"
    keys.rename(tmp_path / "elsewhere.keys")
    with pytest.raises(ConfigError, match="key file .* is missing: restore"):
        build_services(Config().with_database(f"sqlite:///{db}"), clock)


def test_postgresql_without_keys_refuses_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHECKINS_SECURITY_KEY_FILE", raising=False)
    with pytest.raises(ConfigError, match="PostgreSQL needs encryption keys: run `checkins keygen`"):
        build_services(Config().with_database("postgresql+psycopg://nobody@127.0.0.1:1/none"))


def test_keys_from_the_config_file_and_environment(tmp_path: Path) -> None:
    ring = Keyring.generate()
    from bot.keyring import render_key_file
    section = render_key_file(ring).replace("active_key", "[security]\nactive_key", 1)
    section = section.replace("[keys]\n", "").replace("k1 =", "keys = {k1 =").rstrip() + "}\n"
    path = tmp_path / "config.toml"
    path.write_text(section, encoding="utf-8")
    cfg = load_config(path, environ={})
    assert cfg.security.active_key == "k1" and set(cfg.security.keys) == {"k1"}
    with pytest.raises(ConfigError, match=r"active_key: 'k9' is not one of the keys"):
        load_config(path, environ={"CHECKINS_SECURITY_ACTIVE_KEY": "k9"})
    with pytest.raises(ConfigError, match=r"keys.k1: not a key"):
        load_config(path, environ={"CHECKINS_SECURITY_KEYS": "k1=short"})
    from bot.keyring import new_key
    key, lookup = new_key(), new_key()
    env = load_config(None, environ={"CHECKINS_SECURITY_KEYS": f"k7={key}", "CHECKINS_SECURITY_ACTIVE_KEY": "k7",
                                     "CHECKINS_SECURITY_LOOKUP_KEY": lookup})
    assert env.security.keys == {"k7": key}
    assert key not in repr(env) and lookup not in repr(env)


def test_a_bare_engine_with_a_keyring_encrypts_too(tmp_path: Path, clock: ManualClock) -> None:
    """`attach` is all it takes; fill_missing_hashes gives clear rows their hashes."""
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    attach(engine, Keyring.generate())
    migrate(engine)
    assert fill_missing_hashes(engine) == 0
    engine.dispose()
