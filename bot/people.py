"""Validating people's details before they are stored: names, phone numbers, channels."""

from __future__ import annotations

from datetime import date

import phonenumbers

OFCOM_DRAMA_PREFIX = "+447700900"
CHANNELS = ("sms", "telegram")
STAFF_CHANNELS = ("sms", "telegram", "email")


class InvalidDetails(ValueError):
    """A detail a person would have to fix; the message says which and why."""


def normalise_phone(raw: str, region: str = "GB") -> str:
    """A valid phone number in E.164 (+447700900123), or InvalidDetails."""
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        raise InvalidDetails(f"phone {raw!r} is not a phone number") from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # Ofcom keeps 07700 900000-900999 for drama and testing; libphonenumber calls them invalid.
    drama = e164.startswith(OFCOM_DRAMA_PREFIX) and len(e164) == 13
    if not (phonenumbers.is_valid_number(number) or drama):
        raise InvalidDetails(f"phone {raw!r} is not a valid number")
    return e164


def as_id(ref: str | int) -> int | None:
    """A record id if `ref` can be one (digits, within a 32-bit key), else None: a phone typed
    as digits (07700900123) is not an id."""
    text = str(ref).strip()
    return int(text) if text.isdigit() and int(text) < 2**31 else None


def require_name(raw: str, what: str = "first name") -> str:
    name = " ".join(raw.split())
    if not name:
        raise InvalidDetails(f"{what} is required")
    if len(name) > 80:
        raise InvalidDetails(f"{what} is longer than 80 characters")
    return name


def parse_channel(raw: str, allowed: tuple[str, ...] = CHANNELS) -> str:
    value = raw.strip().lower() or "sms"
    if value not in allowed:
        raise InvalidDetails(f"channel {raw!r} must be one of {', '.join(allowed)}")
    return value


def parse_channel_list(raw: str) -> str:
    items = [parse_channel(c, STAFF_CHANNELS) for c in raw.split(",") if c.strip()]
    if not items:
        raise InvalidDetails("at least one channel is needed")
    return ",".join(dict.fromkeys(items))


def parse_date(raw: str, what: str) -> date | None:
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidDetails(f"{what} {raw!r} must be a date like 2026-12-01") from None
