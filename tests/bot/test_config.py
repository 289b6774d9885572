"""Configuration: defaults in code, a TOML file, secrets from the environment, one-line errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, load_config

REPO_ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str | None, environ: dict[str, str] | None = None) -> str:
    path = write(tmp_path, text) if text is not None else None
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ or {})
    message = str(caught.value)
    assert "\n" not in message, "start-up errors are one line"
    return message


def test_without_a_file_every_key_has_a_working_default() -> None:
    cfg = load_config(None, {})
    assert cfg == Config()
    assert cfg.service.database_url == "sqlite:///checkins.db"
    assert cfg.service.timezone == "Europe/London"
    assert cfg.service.quiet_hours == "21:00-08:00"
    assert cfg.checkins.flow == "weekly"
    assert not cfg.twilio.enabled and not cfg.telegram.enabled and not cfg.email.enabled


def test_the_config_object_is_frozen() -> None:
    cfg = load_config(None, {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.service.port = 1  # type: ignore[misc]


def test_values_come_from_the_file_with_their_types(tmp_path: Path) -> None:
    path = write(tmp_path, """
[service]
org_name = "Northside Mentoring"
port = 9000
quiet_hours = "22:00-07:30"
timezone = "Europe/London"

[checkins]
reminder_after_hours = 2.5
default_plan = "tue 18:00"

[twilio]
enabled = true
account_sid = "AC123"
auth_token = "from-file"
from_number = "+447700900999"
""")
    cfg = load_config(path, {})
    assert cfg.service.org_name == "Northside Mentoring"
    assert cfg.service.port == 9000 and isinstance(cfg.service.port, int)
    assert cfg.service.quiet_hours == "22:00-07:30"
    assert cfg.checkins.reminder_after_hours == 2.5
    assert cfg.checkins.default_plan == "tue 18:00"
    assert cfg.twilio.enabled and cfg.twilio.auth_token == "from-file"
    assert cfg.checkins.expire_after_hours == Config().checkins.expire_after_hours  # untouched default


def test_secrets_from_the_environment_override_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, """
[service]
database_url = "sqlite:///from-file.db"
[twilio]
enabled = true
account_sid = "AC123"
auth_token = "from-file"
from_number = "+447700900999"
""")
    cfg = load_config(path, {
        "CHECKINS_TWILIO_AUTH_TOKEN": "from-env",
        "CHECKINS_DATABASE_URL": "postgresql://checkins@db/checkins",
        "CHECKINS_SERVICE_PORT": "8443",
        "CHECKINS_TELEGRAM_ENABLED": "true",
        "CHECKINS_TELEGRAM_TOKEN": "123:abc",
    })
    assert cfg.twilio.auth_token == "from-env"
    assert cfg.service.database_url == "postgresql://checkins@db/checkins"
    assert cfg.service.port == 8443
    assert cfg.telegram.enabled and cfg.telegram.token == "123:abc"


def test_the_environment_alone_is_enough_without_a_file() -> None:
    cfg = load_config(None, {"CHECKINS_DATABASE_URL": "sqlite:////var/lib/checkins/db.sqlite"})
    assert cfg.service.database_url == "sqlite:////var/lib/checkins/db.sqlite"


def test_the_short_database_variable_wins_over_the_long_one() -> None:
    cfg = load_config(None, {"CHECKINS_SERVICE_DATABASE_URL": "sqlite:///long.db",
                             "CHECKINS_DATABASE_URL": "sqlite:///short.db"})
    assert cfg.service.database_url == "sqlite:///short.db"


@pytest.mark.parametrize(("toml", "names"), [
    ('[service]\nport = "eighty"\n', "[service] port: must be a number"),
    ("[checkins]\nreminder_after_hours = -1\n", "[checkins] reminder_after_hours: must not be negative"),
    ("[twilio]\nenabled = \"sometimes\"\n", "[twilio] enabled: must be true or false"),
    ("[service]\norg_name = 5\n", "[service] org_name: must be text"),
    ("[service]\nprot = 8080\n", "[service] prot: unknown key"),
    ("[servic]\nport = 8080\n", "[servic]: unknown section"),
    ('[service]\ntimezone = "Europe/Lundun"\n', "[service] timezone: unknown time zone 'Europe/Lundun'"),
    ('[service]\nquiet_hours = "9pm-8am"\n', "[service] quiet_hours: must look like 21:00-08:00"),
    ('[service]\nquiet_hours = "21:00-25:00"\n', "[service] quiet_hours"),
    ('[digest]\nday = "monday"\n', "[digest] day"),
    ('[digest]\ntime = "8am"\n', "[digest] time: must be HH:MM"),
    ("[telegram]\nenabled = true\n", "[telegram] token: required when telegram is enabled"),
    ("[twilio]\nenabled = true\n", "[twilio] account_sid: required"),
    ('[service]\npublic_base_url = "example.org"\n', "[service] public_base_url"),
    ("service = 3\n", "[service]: must be a table"),
])
def test_an_invalid_value_stops_start_up_naming_the_key(tmp_path: Path, toml: str, names: str) -> None:
    assert names in error_of(tmp_path, toml)


def test_a_bad_value_from_the_environment_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"\[service\] port: must be a number, got 'http'"):
        load_config(None, {"CHECKINS_SERVICE_PORT": "http"})


def test_invalid_toml_says_so(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[service\nport = 1\n")
    assert "not valid TOML" in message and "config.toml" in message


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", {})


def test_the_example_config_at_the_repo_root_loads() -> None:
    example = REPO_ROOT / "config.example.toml"
    if not example.exists():
        pytest.skip("config.example.toml is not written yet")
    cfg = load_config(example, {})
    assert isinstance(cfg, Config)


def test_secrets_never_appear_in_the_config_repr() -> None:
    """Config objects end up in logs and tracebacks; tokens and passwords must not."""
    cfg = load_config(None, {"CHECKINS_TWILIO_AUTH_TOKEN": "tw-secret", "CHECKINS_TELEGRAM_TOKEN": "tg-secret",
                             "CHECKINS_EMAIL_PASSWORD": "mail-secret",
                             "CHECKINS_DATABASE_URL": "postgresql://u:db-secret@h/x"})
    text = repr(cfg)
    assert not any(s in text for s in ("tw-secret", "tg-secret", "mail-secret", "db-secret"))
    assert cfg.twilio.auth_token == "tw-secret"
