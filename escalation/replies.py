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
- Every text is GSM-7 and one SMS segment, checked at start-up by `validate` (with the config's
  numbers, in every catalogue language) and by `checkins wording check` (with the UK numbers).

The wording itself is data: "safety.*" in bot/wording/catalogues/*.toml, in the mentee's language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields

from bot.gsm7 import SINGLE_SEGMENT, gsm7_length, non_gsm7_characters
from bot.wording.catalogue import catalogue, known_languages

CRISIS = "crisis"
HOUSING = "housing"
DOMESTIC_ABUSE = "domestic_abuse"
_KNOWN = frozenset({CRISIS, HOUSING, DOMESTIC_ABUSE})

# Texts that may be read by someone else on the mentee's phone must avoid these (English, Welsh).
DA_UNSAFE_WORDS: tuple[str, ...] = (
    "abuse", "abusive", "abuser", "domestic", "partner", "violence", "violent", "refuge",
    "hurt", "controlling", "coercive", "assault", "police", "escape", "leave",
    "cam-drin", "camdrin", "domestig", "trais", "treisgar", "lloches", "brifo", "heddlu",
    "dianc", "gadael", "ymosod",
)
# Safe messaging: no method, means or place words, and no "suicide", in any text we send
# (English and Welsh).
NEVER_SAY = re.compile(
    r"\b(suicid\w*|kill\w*|overdos\w*|od|pills?|tablets?|paracetamol|co-codamol|hang\w*|"
    r"rope|ligature|noose|bridge|jump\w*|cut(?:ting)?|blade|razor|knife|poison\w*|"
    r"hunanladd\w*|lladd\w*|gorddos\w*|tabled\w*|pils|rhaff|pont|neidio|torri|cyllell|gwenwyn\w*)\b",
    re.IGNORECASE,
)

# The texts, by catalogue key "safety.<name>" (bot/wording/catalogues/*.toml).
TEXTS = (
    "emergency_first", "urgent_lead", "stranger_lead", "stranger_domestic_abuse", "neutral_lead",
    "urgent_crisis", "urgent_housing", "urgent_domestic_abuse", "concern_crisis",
    "concern_housing", "concern_domestic_abuse", "acknowledgement",
)
_DA_SAFE_TEXTS = ("neutral_lead", "urgent_domestic_abuse", "concern_domestic_abuse",
                  "stranger_domestic_abuse", "emergency_first")


@dataclass(frozen=True)
class ReplySettings:
    """The helpline numbers in mentee replies (config [replies]); UK defaults. The wording is in
    the catalogue under "safety.*", in each mentee's language.

    Re-check every number on the provider's own site before go-live.
    """

    emergency: str = "999"
    silent_digits: str = "55"  # Silent Solution: call 999 from a mobile, then press 55
    samaritans: str = "116 123"
    shout: str = "85258"
    nhs_mental_health: str = "111, option 2"
    da_helpline: str = "0808 2000 247"  # National Domestic Abuse Helpline (Refuge), 24h
    shelter: str = "0808 800 4444"

    def __post_init__(self) -> None:
        self.validate()

    def numbers(self) -> dict[str, str]:
        return {spec.name: getattr(self, spec.name) for spec in fields(self)}

    def render(self, name: str, language: str = "en") -> str:
        """The safety text `name` in `language` (English if it has none), numbers filled in."""
        return catalogue(language).text(f"safety.{name}", **self.numbers())

    def validate(self) -> None:
        """Raise ValueError (one line) unless every safety text, in every language, is safe,
        GSM-7 and one SMS long with these numbers."""
        for key, value in self.numbers().items():
            if not value.strip() or non_gsm7_characters(value):
                raise ValueError(f"reply number {key!r} must be non-empty GSM-7 text")
        for language in known_languages():
            for name in TEXTS:
                problem = safety_problem(name, self.render(name, language))
                if problem:
                    where = "" if language == "en" else f" ({language})"
                    raise ValueError(f"reply text {name!r}{where} {problem}")


def safety_problem(name: str, text: str) -> str | None:
    """Why the filled safety text `name` must not be sent, or None."""
    bad = non_gsm7_characters(text)
    if bad:
        return f"has characters outside GSM-7: {''.join(bad)!r}"
    length = gsm7_length(text)
    if length > SINGLE_SEGMENT:
        return f"is {length} GSM-7 characters; one SMS holds {SINGLE_SEGMENT}"
    said = NEVER_SAY.search(text)
    if said:
        return f"must not say {said.group(0)!r} (safe messaging)"
    if name in _DA_SAFE_TEXTS:
        words = re.findall(r"[a-z-]+", text.lower())
        unsafe = sorted(set(words) & set(DA_UNSAFE_WORDS))
        if unsafe:
            return f"must stay neutral; remove {unsafe}"
    return None


def _normalise(categories: Iterable[str]) -> tuple[bool, bool, bool, bool]:
    cats = set(categories)
    unknown = not cats or bool(cats - _KNOWN)
    return CRISIS in cats, HOUSING in cats, DOMESTIC_ABUSE in cats, unknown


def mentee_safety_reply(categories: set[str], settings: ReplySettings,
                        emergency: bool = False, language: str = "en") -> list[str]:
    """Texts to send at once, whatever the hour, after an URGENT finding in these categories.
    `emergency` (an overdose already taken) puts "call 999 or go to A&E now" first."""
    crisis, housing, domestic_abuse, unknown = _normalise(categories)
    first = [settings.render("emergency_first", language)] if emergency else []
    if domestic_abuse:
        texts = [settings.render("urgent_domestic_abuse", language)]
        if crisis or unknown:
            texts.append(settings.render("urgent_crisis", language))
        return first + texts
    if unknown and not (crisis or housing):
        return first + [settings.render("neutral_lead", language), settings.render("urgent_crisis", language)]
    texts = [settings.render("urgent_lead", language)]
    if crisis or unknown:
        texts.append(settings.render("urgent_crisis", language))
    if housing:
        texts.append(settings.render("urgent_housing", language))
    return first + texts


def stranger_safety_reply(categories: set[str], settings: ReplySettings,
                          emergency: bool = False, language: str = "en") -> list[str]:
    """Texts for someone not registered with us who wrote something urgent: the helplines, and
    never "your mentor has been told" (they have none). Domestic abuse stays neutral."""
    crisis, housing, domestic_abuse, unknown = _normalise(categories)
    texts = [settings.render("emergency_first", language)] if emergency else []
    if domestic_abuse:
        texts.append(settings.render("stranger_domestic_abuse", language))
        if crisis or unknown:
            texts.append(settings.render("urgent_crisis", language))
        return texts
    texts.append(settings.render("stranger_lead", language))
    if crisis or unknown or not housing:
        texts.append(settings.render("urgent_crisis", language))
    if housing:
        texts.append(settings.render("urgent_housing", language))
    return texts


def mentee_concern_reply(categories: set[str], settings: ReplySettings,
                         language: str = "en") -> list[str]:
    """One gentler text after a concern-level finding: the mentor will be in touch, one helpline."""
    crisis, housing, domestic_abuse, unknown = _normalise(categories)
    if domestic_abuse:
        return [settings.render("concern_domestic_abuse", language)]
    if crisis or unknown or not housing:
        return [settings.render("concern_crisis", language)]
    return [settings.render("concern_housing", language)]


def mentee_ack_reply(settings: ReplySettings, language: str = "en") -> list[str]:
    """The reply to a plain unsolicited message: seen, passed on, not watched all the time."""
    return [settings.render("acknowledgement", language)]
