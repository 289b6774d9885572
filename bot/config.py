"""Configuration: one typed, frozen object read from TOML, with secrets from the environment.

Every key has a default in code so the demo needs no file. Any key can be set from the
environment as CHECKINS_<SECTION>_<KEY> (e.g. CHECKINS_TWILIO_AUTH_TOKEN); CHECKINS_DATABASE_URL is
short for CHECKINS_SERVICE_DATABASE_URL. Invalid values stop start-up with one line naming the key.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from escalation.replies import ReplySettings


class ConfigError(ValueError):
    """A configuration problem; the message names the key and what is wrong."""


_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class ServiceConfig:
    org_name: str = "your mentoring service"
    database_url: str = field(default="sqlite:///checkins.db", repr=False)  # may hold a password
    public_base_url: str = "http://127.0.0.1:8080"
    host: str = "127.0.0.1"
    port: int = 8080
    timezone: str = "Europe/London"
    quiet_hours: str = "21:00-08:00"
    help_phone: str = ""  # the coordinator's number mentees can ring
    tick_seconds: float = 5.0
    retention_days: int = 365


@dataclass(frozen=True)
class CheckinConfig:
    flow: str = "weekly"
    default_plan: str = "mon 10:00"
    reminder_after_hours: float = 4.0
    expire_after_hours: float = 24.0
    late_window_hours: float = 3.0  # after downtime, a check-in this late still goes out once
    release_daily_days: int = 7
    release_daily_time: str = "10:00"
    missed_streak_mentor: int = 2
    missed_streak_supervisor: int = 3
    claim_batch: int = 500


@dataclass(frozen=True)
class TwilioConfig:
    enabled: bool = False
    account_sid: str = ""
    auth_token: str = field(default="", repr=False)
    from_number: str = ""
    messaging_service_sid: str = ""
    api_base_url: str = "https://api.twilio.com"
    messages_per_second: float = 10.0
    validity_seconds: int = 3600


@dataclass(frozen=True)
class TelegramConfig:
    enabled: bool = False
    token: str = field(default="", repr=False)
    api_base_url: str = "https://api.telegram.org"
    mode: str = "polling"  # polling | webhook
    secret_token: str = field(default="", repr=False)
    bot_username: str = ""


@dataclass(frozen=True)
class EmailConfig:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 587
    starttls: bool = True
    username: str = ""
    password: str = field(default="", repr=False)
    from_address: str = "checkins@localhost"
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class EscalationConfig:
    urgent_reack_minutes: float = 15.0
    repeat_minutes: float = 15.0
    concern_supervisor_minutes: float = 240.0
    fold_hours: float = 24.0


@dataclass(frozen=True)
class DigestConfig:
    enabled: bool = True
    day: str = "mon"
    time: str = "08:00"
    no_contact_days: int = 7
    missed_streak: int = 2
    mentor_digest: bool = False


@dataclass(frozen=True)
class SecurityConfig:
    """Encryption at rest (see bot/keyring.py). Empty: a SQLite file gets a key file beside it."""

    keys: dict[str, str] = field(default_factory=dict, repr=False)  # key id -> key (base64)
    active_key: str = ""  # the key new values are encrypted with
    lookup_key: str = field(default="", repr=False)  # for the phone / chat id hashes
    key_file: str = ""  # or read all three from this file (`checkins keygen --out FILE`)


@dataclass(frozen=True)
class Config:
    service: ServiceConfig = field(default_factory=ServiceConfig)
    checkins: CheckinConfig = field(default_factory=CheckinConfig)
    twilio: TwilioConfig = field(default_factory=TwilioConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    email: EmailConfig = field(default_factory=EmailConfig)
    escalation: EscalationConfig = field(default_factory=EscalationConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    replies: ReplySettings = field(default_factory=ReplySettings)
    security: SecurityConfig = field(default_factory=SecurityConfig)

    def with_database(self, url: str) -> Config:
        return dataclasses.replace(self, service=dataclasses.replace(self.service, database_url=url))


def _coerce(section: str, key: str, raw: Any, kind: type) -> Any:
    where = f"[{section}] {key}"
    if getattr(kind, "__origin__", None) is dict:
        return _table_of_text(where, raw)
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in {"true", "1", "yes", "on", "false", "0", "no", "off"}:
            return raw.lower() in {"true", "1", "yes", "on"}
        raise ConfigError(f"config {where}: must be true or false, got {raw!r}")
    if kind in (int, float):
        if isinstance(raw, bool):
            raise ConfigError(f"config {where}: must be a number, got {raw!r}")
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"config {where}: must be a number, got {raw!r}") from None
        if value < 0:
            raise ConfigError(f"config {where}: must not be negative, got {raw!r}")
        return value
    if not isinstance(raw, str):
        raise ConfigError(f"config {where}: must be text, got {raw!r}")
    return raw


def _table_of_text(where: str, raw: Any) -> dict[str, str]:
    """A TOML table of texts, or from the environment "k1=...,k2=..."."""
    if isinstance(raw, str):
        pairs = [p.strip() for p in raw.split(",") if p.strip()]
        if not all("=" in p for p in pairs):
            raise ConfigError(f"config {where}: must look like k1=KEY,k2=KEY")
        raw = dict(p.split("=", 1) for p in pairs)
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ConfigError(f"config {where}: must be a table of texts, e.g. {{k1 = \"...\"}}")
    return {str(k).strip(): v.strip() for k, v in raw.items()}


def _validate(cfg: Config) -> None:
    try:
        ZoneInfo(cfg.service.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"config [service] timezone: unknown time zone {cfg.service.timezone!r}") from None
    parts = cfg.service.quiet_hours.split("-")
    if cfg.service.quiet_hours and (len(parts) != 2 or not all(_HHMM.match(p.strip()) for p in parts)):
        raise ConfigError(
            f"config [service] quiet_hours: must look like 21:00-08:00, got {cfg.service.quiet_hours!r}"
        )
    for section, key, value in (
        ("checkins", "release_daily_time", cfg.checkins.release_daily_time),
        ("digest", "time", cfg.digest.time),
    ):
        if not _HHMM.match(value):
            raise ConfigError(f"config [{section}] {key}: must be HH:MM, got {value!r}")
    if cfg.digest.day not in {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}:
        raise ConfigError(f"config [digest] day: must be mon..sun, got {cfg.digest.day!r}")
    if cfg.telegram.mode not in {"polling", "webhook"}:
        raise ConfigError(f"config [telegram] mode: must be polling or webhook, got {cfg.telegram.mode!r}")
    try:
        cfg.replies.validate()
    except ValueError as exc:
        raise ConfigError(f"config [replies]: {exc}") from None
    if not cfg.service.public_base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"config [service] public_base_url: must start with https://, got {cfg.service.public_base_url!r}"
        )
    if cfg.security.keys:
        from bot.keyring import Keyring

        try:
            Keyring.from_settings(cfg.security.keys, cfg.security.active_key, cfg.security.lookup_key,
                                  source="config")
        except ValueError as exc:
            raise ConfigError(f"{exc}") from None
    if cfg.checkins.default_plan:
        from bot.schedule import PlanError, parse_plan

        try:
            parse_plan(cfg.checkins.default_plan)
        except PlanError as exc:
            raise ConfigError(f"config [checkins] default_plan: {exc}") from None


def _validate_providers(cfg: Config) -> None:
    """What talking to Twilio and Telegram needs (tokens come from the environment)."""
    if cfg.telegram.enabled and not cfg.telegram.token:
        raise ConfigError("config [telegram] token: required when telegram is enabled (CHECKINS_TELEGRAM_TOKEN)")
    if cfg.telegram.enabled and cfg.telegram.mode == "webhook" and not re.fullmatch(
        r"[A-Za-z0-9_-]{1,256}", cfg.telegram.secret_token
    ):
        raise ConfigError(
            "config [telegram] secret_token: webhook mode needs 1-256 of A-Z a-z 0-9 _ - "
            "(CHECKINS_TELEGRAM_SECRET_TOKEN)"
        )
    if cfg.twilio.enabled:
        for key in ("account_sid", "auth_token"):
            if not getattr(cfg.twilio, key):
                raise ConfigError(f"config [twilio] {key}: required when twilio is enabled")
        if not (cfg.twilio.from_number or cfg.twilio.messaging_service_sid):
            raise ConfigError("config [twilio] from_number: set it or messaging_service_sid")


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None, *,
                providers: bool = True) -> Config:
    """Read config from `path` (optional) and `environ`; raise ConfigError on any bad value.

    `providers=False` skips what only talking to Twilio and Telegram needs (their tokens), for
    commands that never send: a coordinator's shell need not hold the service's secrets.
    """
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: not valid TOML: {exc}") from None
    known = {f.name: f for f in fields(Config)}
    for section in data:
        if section not in known:
            raise ConfigError(f"config [{section}]: unknown section; known: {', '.join(known)}")
    sections: dict[str, Any] = {}
    for name, fdef in known.items():
        cls = fdef.default_factory()  # type: ignore[misc]
        hints = get_type_hints(type(cls))
        given = data.get(name, {})
        if not isinstance(given, dict):
            raise ConfigError(f"config [{name}]: must be a table")
        for key in given:
            if key not in hints:
                raise ConfigError(f"config [{name}] {key}: unknown key")
        values: dict[str, Any] = {}
        for key, kind in hints.items():
            env_key = f"CHECKINS_{name}_{key}".upper()
            raw = environ.get(env_key, given.get(key))
            if name == "service" and key == "database_url":
                raw = environ.get("CHECKINS_DATABASE_URL", raw)
            if raw is not None:
                values[key] = _coerce(name, key, raw, kind)
        sections[name] = type(cls)(**values)
    cfg = Config(**sections)
    _validate(cfg)
    if providers:
        _validate_providers(cfg)
    return cfg
