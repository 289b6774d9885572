"""`checkins rotate-key` re-encrypts everything under the active key, and carries on after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import alerts, protect
from bot.clock import ManualClock
from bot.config import Config, SecurityConfig
from bot.keyring import Keyring, add_key, read_key_file, write_key_file
from bot.service.runtime import build_services
from bot.storage.models import Mentee, Message, Staff
from bot.storage.people import MenteeRepo
from bot.storage.rekey import key_usage
from bot.storage.sealed import attach, keyring_of
from tests.bot.app.conftest import SAM_PHONE, World
from tests.bot.protect.conftest import CRISIS, clear_database


class Killed(Exception):
    """Stands in for the process dying between two batches."""


def fill(w: World, texts: int = 6) -> str:
    for n in range(texts):
        w.text(SAM_PHONE, f"message number {n}")
    w.text(SAM_PHONE, CRISIS)
    code = alerts.list_alerts(w.svc, w.cora)[0].code
    alerts.add_note(w.svc, w.dan, code, "Called his sister")
    return code


def bodies(w: World) -> list[str]:
    with w.svc.sessions() as s:
        return [m.body for m in s.scalars(select(Message).order_by(Message.id))]


def test_rotation_stopped_part_way_loses_nothing_and_a_second_run_finishes(dp_world: World) -> None:
    """Batches of 2, stopped after the third: old and new keys both in use and everything
    readable; run again, only the rest is rewritten, and the old key can then be dropped."""
    w = dp_world
    fill(w)
    before = bodies(w)
    old = keyring_of(w.svc.engine.dialect)
    new = add_key(old)
    attach(w.svc.engine, new)  # as after `checkins keygen --add-key` and a restart
    assert set(key_usage(w.svc.engine)) == {"k1"}
    seen: list[str] = []

    def stop_after_three(p: object) -> None:
        seen.append(str(p))
        if len(seen) == 3:
            raise Killed

    with pytest.raises(Killed):
        protect.rotate_keys(w.svc, w.operator, batch=2, progress=stop_after_three)
    half = key_usage(w.svc.engine)
    assert half["k2"] > 0 and half["k1"] > 0
    assert bodies(w) == before
    done = protect.rotate_keys(w.svc, w.operator, batch=2)
    assert set(done.usage) == {"k2"}
    total_rows = sum(n for n in done.rewritten.values())
    assert 0 < total_rows < sum(half.values())  # the first run's batches were not done again
    again = protect.rotate_keys(w.svc, w.operator, batch=2)
    assert sum(again.rewritten.values()) == 0  # idempotent
    # Only the new key now: everything still reads, and Sam is still found by his number.
    attach(w.svc.engine, Keyring(keys={"k2": new.keys["k2"]}, active="k2", lookup_key=new.lookup_key,
                                 source="k2 only"))
    assert bodies(w) == before
    with w.svc.sessions() as s:
        assert MenteeRepo(s).by_address("sms", SAM_PHONE).last_name == "Taylor"  # type: ignore[union-attr]
    rotations = w.audited("keys.rotate")
    assert [e.target for e in rotations] == ["k2", "k2"]  # the stopped run recorded nothing


def test_rows_written_in_clear_are_encrypted_by_rotate_key(tmp_path: Path, clock: ManualClock) -> None:
    """A database from before encryption: rotate-key leaves no value in clear."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    clear_database(url, clock, "Ozymandias")
    svc = build_services(Config().with_database(url), clock)
    try:
        assert key_usage(svc.engine)["clear"] == 4
        from bot.app.actor import Actor
        protect.rotate_keys(svc, Actor.operator("t"))
        assert set(key_usage(svc.engine)) == {"k1"}
        assert b"Ozymandias" not in (tmp_path / "old.db").read_bytes() + _wal(tmp_path / "old.db")
        with svc.sessions() as s:
            assert MenteeRepo(s).by_address("sms", "+447700900555").first_name == "Ozymandias"  # type: ignore[union-attr]
    finally:
        svc.engine.dispose()


def _wal(db: Path) -> bytes:
    wal = Path(f"{db}-wal")
    return wal.read_bytes() if wal.exists() else b""


def test_a_killed_rotate_key_process_resumes(tmp_path: Path, clock: ManualClock) -> None:
    """SIGKILL `checkins rotate-key` as soon as it reports its first batch, then run it again:
    every value ends up under the new key and reads back the same."""
    db = tmp_path / "c.db"
    keys = tmp_path / "c.keys"
    write_key_file(keys, Keyring.generate(source=str(keys)))
    env = {**os.environ, "CHECKINS_SECURITY_KEY_FILE": str(keys), "CHECKINS_DATABASE_URL": f"sqlite:///{db}"}
    cfg = Config(security=SecurityConfig(key_file=str(keys))).with_database(f"sqlite:///{db}")
    svc = build_services(cfg, clock)
    try:
        with svc.sessions() as s, s.begin():
            dan = Staff(name="Dan", role="mentor", phone="+447700900001", created_at=clock.now())
            s.add(dan)
            s.flush()
            sam = Mentee(first_name="Sam", phone=SAM_PHONE, mentor_id=dan.id, created_at=clock.now())
            s.add(sam)
            s.flush()
            for n in range(300):
                s.add(Message(direction="in", channel="sms", address=SAM_PHONE, mentee_id=sam.id,
                              body=f"text {n}", status="received", created_at=clock.now(),
                              updated_at=clock.now()))
    finally:
        svc.engine.dispose()
    write_key_file(keys, add_key(read_key_file(keys)), replace=True)
    command = [sys.executable, "-m", "bot.cli", "rotate-key", "--batch", "5"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[3])
    assert proc.stdout is not None
    first = proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert "re-encrypted" in first, proc.stderr.read()  # type: ignore[union-attr]
    svc = build_services(cfg, clock)
    try:
        partway = key_usage(svc.engine)
        assert partway["k2"] > 0  # the batches reported before the kill were kept
        finished = subprocess.run(command, env=env, capture_output=True, text=True, check=True,
                                  cwd=Path(__file__).resolve().parents[3])
        assert "every stored value is under key k2" in finished.stdout
        assert set(key_usage(svc.engine)) == {"k2"}
        with svc.sessions() as s:
            assert sorted(m.body for m in s.scalars(select(Message))) == sorted(f"text {n}" for n in range(300))
    finally:
        svc.engine.dispose()
