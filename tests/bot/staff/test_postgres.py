"""Sign-in's own queries on PostgreSQL: codes (locked), throttle counts, sessions, sign-out
everywhere (the HTTP tests run them on SQLite)."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.app import loops, signin
from tests.bot.app.conftest import World
from tests.conftest import RecordingPhone

pytestmark = pytest.mark.postgres


def test_sign_in_and_sessions_work_on_postgresql(pg_world: World) -> None:
    w = pg_world
    assert signin.request_code(w.svc, "07700 900001", "10.0.0.9").ok
    asyncio.run(loops.send_pass(w.svc))
    phone: RecordingPhone = w.svc.channels["console"]  # type: ignore[assignment]
    code = re.search(r"code is (\d{6})", phone.texts_for("+447700900001")[-1]).group(1)  # type: ignore[union-attr]
    assert signin.sign_in(w.svc, "+447700900001", "000000" if code != "000000" else "111111",
                          "10.0.0.9").token is None
    first = signin.sign_in(w.svc, "+447700900001", code, "10.0.0.9").token
    assert first is not None
    second = signin.start_session(w.svc, w.dan.staff_id or 0)
    me = signin.resume(w.svc, first)
    assert me is not None and me.name == "Dan Carter" and me.role == "mentor"
    assert signin.sign_out_everywhere(w.svc, me.actor) == 2
    assert signin.resume(w.svc, first) is None and signin.resume(w.svc, second) is None
    for _ in range(5):
        assert signin.request_code(w.svc, "+447700900777", "10.0.0.9").ok
    assert not signin.request_code(w.svc, "+447700900777", "10.0.0.9").ok  # 5 an hour
