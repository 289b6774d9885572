"""What the bot says to a mentee after a risk flag: short, warm, safe, and right for the risk.

Rules these texts follow (see the safeguarding notes; the safeguarding lead owns the wording):
- Never echo the mentee's words: no function here receives the message, so nothing can be echoed,
  and `ReplySettings.validate` refuses method words or "suicide" in any configured text.
- Say honestly that a human has been told and will be in touch; promise no confidentiality.
  Say "us", never "me": no person has read the message yet when these go out.
- An overdose or poisoning already taken (`emergency`): "call 999 or go to A&E now" comes first,
  before any other text.
- Someone not registered with us (`stranger_safety_reply`) has no mentor: they are never told
  "your mentor has been told"; the duty contact is told instead.
- Domestic abuse: someone else may read the phone. If `domestic_abuse` is among the categories,
  every text is neutral: no risk words, no "your mentor has been told" (that reveals a disclosure)
  and no housing text (council homelessness advice can reveal a plan to leave; the mentor's alert
  still carries the housing part, and the 24h line also helps people who need to leave).
- An unknown category (for example "could not classify") fails closed: neutral opening plus the
  crisis helplines, which are safe to show anyone.
- Every text is GSM-7 and one SMS segment, checked at start-up by `validate`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields

from bot.gsm7 import SINGLE_SEGMENT, gsm7_length, non_gsm7_characters

CRISIS = "crisis"
HOUSING = "housing"
DOMESTIC_ABUSE = "domestic_abuse"
_KNOWN = frozenset({CRISIS, HOUSING, DOMESTIC_ABUSE})

# Texts that may be read by someone else on the mentee's phone must avoid these.
DA_UNSAFE_WORDS: tuple[str, ...] = (
    "abuse", "abusive", "abuser", "domestic", "partner", "violence", "violent", "refuge",
    "hurt", "controlling", "coercive", "assault", "police", "escape", "leave",
)
# Safe messaging: no method, means or place words, and no "suicide", in any text we send.
NEVER_SAY = re.compile(
    r"\b(suicid\w*|kill\w*|overdos\w*|od|pills?|tablets?|paracetamol|co-codamol|hang\w*|"
    r"rope|ligature|noose|bridge|jump\w*|cut(?:ting)?|blade|razor|knife|poison\w*)\b",
    re.IGNORECASE,
)

_PLACEHOLDER_FIELDS = (
    "emergency", "silent_digits", "samaritans", "shout", "nhs_mental_health", "da_helpline",
    "shelter",
)
_DA_SAFE_TEXTS = ("neutral_lead", "urgent_domestic_abuse", "concern_domestic_abuse",
                  "stranger_domestic_abuse", "emergency_first")


@dataclass(frozen=True)
class ReplySettings:
    """Numbers and wording of mentee replies; UK defaults. Texts use {placeholders} for numbers.

    Re-check every number on the provider's own site before go-live.
    """

    emergency: str = "999"
    silent_digits: str = "55"  # Silent Solution: call 999 from a mobile, then press 55
    samaritans: str = "116 123"
    shout: str = "85258"
    nhs_mental_health: str = "111, option 2"
    da_helpline: str = "0808 2000 247"  # National Domestic Abuse Helpline (Refuge), 24h
    shelter: str = "0808 800 4444"

    emergency_first: str = (
        "If you have taken something, call {emergency} or go to A&E now, even if you feel OK. "
        "Please don't wait."
    )
    urgent_lead: str = (
        "Thank you for telling us. We're sorry things are so hard right now. Your mentor has "
        "been told and will be in touch as soon as they can."
    )
    stranger_lead: str = (
        "Thank you for telling us. We're sorry things are so hard right now. This number is not "
        "watched all the time, but our duty worker has been told."
    )
    stranger_domestic_abuse: str = (
        "Thanks for your message. If you ever need help fast call {emergency}. If you can't "
        "talk, press {silent_digits}. Free 24h line: {da_helpline}"
    )
    neutral_lead: str = "Thanks for your message. Your mentor will be in touch soon."
    urgent_crisis: str = (
        "If you are in danger now, call {emergency}. Talk any time, free: Samaritans "
        "{samaritans}. Or text SHOUT to {shout}. For NHS mental health help call "
        "{nhs_mental_health}."
    )
    urgent_housing: str = (
        "Free housing advice: Shelter {shelter}. Your local council's homelessness team can "
        "help before you lose your home. Probation can refer you if you agree."
    )
    urgent_domestic_abuse: str = (
        "Thanks for your message. Your mentor will be in touch soon. If you ever need help fast "
        "call {emergency}. If you can't talk, press {silent_digits}. Free 24h line: {da_helpline}"
    )
    concern_crisis: str = (
        "Thanks for letting us know. Your mentor will be in touch soon. If you want to talk "
        "before then, Samaritans are free, day or night: {samaritans}."
    )
    concern_housing: str = (
        "Thanks for letting us know. Your mentor will be in touch soon to help. Free housing "
        "advice: Shelter {shelter}."
    )
    concern_domestic_abuse: str = (
        "Thanks for your message. Your mentor will be in touch soon. Free 24h line if you ever "
        "need it: {da_helpline}"
    )
    acknowledgement: str = (
        "Thanks for your message. Your mentor will see it and reply when they can. This number "
        "is not watched all the time. In an emergency call {emergency}."
    )

    def __post_init__(self) -> None:
        self.validate()

    def render(self, name: str) -> str:
        """The text field `name` with its number placeholders filled in."""
        numbers = {key: getattr(self, key) for key in _PLACEHOLDER_FIELDS}
        template: str = getattr(self, name)
        try:
            return template.format_map(numbers)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"reply text {name!r}: bad placeholder ({exc})") from None

    def validate(self) -> None:
        """Raise ValueError (one line) unless every text is safe, GSM-7 and one SMS long."""
        for key in _PLACEHOLDER_FIELDS:
            value = getattr(self, key)
            if not value.strip() or non_gsm7_characters(value):
                raise ValueError(f"reply number {key!r} must be non-empty GSM-7 text")
        for spec in fields(self):
            if spec.name in _PLACEHOLDER_FIELDS:
                continue
            _check_text(spec.name, self.render(spec.name))
        for name in _DA_SAFE_TEXTS:
            words = re.findall(r"[a-z]+", self.render(name).lower())
            unsafe = sorted(set(words) & set(DA_UNSAFE_WORDS))
            if unsafe:
                raise ValueError(f"reply text {name!r} must stay neutral; remove {unsafe}")


def _check_text(name: str, text: str) -> None:
    bad = non_gsm7_characters(text)
    if bad:
        raise ValueError(f"reply text {name!r} has characters outside GSM-7: {''.join(bad)!r}")
    length = gsm7_length(text)
    if length > SINGLE_SEGMENT:
        raise ValueError(
            f"reply text {name!r} is {length} GSM-7 characters; one SMS holds {SINGLE_SEGMENT}"
        )
    said = NEVER_SAY.search(text)
    if said:
        raise ValueError(f"reply text {name!r} must not say {said.group(0)!r} (safe messaging)")


def _normalise(categories: Iterable[str]) -> tuple[bool, bool, bool, bool]:
    cats = set(categories)
    unknown = not cats or bool(cats - _KNOWN)
    return CRISIS in cats, HOUSING in cats, DOMESTIC_ABUSE in cats, unknown


def mentee_safety_reply(categories: set[str], settings: ReplySettings,
                        emergency: bool = False) -> list[str]:
    """Texts to send at once, whatever the hour, after an URGENT finding in these categories.
    `emergency` (an overdose already taken) puts "call 999 or go to A&E now" first."""
    crisis, housing, domestic_abuse, unknown = _normalise(categories)
    first = [settings.render("emergency_first")] if emergency else []
    if domestic_abuse:
        texts = [settings.render("urgent_domestic_abuse")]
        if crisis or unknown:
            texts.append(settings.render("urgent_crisis"))
        return first + texts
    if unknown and not (crisis or housing):
        return first + [settings.render("neutral_lead"), settings.render("urgent_crisis")]
    texts = [settings.render("urgent_lead")]
    if crisis or unknown:
        texts.append(settings.render("urgent_crisis"))
    if housing:
        texts.append(settings.render("urgent_housing"))
    return first + texts


def stranger_safety_reply(categories: set[str], settings: ReplySettings,
                          emergency: bool = False) -> list[str]:
    """Texts for someone not registered with us who wrote something urgent: the helplines, and
    never "your mentor has been told" (they have none). Domestic abuse stays neutral."""
    crisis, housing, domestic_abuse, unknown = _normalise(categories)
    texts = [settings.render("emergency_first")] if emergency else []
    if domestic_abuse:
        texts.append(settings.render("stranger_domestic_abuse"))
        if crisis or unknown:
            texts.append(settings.render("urgent_crisis"))
        return texts
    texts.append(settings.render("stranger_lead"))
    if crisis or unknown or not housing:
        texts.append(settings.render("urgent_crisis"))
    if housing:
        texts.append(settings.render("urgent_housing"))
    return texts


def mentee_concern_reply(categories: set[str], settings: ReplySettings) -> list[str]:
    """One gentler text after a concern-level finding: the mentor will be in touch, one helpline."""
    crisis, housing, domestic_abuse, unknown = _normalise(categories)
    if domestic_abuse:
        return [settings.render("concern_domestic_abuse")]
    if crisis or unknown or not housing:
        return [settings.render("concern_crisis")]
    return [settings.render("concern_housing")]


def mentee_ack_reply(settings: ReplySettings) -> list[str]:
    """The reply to a plain unsolicited message: seen, passed on, not watched all the time."""
    return [settings.render("acknowledgement")]
