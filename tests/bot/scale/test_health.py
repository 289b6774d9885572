"""/healthz says the process is alive; /readyz that the database answers and the loops run."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine

from bot.clock import ManualClock
from bot.config import Config
from bot.service.runtime import build_services
from bot.service.server import build_app, readiness_report
from tests.conftest import TEST_START
from tests.fakes.server import ThreadedServer


def _services(tmp_path: Path):  # type: ignore[no-untyped-def]
    cfg = Config().with_database(f"sqlite:///{tmp_path / 'health.db'}")
    cfg = dataclasses.replace(cfg, service=dataclasses.replace(cfg.service, quiet_hours=""))
    return build_services(cfg, ManualClock(TEST_START))


def test_ready_when_the_database_answers_and_every_loop_has_run(tmp_path: Path) -> None:
    svc = _services(tmp_path)
    app, runner = build_app(svc)
    with ThreadedServer(app) as server:
        assert httpx.get(server.url + "/healthz", trust_env=False).json() == {"status": "ok"}
        response = httpx.get(server.url + "/readyz", trust_env=False)
        while response.json()["checks"]["risk rules"] == "loading":  # warming up in the background
            assert response.status_code == 503
            time.sleep(0.05)
            response = httpx.get(server.url + "/readyz", trust_env=False)
        assert response.status_code == 200
        assert response.json() == {"status": "ready", "checks": {
            "database": "ok", "inbound": "ok", "jobs": "ok", "outbox": "ok", "risk rules": "ok",
            "urgent outbox": "ok",
            "ticker": "ok"}}

        # The sender gets stuck: its loop stops making passes, and its last one was an hour ago.
        outbox_loop = next(t for t in runner.tasks if t.get_name() == "outbox")
        svc.wakeups.loop.call_soon_threadsafe(outbox_loop.cancel)  # type: ignore[union-attr]
        while not outbox_loop.done():
            time.sleep(0.01)
        runner.beats["outbox"] -= 3600
        response = httpx.get(server.url + "/readyz", trust_env=False)
        assert response.status_code == 503
        assert response.json()["status"] == "not ready"
        assert response.json()["checks"]["outbox"].startswith("no pass for 36")
        assert httpx.get(server.url + "/healthz", trust_env=False).status_code == 200  # alive
    svc.engine.dispose()


def test_not_ready_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    svc = _services(tmp_path)
    app, _ = build_app(svc, run_loops=False)  # a web-only process: no loops to check
    with ThreadedServer(app) as server:
        assert httpx.get(server.url + "/readyz", trust_env=False).json()["checks"] == {"database": "ok"}
        svc.engine = create_engine(f"sqlite:///{tmp_path / 'no such folder' / 'x.db'}")
        response = httpx.get(server.url + "/readyz", trust_env=False)
        assert response.status_code == 503
        assert response.json()["checks"] == {"database": "unreachable (OperationalError)"}
        assert httpx.get(server.url + "/healthz", trust_env=False).status_code == 200


def test_readiness_is_a_plain_function_of_the_checks() -> None:
    assert readiness_report("ok", {"inbound": 100.0}, 130.0, 60.0) == (True, {"database": "ok", "inbound": "ok"})
    assert readiness_report("ok", {"inbound": 100.0}, 161.0, 60.0) == (
        False, {"database": "ok", "inbound": "no pass for 61 s"})
    assert readiness_report("unreachable (OperationalError)", {}, 0.0, 60.0)[0] is False
