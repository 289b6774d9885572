"""The deployment files: every `checkins ...` command they run exists in the CLI, the compose
file parses, and a backup made by deploy/backup.sh restores with deploy/restore.sh.

Docker cannot run here (no base images), so the Dockerfile and compose file are checked, not run.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import build_parser

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CHECKINS = str(Path(sys.executable).parent / "checkins")


def _assert_cli_accepts(argv: list[str], where: str) -> None:
    try:
        build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: `checkins {' '.join(argv)}` is not a command the CLI accepts")


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_the_compose_file_parses_and_runs_real_commands() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"db", "migrate", "web", "worker"} <= set(services)
    commands = {name: s["command"] for name, s in services.items() if "command" in s}
    assert set(commands) == {"migrate", "web", "worker"}
    for name, command in commands.items():
        assert command[0] == "checkins", name
        _assert_cli_accepts(command[1:], f"compose service {name}")
    assert commands["migrate"][-1] == "init"
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_the_systemd_units_run_real_commands() -> None:
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {u.name for u in units} >= {"checkins.service", "checkins-web.service",
                                       "checkins-worker@.service", "checkins-migrate.service"}
    seen = 0
    for unit in units:
        for line in unit.read_text().splitlines():
            if line.startswith("ExecStart=") and "/bin/checkins" in line:
                argv = shlex.split(line.split("=", 1)[1])
                _assert_cli_accepts(argv[1:], unit.name)
                seen += 1
    assert seen == 4


def test_the_dockerfile_and_scripts_run_real_commands() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    [cmd] = re.findall(r"^CMD (\[.*\])$", dockerfile, flags=re.M)
    argv = json.loads(cmd)
    assert argv[0] == "checkins"
    _assert_cli_accepts(argv[1:], "Dockerfile CMD")
    restore = (DEPLOY / "restore.sh").read_text()
    [line] = [x for x in restore.splitlines() if x.startswith('"$checkins"')]
    _assert_cli_accepts(["--database", "postgresql://x/y", "init"], "restore.sh")
    assert line.split("#")[0].split() == ['"$checkins"', "--database", '"$url"', "init"]


def _createdb(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def _dropdb(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_restores_into_an_empty_database(tmp_path: Path) -> None:
    base = os.environ.get("CHECKINS_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("needs CHECKINS_TEST_POSTGRES_URL")
    from bot.storage.db import normalise_url

    admin_url = normalise_url(base).replace("postgresql+psycopg://", "postgresql://", 1)
    root = admin_url.rsplit("/", 1)[0]
    source, target = f"ck_src_{secrets.token_hex(4)}", f"ck_dst_{secrets.token_hex(4)}"
    _createdb(admin_url, source)
    _createdb(admin_url, target)
    try:
        env = {**os.environ, "CHECKINS_DATABASE_URL": f"{root}/{source}"}
        for argv in (["init"], ["staff", "add", "Dan Carter", "--phone", "07700900001"],
                     ["mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Dan Carter"]):
            subprocess.run([CHECKINS, *argv], env=env, check=True, capture_output=True)
        out = subprocess.run([str(DEPLOY / "backup.sh"), str(tmp_path)], env=env, check=True,
                             capture_output=True, text=True).stdout
        [dump] = list(tmp_path.glob("checkins-*.dump"))
        assert str(dump) in out
        env = {**os.environ, "CHECKINS_DATABASE_URL": f"{root}/{target}", "CHECKINS_BIN": CHECKINS}
        subprocess.run([str(DEPLOY / "restore.sh"), str(dump)], env=env, check=True, capture_output=True)
        listed = subprocess.run([CHECKINS, "mentee", "list"], env=env, check=True,
                                capture_output=True, text=True).stdout
        assert "Sam" in listed
    finally:
        _dropdb(admin_url, source)
        _dropdb(admin_url, target)
