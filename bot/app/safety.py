"""Safe-contact settings for one mentee (staff who manage them): safe-to-text windows,
discreet mode, a code word, and whether it is safe to text at their number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.app.actor import Actor
from bot.app.errors import InvalidInput
from bot.app.unit import MenteeRef, Unit, run
from bot.schedule import PlanError
from bot.schedule.send_window import SafeWindows
from bot.service.runtime import Services
from bot.service.quiet import quiet_hours_for, tz_for
from bot.service.safe_contact import normalise_code_word
from bot.engine.keywords import keyword_of


@dataclass(frozen=True)
class SafetyChanges:
    """None leaves a setting as it is; "" clears it."""

    windows: str | None = None  # "mon-fri 10:00-14:00"
    discreet: bool | None = None
    code_word: str | None = None
    safe_to_text: str | None = None  # yes | no | ask
    language: str | None = None  # the language their texts are in: en, cy ("" = English)


@dataclass(frozen=True)
class SafetySettings:
    mentee_id: int
    name: str
    windows: str
    discreet: bool
    has_code_word: bool  # the word itself is never shown back
    safe_to_text: str  # yes | no | ask (asked at the next contact)
    hold_until: datetime | None
    language: str = "en"


def show(svc: Services, actor: Actor, ref: MenteeRef) -> SafetySettings:
    """A mentee's safe-contact settings, for those who may change them (the word never shown)."""
    def work(unit: Unit) -> SafetySettings:
        return settings_of(unit.mentee(ref, manage=True))

    return run(svc, actor, work)


def change(svc: Services, actor: Actor, ref: MenteeRef, changes: SafetyChanges) -> SafetySettings:
    def work(unit: Unit) -> SafetySettings:
        m = unit.mentee(ref, manage=True)
        done: list[str] = []
        if changes.windows is not None:
            try:
                m.safe_windows = str(SafeWindows.parse(changes.windows)) if changes.windows.strip() else None
            except PlanError as exc:
                raise InvalidInput(f"safe-to-text windows: {exc}") from None
            if m.safe_windows:
                _opens_some_time(unit, m)
            done.append("windows")
        if changes.discreet is not None:
            m.discreet = changes.discreet
            done.append("discreet on" if changes.discreet else "discreet off")
        if changes.code_word is not None:
            m.code_word = _code_word(changes.code_word)
            done.append("code word set" if m.code_word else "code word cleared")
        if changes.safe_to_text is not None:
            answer = changes.safe_to_text.strip().lower()
            if answer not in {"yes", "no", "ask"}:
                raise InvalidInput("safe to text must be yes, no or ask")
            m.safe_check = {"yes": None, "no": "unsafe", "ask": "ask"}[answer]
            if answer == "yes":
                m.hold_until = None
            done.append(f"safe to text {answer}")
        if changes.language is not None:
            from bot.app.matching import _language

            language = _language(unit, changes.language)
            if language != (m.language or "en"):
                m.language = language
                done.append(f"language {language}")
        unit.audit("mentee.safety", mentee_id=m.id, detail=", ".join(done) or "nothing")  # never the word
        return settings_of(m)

    return run(svc, actor, work)


def _opens_some_time(unit: Unit, m: object) -> None:
    """Windows that all fall inside quiet hours would hold every message for ever."""
    window = quiet_hours_for(unit.svc.config, m)  # type: ignore[arg-type]
    try:
        window.next_open(unit.now, tz_for(m))  # type: ignore[arg-type]
    except PlanError:
        raise InvalidInput(f"safe-to-text windows {m.safe_windows} all fall inside quiet hours "  # type: ignore[attr-defined]
                           f"({unit.svc.config.service.quiet_hours}): nothing could ever be sent") from None


def _code_word(text: str) -> str | None:
    word = normalise_code_word(text)
    if not text.strip():
        return None
    if not word or len(word) > 40:
        raise InvalidInput("a code word is 1 to 40 letters or digits (a word or two)")
    from bot.wording.catalogue import known_languages

    if any(keyword_of(word, opted_out=True, language=lang) is not None or
           keyword_of(word, language=lang) is not None for lang in known_languages()):
        raise InvalidInput(f"{word!r} is a service keyword (STOP, START, HELP, CHECKIN); choose another")
    return word


def settings_of(m: object) -> SafetySettings:
    check = getattr(m, "safe_check", None)
    return SafetySettings(
        mentee_id=m.id, name=m.display_name, windows=m.safe_windows or "",  # type: ignore[attr-defined]
        discreet=bool(m.discreet), has_code_word=bool(m.code_word),  # type: ignore[attr-defined]
        safe_to_text={None: "yes", "unsafe": "no"}.get(check, "ask"),
        hold_until=m.hold_until, language=getattr(m, "language", None) or "en")  # type: ignore[attr-defined]
