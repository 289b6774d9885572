"""Encryption keys for personal data at rest: AES-256-GCM per value, a key id in every value.

A stored value looks like `enc:k1:<base64url of nonce + ciphertext + tag>`. The key id is also
authenticated (it is the GCM associated data), so a value cannot be passed off under another
key. Anything without the `enc:` shape is a value written before encryption was switched on and
is read as it is; `checkins rotate-key` encrypts those too.

Phone numbers and Telegram chat ids are also kept as a keyed hash (HMAC-SHA256 with a separate
lookup key) beside the ciphertext, so the service can still find "who sent this text?" with an
index, without the database ever holding the number in clear.

Where the keys come from (first that applies), see `keyring_for`:
1. `[security] keys`, `active_key`, `lookup_key` in the config (or CHECKINS_SECURITY_* variables);
2. `[security] key_file`, a file `checkins keygen --out FILE` wrote;
3. for a SQLite file, `<database file>.keys` beside it, made (mode 0600) on first run;
4. an in-memory SQLite database gets keys that live as long as the process.
PostgreSQL without keys refuses to start: there is no safe place to invent one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import sqlite3
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc:"
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_NONCE = 12
_TAG = 16
# Values opened lately, by their stored text. A stored value is unique (its own random nonce) and
# authenticated, so the same text always opens to the same words: a hit is safe. The service reads
# the same rows again and again (an inbound row is read to be ordered, then to be handled; a
# mentee's row every turn), and AES-GCM plus base64 is a visible part of each. Bounded, oldest
# out first: words of erased rows leave the process's memory as new rows are read.
OPENED_KEPT = 4096


class KeyProblem(ValueError):
    """A stored value the keys cannot open (its key is missing, or a key is wrong); one line."""


class MissingKey(KeyProblem):
    pass


class WrongKey(KeyProblem):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key() -> str:
    """A fresh 256-bit key, as the text a config or key file holds."""
    return _b64(os.urandom(32))


def decode_key(text: str, where: str) -> bytes:
    """The 32 bytes a key's text stands for; ValueError naming `where` if it is not one."""
    try:
        raw = _unb64(text.strip())
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 32:
        raise ValueError(f"{where}: not a key (expected 32 bytes in base64, as `checkins keygen` makes)")
    return raw


