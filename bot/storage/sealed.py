"""Column types that encrypt on the way in and decrypt on the way out, and the lookup hashes.

The keyring belongs to the engine (`attach`), so repositories read and write plain text and
never see a key. An engine with no keyring attached stores values as given (bare engines in
migrations and a few storage tests); `build_services` always attaches one.

An encrypted column cannot be compared in SQL (each value has its own random nonce): find people
by the `*_hash` columns beside phone and chat id (`lookup`), and match names in Python.
Empty text stays empty, so retention's "blank it" and "is it blank?" work as before.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, Text, TypeDecorator, event
from sqlalchemy.sql import operators
from sqlalchemy.orm import Session

from bot.keyring import Keyring

_ATTR = "checkins_keyring"
_PLAIN = Keyring.plaintext()


def attach(engine: Engine, keyring: Keyring) -> None:
    """Read and write this engine's encrypted columns with `keyring`."""
    setattr(engine.dialect, _ATTR, keyring)


def keyring_of(dialect: Any) -> Keyring:
    keyring: Keyring = getattr(dialect, _ATTR, _PLAIN)
    return keyring


def session_keyring(session: Session) -> Keyring:
    return keyring_of(session.get_bind().dialect)


def lookup(session: Session, value: str) -> str:
    """The hash a phone number or Telegram chat id is stored under, for a WHERE clause."""
    return session_keyring(session).lookup(value)


class _NoComparing(TypeDecorator.Comparator[Any]):
    """`column == "text"` on an encrypted column can never match (every value has its own
    nonce): say so at once instead of quietly finding nothing. Blank ("") and None may be
    compared: they are stored as they are."""

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        value = other[0] if other else None
        texts = value if isinstance(value, list | tuple | set) else [value]
        if op in (operators.eq, operators.ne, operators.in_op, operators.like_op) \
                and any(isinstance(t, str) and t != "" for t in texts):
            raise TypeError(f"{self.expr} is encrypted and cannot be compared in SQL: compare "
                            "in Python, or use its *_hash column")
        return super().operate(op, *other, **kwargs)


class Sealed(TypeDecorator[str]):
    """Text encrypted with the engine's active key (AES-256-GCM, key id in the value)."""

    impl = Text
    cache_ok = True
    comparator_factory = _NoComparing

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None or value == "":
            return value
        return keyring_of(dialect).seal(str(value))

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None or value == "":
            return value
        return keyring_of(dialect).open(value)


class SealedJSON(TypeDecorator[Any]):
    """A JSON value (a conversation's answers so far) encrypted as one text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return keyring_of(dialect).seal(json.dumps(value, separators=(",", ":")))

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):  # a JSON column read before the migration
            return value
        return json.loads(keyring_of(dialect).open(value))


# Which mapped classes keep a hash beside which encrypted attributes: set up by models.py.
HASHED: dict[type, tuple[str, ...]] = {}


def hash_columns(cls: type, *attributes: str) -> None:
    """Keep `<attr>_hash` up to date on every insert and update of `cls` through the ORM."""
    HASHED[cls] = attributes

    def fill(_mapper: Any, connection: Any, target: Any) -> None:
        keyring = keyring_of(connection.dialect)
        for name in attributes:
            value = getattr(target, name)
            setattr(target, f"{name}_hash", keyring.lookup(value) if value else None)

    event.listen(cls, "before_insert", fill)
    event.listen(cls, "before_update", fill)


def fill_missing_hashes(engine: Engine) -> int:
    """Give rows written before the hashes existed (or by a bare engine) their lookup hashes."""
    from sqlalchemy import or_, select
    from sqlalchemy.orm import sessionmaker

    filled = 0
    with sessionmaker(engine)() as session, session.begin():
        for cls, attributes in HASHED.items():
            missing = [(getattr(cls, a).is_not(None)) & (getattr(cls, f"{a}_hash").is_(None))
                       for a in attributes]
            for row in session.scalars(select(cls).where(or_(*missing))):
                keyring = session_keyring(session)
                for name in attributes:
                    value = getattr(row, name)
                    setattr(row, f"{name}_hash", keyring.lookup(value) if value else None)
                filled += 1
    return filled
