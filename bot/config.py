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
    stranger_retention_days: int = 7  # a duty page about an unknown sender keeps their words this long
    log_level: str = "info"  # debug | info | warning | error
    sms_regions: str = "GB"  # where mentees' and staff's SMS numbers may be, e.g. "GB,JE,GG,IM"
    # Sending reliability (send-reliability branch): how long a claimed outbox row is held for
    # the worker sending it (renewed while it works; a dead worker's rows are taken back after
    # this), how many sends run at once, how long a provider call may take, how long after its
    # first try a send whose outcome is unknown (the provider answered too slowly) may be tried
    # again, the longest wait between two tries of a send that failed for a passing reason (5xx,
    # timeout), and how long an SQLite writer waits for the lock before its unit of work is retried.
    send_lease_seconds: float = 15.0
    send_concurrency: int = 32
    send_timeout_seconds: float = 10.0
    resend_window_minutes: float = 30.0
    send_retry_max_seconds: float = 1800.0
    sqlite_busy_timeout_seconds: float = 5.0
    # Turns run side by side for different people (PostgreSQL only; SQLite has one writer at a
    # time, so it runs one): a burst of crisis texts is not handled one after another.
    turn_workers: int = 1


@dataclass(frozen=True)
class CheckinConfig:
    flow: str = "weekly"
    default_plan: str = "mon 10:00"
    reminder_after_hours: float = 4.0
    expire_after_hours: float = 24.0
    late_window_hours: float = 3.0  # after downtime, a check-in this late still goes out once
    release_daily_days: int = 7
    release_daily_time: str = "10:00"
    # The one rule for check-ins started by hand (`checkin send`, the staff app): they wait for
    # the mentee's quiet hours like everything else unless this is false or `--now` is given.
    # Safe-to-text windows and a code-word hold are never overridden.
    manual_send_waits_for_quiet_hours: bool = True
    missed_streak_mentor: int = 2
    missed_streak_supervisor: int = 3
    claim_batch: int = 500


@dataclass(frozen=True)
class FlowsConfig:
    folder: str = ""  # your own *.toml flow files: they add to and override the shipped ones
    release_week: str = "release_week"  # the flow of the daily check-ins after release ("" = own)
    welfare: str = "welfare"  # asked once, a while after an alert is closed ("" = never)
    welfare_after_hours: float = 24.0


@dataclass(frozen=True)
class WordingConfig:
    # Your own catalogue files (en.toml, cy.toml, or a new language): each text there replaces
    # the shipped text of the same key; keys you leave out keep the shipped wording.
    folder: str = ""


