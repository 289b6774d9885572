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


SMS_TYPES = frozenset({phonenumbers.PhoneNumberType.MOBILE,
                       phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})  # the US cannot tell


def sms_number(raw: str, regions: tuple[str, ...] = ("GB",)) -> str:
    """A mobile number in one of `regions` (`[service] sms_regions`) in E.164, or InvalidDetails.

    Check-ins and alerts go by SMS: a landline cannot take one, and a number abroad is charged
    and treated differently by carriers (and is more often a mistake than a mentee abroad).
    """
    e164 = normalise_phone(raw, regions[0] if regions else "GB")
    if e164.startswith(OFCOM_DRAMA_PREFIX) and len(e164) == 13:
        return e164  # Ofcom's drama range is mobile-shaped (07700 900xxx)
    number = phonenumbers.parse(e164)
    region = phonenumbers.region_code_for_number(number) or "unknown"
    if regions and region not in regions:
        raise InvalidDetails(f"phone {raw!r} is a number in {region}; SMS goes to numbers in "
                             f"{', '.join(regions)} only ([service] sms_regions)")
    if phonenumbers.number_type(number) not in SMS_TYPES:
        kind = _KINDS.get(phonenumbers.number_type(number), "not a mobile number")
        raise InvalidDetails(f"phone {raw!r} is {kind}; SMS needs a mobile number")
    return e164


_T = phonenumbers.PhoneNumberType
_KINDS = {_T.FIXED_LINE: "a landline", _T.TOLL_FREE: "a freephone number",
          _T.PREMIUM_RATE: "a premium-rate number", _T.SHARED_COST: "a shared-cost number",
          _T.VOIP: "an internet (VoIP) number", _T.PERSONAL_NUMBER: "a personal (forwarding) number",
          _T.PAGER: "a pager", _T.UAN: "a company number", _T.VOICEMAIL: "a voicemail number"}


def parse_regions(raw: str) -> tuple[str, ...]:
    """`[service] sms_regions` ("GB", "GB,IE") as region codes; InvalidDetails if one is unknown."""
    regions = tuple(dict.fromkeys(r.strip().upper() for r in raw.split(",") if r.strip()))
    unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
    if unknown or not regions:
        raise InvalidDetails(f"{', '.join(unknown) or 'nothing'} is not a region code like GB or IE")
    return regions


def parse_yes_no(raw: str, what: str) -> bool:
    """yes/no (y, true, 1 / n, false, 0, or empty for no) in a CSV cell; InvalidDetails otherwise."""
    value = raw.strip().lower()
    if value in {"yes", "y", "true", "1"}:
        return True
    if value in {"", "no", "n", "false", "0"}:
        return False
    raise InvalidDetails(f"{what} {raw!r} must be yes or no")


def check_alert_channels(channels: str, *, phone: str | None, email: str | None,
                         telegram_chat_id: str | None) -> None:
    """Every channel chosen for a staff member's alerts must have its address: alerts by email
    need an email, by SMS a phone. Telegram may be linked later (`checkins staff link`)."""
    needs = {"sms": (phone, "a phone number"), "email": (email, "an email address")}
    for channel in channels.split(","):
        address, what = needs.get(channel, ("linkable", ""))
        if not address:
            raise InvalidDetails(f"alerts by {channel} need {what}; give one or choose other channels")


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