@dataclass(frozen=True)
class Keyring:
    """The keys one database is read and written with. Never shows a key in its repr."""

    keys: Mapping[str, bytes]
    active: str
    lookup_key: bytes
    source: str  # where the keys came from, for messages: "config", a file path, "memory"
    encrypting: bool = True  # False only for bare engines in tests and migrations: values stay as given
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, init=False, repr=False, compare=False)
    _opened: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def _cipher(self, key_id: str) -> AESGCM:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            cipher = self._ciphers[key_id] = AESGCM(self.keys[key_id])
        return cipher

    def __repr__(self) -> str:
        return (f"Keyring(active={self.active!r}, keys={sorted(self.keys)!r}, "
                f"source={self.source!r}, encrypting={self.encrypting})")

    __str__ = __repr__

    @classmethod
    def plaintext(cls) -> Keyring:
        """No encryption (an engine made without keys): values pass through, and lookups still work."""
        return cls(keys={}, active="", lookup_key=b"checkins-no-lookup-key", source="none",
                   encrypting=False)

    @classmethod
    def generate(cls, source: str = "memory", key_id: str = "k1") -> Keyring:
        return cls(keys={key_id: decode_key(new_key(), "new key")}, active=key_id,
                   lookup_key=decode_key(new_key(), "new key"), source=source)

    @classmethod
    def from_settings(cls, keys: Mapping[str, str], active: str, lookup: str, source: str,
                      where: str = "config [security]") -> Keyring:
        """From the texts a config section or key file holds; ValueError (one line) if wrong."""
        if not keys:
            raise ValueError(f"{where} keys: no keys given")
        decoded = {}
        for key_id, text in keys.items():
            if not KEY_ID.match(key_id):
                raise ValueError(f"{where} keys: key id {key_id!r} must be 1-16 of A-Z a-z 0-9 _ -")
            if not isinstance(text, str):
                raise ValueError(f"{where} keys: {key_id} must be text")
            decoded[key_id] = decode_key(text, f"{where} keys.{key_id}")
        if not active:
            raise ValueError(f"{where} active_key: required (one of {', '.join(sorted(keys))})")
        if active not in decoded:
            raise ValueError(f"{where} active_key: {active!r} is not one of the keys ({', '.join(sorted(keys))})")
        if not lookup:
            raise ValueError(f"{where} lookup_key: required (`checkins keygen` makes one)")
        return cls(keys=decoded, active=active, lookup_key=decode_key(lookup, f"{where} lookup_key"),
                   source=source)

    # ---- values ---------------------------------------------------------------------------------
    def seal(self, text: str) -> str:
        """`text` encrypted under the active key (as given, if this keyring does not encrypt)."""
        if not self.encrypting:
            return text
        nonce = os.urandom(_NONCE)
        sealed = self._cipher(self.active).encrypt(nonce, text.encode("utf-8"), self.active.encode())
        stored = f"{PREFIX}{self.active}:{_b64(nonce + sealed)}"
        self._keep(stored, text)  # a row written is often read back in the same turn
        return stored

    def _keep(self, stored: str, text: str) -> None:
        opened = self._opened
        if len(opened) >= OPENED_KEPT:
            try:
                del opened[next(iter(opened))]
            except (KeyError, StopIteration, RuntimeError):  # another thread took it first
                pass
        opened[stored] = text

    def open(self, stored: str) -> str:
        """The text a stored value holds: decrypted, or as it is if it was never encrypted."""
        found = self._opened.get(stored)
        if found is not None:
            return found
        text = self._open(stored)
        if text is not stored:
            self._keep(stored, text)
        return text

    def _open(self, stored: str) -> str:
        parsed = _parse(stored)
        if parsed is None:
            return stored
        key_id, blob = parsed
        if key_id not in self.keys:
            raise MissingKey(f"stored data is encrypted with key {key_id!r}, which this service does "
                             f"not have (keys from {self.source}): restore that key from your backup")
        try:
            return self._cipher(key_id).decrypt(blob[:_NONCE], blob[_NONCE:], key_id.encode()).decode("utf-8")
        except InvalidTag:
            raise WrongKey(f"stored data under key {key_id!r} does not open with the key of that name "
                           f"from {self.source}: is it the right key file?") from None

    def needs_sealing(self, stored: str | None) -> bool:
        """Is this stored value in clear or under another key than the active one?"""
        if not stored or not self.encrypting:
            return False
        parsed = _parse(stored)
        return parsed is None or parsed[0] != self.active

    def lookup(self, value: str) -> str:
        """The keyed hash a phone number or chat id is found by (hex, 64 characters)."""
        return hmac.new(self.lookup_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def key_id_of(stored: str | None) -> str | None:
    """The key a stored value is encrypted with, or None if it is in clear (or empty)."""
    parsed = _parse(stored) if stored else None
    return parsed[0] if parsed else None


def _parse(stored: str) -> tuple[str, bytes] | None:
    if not stored.startswith(PREFIX):
        return None
    key_id, sep, body = stored[len(PREFIX):].partition(":")
    if not sep or not KEY_ID.match(key_id):
        return None
    try:
        blob = _unb64(body)
    except (ValueError, TypeError):
        return None
    if len(blob) < _NONCE + _TAG:
        return None
    return key_id, blob


# ---- key files ----------------------------------------------------------------------------------
FILE_HEADER = (
    "# checkins encryption keys. Without this file the names, phone numbers, messages and answers\n"
    "# in the database cannot be read by anyone, you included. Keep a copy somewhere safe and\n"
    "# separate from the database backups (a password manager or a sealed USB stick).\n"
)


def render_key_file(keyring: Keyring) -> str:
    """The TOML a key file (or a config's [security] section) holds for this keyring."""
    lines = [FILE_HEADER, f'active_key = "{keyring.active}"', f'lookup_key = "{_b64(keyring.lookup_key)}"',
             "", "[keys]"]
    lines += [f'{key_id} = "{_b64(key)}"' for key_id, key in keyring.keys.items()]
    return "\n".join(lines) + "\n"


def write_key_file(path: Path, keyring: Keyring, *, replace: bool = False) -> None:
    """Write a key file readable by its owner only (0600); never over an existing one unless `replace`."""
    text = render_key_file(keyring)
    if replace:
        tmp = path.with_name(path.name + ".new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def read_key_file(path: Path) -> Keyring:
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"key file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"key file {path}: not valid TOML: {exc}") from None
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        raise ValueError(f"key file {path}: [keys] must be a table")
    return Keyring.from_settings(keys, str(data.get("active_key", "")), str(data.get("lookup_key", "")),
                                 source=str(path), where=f"key file {path}:")


def add_key(keyring: Keyring) -> Keyring:
    """The keyring with one more key (k<n+1>), made active; the old keys stay for reading."""
    n = len(keyring.keys) + 1
    while f"k{n}" in keyring.keys:
        n += 1
    key_id = f"k{n}"
    keys = {**keyring.keys, key_id: decode_key(new_key(), "new key")}
    return Keyring(keys=keys, active=key_id, lookup_key=keyring.lookup_key, source=keyring.source)


def sqlite_file(url: str) -> Path | None:
    """The database file of a sqlite:/// URL, or None (PostgreSQL, in-memory)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    path = path.split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return None
    return Path(path)


def beside(db_file: Path) -> Path:
    return db_file.with_name(db_file.name + ".keys")


def _holds_encrypted_data(db_file: Path) -> bool:
    if not db_file.exists() or db_file.stat().st_size == 0:
        return False
    try:
        conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT 1 FROM mentees WHERE first_name LIKE 'enc:%' LIMIT 1").fetchone()
            return row is not None
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def keyring_for(security: Any, database_url: str) -> Keyring:
    """The keyring for this config's database (see the module docstring); ValueError if none."""
    if security.keys:
        return Keyring.from_settings(dict(security.keys), security.active_key, security.lookup_key,
                                     source="config")
    # The environment names a key file even for a Config built in code (tests, embedding).
    key_file = security.key_file or os.environ.get("CHECKINS_SECURITY_KEY_FILE", "")
    if key_file:
        return read_key_file(Path(key_file).expanduser())
    db_file = sqlite_file(database_url)
    if db_file is not None:
        path = beside(db_file)
        if path.exists():
            return read_key_file(path)
        if _holds_encrypted_data(db_file):
            raise ValueError(f"the database {db_file} holds encrypted data but its key file {path} is "
                             "missing: restore the key file from your backup")
        path.parent.mkdir(parents=True, exist_ok=True)
        keyring = Keyring.generate(source=str(path))
        try:
            write_key_file(path, keyring)
        except FileExistsError:  # another process made it first: use theirs
            return read_key_file(path)
        return keyring
    if database_url.startswith("sqlite"):
        return Keyring.generate(source="memory")
    raise ValueError("config [security] keys: PostgreSQL needs encryption keys: run `checkins keygen` "
                     "and put them in [security] (or set [security] key_file)")