@dataclass(frozen=True)
class SafeContactConfig:
    code_word_hold_hours: float = 12.0  # after the code word nothing is sent for this long
    ask_after_domestic_abuse: bool = True  # the next contact first asks if texting is safe
    safe_check_flow: str = "safe_check"


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
    concern_supervisor_minutes: float = 60.0  # a concern reaches the supervisor within an hour
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
class StaffConfig:
    """The staff web app under /staff (sign-in by a one-time code, sessions, alert links)."""

    enabled: bool = True
    session_idle_minutes: float = 60.0  # signed out after this long without a page
    session_max_hours: float = 12.0  # and after this long in any case
    code_minutes: float = 10.0  # a sign-in code works this long
    code_attempts: int = 5  # wrong tries before a code stops working
    codes_per_address_per_hour: int = 5  # codes asked for one phone or email
    signins_per_client_per_hour: int = 30  # code requests and wrong codes from one client address
    # Every answer to "send me a code" takes at least this long, staff address or not, so the
    # time it takes does not tell an outsider which addresses belong to staff.
    code_answer_seconds: float = 0.4
    # Signs the links in alert texts (/staff/a/CODE?s=...); "" = alert texts carry no link.
    link_secret: str = field(default="", repr=False)


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
    flows: FlowsConfig = field(default_factory=FlowsConfig)
    wording: WordingConfig = field(default_factory=WordingConfig)
    safe_contact: SafeContactConfig = field(default_factory=SafeContactConfig)
    twilio: TwilioConfig = field(default_factory=TwilioConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    email: EmailConfig = field(default_factory=EmailConfig)
    escalation: EscalationConfig = field(default_factory=EscalationConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    replies: ReplySettings = field(default_factory=ReplySettings)
    staff: StaffConfig = field(default_factory=StaffConfig)
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
    if cfg.service.log_level.lower() not in {"debug", "info", "warning", "error"}:
        raise ConfigError(
            f"config [service] log_level: must be debug, info, warning or error, got {cfg.service.log_level!r}"
        )
    from bot.people import InvalidDetails, parse_regions

    try:
        parse_regions(cfg.service.sms_regions)
    except InvalidDetails as exc:
        raise ConfigError(f"config [service] sms_regions: {exc}") from None
    for key, least in (("send_concurrency", 1), ("send_lease_seconds", 1), ("send_timeout_seconds", 0.1),
                       ("send_retry_max_seconds", 1), ("sqlite_busy_timeout_seconds", 0.01),
                       ("turn_workers", 1)):
        if getattr(cfg.service, key) < least:
            raise ConfigError(f"config [service] {key}: must be at least {least}, "
                              f"got {getattr(cfg.service, key)!r}")
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
    _validate_follow_up(cfg)
    if cfg.staff.link_secret and len(cfg.staff.link_secret) < 16:
        raise ConfigError("config [staff] link_secret: use at least 16 random characters "
                          "(CHECKINS_STAFF_LINK_SECRET)")
    if not 0 <= cfg.staff.code_answer_seconds <= 5:
        raise ConfigError("config [staff]: code_answer_seconds must be between 0 and 5")
    if cfg.staff.code_attempts < 1 or cfg.staff.session_idle_minutes <= 0 or cfg.staff.code_minutes <= 0:
        raise ConfigError("config [staff]: code_attempts, session_idle_minutes and code_minutes "
                          "must be more than 0")
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


# The floors for reminders and expiry (also in config.example.toml): less than this gives a
# mentee at work or asleep no fair chance to answer. A flow file may set its own, above them too.
MIN_REMINDER_HOURS = 0.5
MIN_EXPIRE_HOURS = 1.0


def _validate_follow_up(cfg: Config) -> None:
    c = cfg.checkins
    if c.reminder_after_hours < MIN_REMINDER_HOURS:
        raise ConfigError(f"config [checkins] reminder_after_hours: must be at least "
                          f"{MIN_REMINDER_HOURS:g} (half an hour), got {c.reminder_after_hours:g}")
    if c.expire_after_hours < MIN_EXPIRE_HOURS:
        raise ConfigError(f"config [checkins] expire_after_hours: must be at least "
                          f"{MIN_EXPIRE_HOURS:g}, got {c.expire_after_hours:g}")
    if c.expire_after_hours <= c.reminder_after_hours:
        raise ConfigError("config [checkins] expire_after_hours: must be later than "
                          f"reminder_after_hours ({c.reminder_after_hours:g})")


def _validate_providers(cfg: Config) -> None:
    """What talking to Twilio and Telegram needs (tokens come from the environment)."""
    if cfg.telegram.enabled and not cfg.telegram.token:
        raise ConfigError("config [telegram] token: required when telegram is enabled (CHECKINS_TELEGRAM_TOKEN)")
    if cfg.telegram.enabled and cfg.telegram.mode == "webhook" and not re.fullmatch(
        r"[A-Za-z0-9_-]{16,256}", cfg.telegram.secret_token
    ):
        # Telegram allows 1 character; a guessable secret lets anyone post updates as Telegram.
        raise ConfigError(
            "config [telegram] secret_token: webhook mode needs 16-256 characters of A-Z a-z 0-9 _ - "
            "(CHECKINS_TELEGRAM_SECRET_TOKEN; e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if cfg.twilio.enabled:
        for key in ("account_sid", "auth_token"):
            if not getattr(cfg.twilio, key):
                raise ConfigError(f"config [twilio] {key}: required when twilio is enabled")
        if not (cfg.twilio.from_number or cfg.twilio.messaging_service_sid):
            raise ConfigError("config [twilio] from_number: set it or messaging_service_sid")


def _use_wording(given: Any, environ: Mapping[str, str]) -> None:
    """Point the wording catalogue at `[wording] folder` before any section checks its texts
    (the [replies] numbers are checked inside the charity's safety texts too)."""
    from bot.wording.catalogue import CatalogueError, use_folder

    folder = environ.get("CHECKINS_WORDING_FOLDER", given.get("folder", "") if isinstance(given, dict) else "")
    try:
        use_folder(str(folder) or None)
    except CatalogueError as exc:
        raise ConfigError(f"config [wording] folder: {exc}") from None


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
    _use_wording(data.get("wording", {}), environ)
    sections: dict[str, Any] = {}
    for name, fdef in known.items():
        try:
            cls = fdef.default_factory()  # type: ignore[misc]
        except ValueError as exc:  # e.g. a wording catalogue whose safety texts fail their check
            raise ConfigError(f"config [{name}]: {exc}") from None
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
        try:
            sections[name] = type(cls)(**values)
        except ValueError as exc:  # a section that checks itself ([replies] numbers)
            raise ConfigError(f"config [{name}]: {exc}") from None
    cfg = Config(**sections)
    _validate(cfg)
    if providers:
        _validate_providers(cfg)
    return cfg
