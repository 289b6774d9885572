"""What staff are told about an alert: one-SMS texts, a fuller email, and the acknowledgement code.

SMS texts always fit one GSM-7 segment (the excerpt is what gets shortened) and name the mentee by
first name and initial only. No text carries the message history: `checkins alerts show CODE`
does, behind staff login.
"""

from __future__ import annotations

import random
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.gsm7 import SINGLE_SEGMENT, gsm7_length, to_gsm7
from escalation.alert_view import AlertView

LONDON = ZoneInfo("Europe/London")

# No 0/O, 1/I/L: read aloud or typed on a keypad, these get confused.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_DIGITS = frozenset("23456789")
CODE_LENGTH = 4

def staff_text(key: str, **values: str) -> str:
    """The staff text "staff.<key>" from the wording catalogue (English: staff have no language)."""
    from bot.wording.catalogue import catalogue

    return catalogue("en").text(f"staff.{key}", **values)


def _staff_optional(key: str) -> str | None:
    from bot.wording.catalogue import catalogue

    texts = catalogue("en").texts
    return texts.get(f"staff.{key}")


def category_words(category: str) -> str:
    """The category in plain words; an unknown one is still shown, never dropped."""
    words = _staff_optional(f"category.{category}")
    if words is not None:
        return words
    return category.replace("_", " ") or staff_text("category.unknown")


def severity_words(severity: str) -> str:
    return _staff_optional(f"severity.{severity}") or severity


def new_alert_code(rng: random.Random, taken: Container[str] = frozenset()) -> str:
    """A short code like "K7Q2": at least one digit and one letter, so it is never a word
    (a staff "ok call her" can't acknowledge anything), and not in `taken`."""
    for _ in range(10_000):
        code = "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        has_digit = any(ch in CODE_DIGITS for ch in code)
        has_letter = any(ch not in CODE_DIGITS for ch in code)
        if has_digit and has_letter and code not in taken:
            return code
    raise RuntimeError("no free alert code left; close old alerts or lengthen the code")


def format_age(age: timedelta) -> str:
    """ "15 min", "2 h 5 min", "3 days 4 h": how long an alert has waited."""
    minutes = max(0, int(age.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days > 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {mins} min" if mins else "")
    return f"{mins} min"


# Emoji that carry risk meaning (see the risk notes) become words for staff instead of vanishing
# in GSM-7 shaping. Staff texts only: mentee texts never echo anything.
RISK_EMOJI_WORDS: dict[str, str] = {
    "\U0001F48A": "[pills]", "\U0001F52A": "[knife]", "\U0001F62D": "[sobbing]",
    "\U0001F489": "[syringe]", "\U0001FA78": "[blood]", "\U0001FAA2": "[rope]",
    "\u26B0": "[coffin]", "\U0001F480": "[skull]",
}


def shape_excerpt(text: str, limit: int) -> str:
    """`text` on one line, GSM-7, at most `limit` GSM-7 characters, cut at a word with "...".

    Risk emoji become bracketed words first, so "\U0001F48A" reaches staff as "[pills]".
    """
    for emoji, words in RISK_EMOJI_WORDS.items():
        text = text.replace(emoji, f" {words} ")
    flat = " ".join(to_gsm7(text).split())
    if gsm7_length(flat) <= limit:
        return flat
    if limit < 4:
        return ""
    cut = flat
    while cut and gsm7_length(cut) > limit - 3:
        cut = cut[:-1]
    word_cut = cut.rsplit(" ", 1)[0] if " " in cut else cut
    # Keep a word boundary unless that throws away most of the room.
    if len(word_cut) >= len(cut) * 2 // 3:
        cut = word_cut
    return cut.rstrip(" ,.;:-") + "..."


def _label(alert: AlertView) -> str:
    return shape_excerpt(alert.mentee_label, 24)


def _sms(prefix: str, alert: AlertView) -> str:
    what = shape_excerpt(category_words(alert.category), 40)
    head = f"{prefix}{alert.severity.upper()} {_label(alert)}: {what}."
    tail = staff_text("alert_ack", code=alert.code)
    see = staff_text("alert_link", link=alert.link) if alert.link else ""
    if see and gsm7_length(f"{head} {tail}{see}") <= SINGLE_SEGMENT:
        tail += see  # a link too long for one text is left to the email
    quoted = alert.category not in ("no_contact",)
    # Two spaces, plus quote marks or a closing full stop around the excerpt.
    room = SINGLE_SEGMENT - gsm7_length(head) - gsm7_length(tail) - 2 - (2 if quoted else 1)
    excerpt = shape_excerpt(alert.excerpt, room) if room >= 8 else ""
    if not excerpt:
        return f"{head} {tail}"
    body = f'"{excerpt}"' if quoted else f"{excerpt}."
    return f"{head} {body} {tail}"


def staff_alert_text(alert: AlertView) -> str:
    """The first alert SMS: severity, "Jo B.", category in plain words, excerpt, how to ACK.

    For `no_contact` alerts the excerpt is the system's own summary (see `no_contact_summary`)
    and is shown without quote marks.
    """
    return _sms("", alert)


def still_not_acked_text(alert: AlertView, now: datetime) -> str:
    """The re-escalation SMS: "STILL NOT ACKED 30 min: URGENT Jo B.: ...".

    The wait counts from the start of the current ladder (creation, or the upgrade to urgent).
    """
    return _sms(staff_text("still_not_acked", waited=format_age(now - alert.ladder_start)), alert)


def taken_text(code: str, mentee_label: str, taker: str) -> str:
    """To the others paged once someone acknowledges: who has it (one GSM-7 segment)."""
    text = staff_text("taken", code=code, mentee=shape_excerpt(mentee_label, 24),
                      taker=shape_excerpt(taker, 40))
    return to_gsm7(text)


def duty_to_refer_text(alert: AlertView) -> str:
    """The housing prompt that follows a housing alert SMS (Homelessness Reduction Act s.10)."""
    return to_gsm7(staff_text("duty_to_refer", code=alert.code, mentee=_label(alert)))


def staff_alert_sms(alert: AlertView, reminder_at: datetime | None = None, *,
                    told_before: bool = True) -> list[str]:
    """All SMS for one notification, each one segment: the alert plus, for housing, Duty to
    Refer. A re-page (STILL NOT ACKED, when `reminder_at` gives the time of a re-escalation
    step) to someone `told_before` is one text: the Duty to Refer advice went with their first
    page."""
    if reminder_at is not None:
        first = still_not_acked_text(alert, reminder_at)
        if told_before or alert.category != "housing":
            return [first]
        return [first, duty_to_refer_text(alert)]
    first = staff_alert_text(alert)
    return [first, duty_to_refer_text(alert)] if alert.category == "housing" else [first]


def stranger_alert_sms(address: str, categories: Iterable[str], words: str) -> str:
    """The duty contact's page about someone not registered with us who wrote something urgent:
    their number, what it sounds like, their words (cut to fit one SMS) and what they were sent.
    There is no alert to acknowledge: the duty contact decides whether and how to reply."""
    what = (", ".join(category_words(c) for c in sorted(set(categories)))
            or staff_text("category.unknown"))
    head = staff_text("stranger_head", address=address, what=shape_excerpt(what, 40))
    tail = staff_text("stranger_tail")
    room = SINGLE_SEGMENT - gsm7_length(head) - gsm7_length(tail) - 4
    excerpt = shape_excerpt(words, room) if room >= 8 else ""
    return f'{head} "{excerpt}" {tail}' if excerpt else f"{head} {tail}"


def stranger_alert_email(address: str, categories: Iterable[str], words: str) -> EmailContent:
    """The duty page about an unknown sender, as an email: subject line and their full words."""
    what = (", ".join(category_words(c) for c in sorted(set(categories)))
            or staff_text("category.unknown"))
    excerpt = " ".join(words.split())[:1000]
    body = "\n".join([
        f"Someone not registered with us wrote from {address}.",
        f"What: {what}",
        "",
        "Their words:",
        f'  "{excerpt}"',
        "",
        "They were sent the helplines and were not told that anyone would contact them.",
        "If you think they are in immediate danger, call 999.",
        "There is no alert to acknowledge. Please don't forward this email.",
    ])
    return EmailContent(subject=f"[URGENT] {address} (not a mentee): {what}", body=body + "\n")


def no_contact_summary(
    missed_checkins: int, last_heard_at: datetime | None, undelivered: bool = False,
    tz: ZoneInfo = LONDON,
) -> str:
    """The excerpt of a `no_contact` alert: what went unanswered and when we last heard."""
    parts = []
    if missed_checkins == 1:
        parts.append(staff_text("no_contact.missed_one"))
    elif missed_checkins:
        parts.append(staff_text("no_contact.missed", count=str(missed_checkins)))
    if undelivered:
        parts.append(staff_text("no_contact.undelivered"))
    if last_heard_at is None:
        parts.append(staff_text("no_contact.never_heard"))
    else:
        parts.append(staff_text("no_contact.last_heard", when=last_heard_at.astimezone(tz).strftime("%a %d %b")))
    return ", ".join(parts)


def unreachable_summary(channel: str) -> str:
    """The excerpt of an 'unreachable' alert: which channel refused, in words."""
    reason = _staff_optional(f"unreachable.{channel}") or channel
    return staff_text("unreachable", reason=reason)


@dataclass(frozen=True)
class EmailContent:
    subject: str
    body: str


def staff_alert_email(
    alert: AlertView, *, reminder_at: datetime | None = None, tz: ZoneInfo = LONDON,
    excerpt_limit: int = 300,
) -> EmailContent:
    """Subject and plain-text body: more detail than an SMS, still no message history.

    Pass `reminder_at` (the step's time) for a re-escalation; the subject then starts
    "STILL NOT ACKED".
    """
    label = alert.mentee_label
    what = category_words(alert.category)
    waited = format_age(reminder_at - alert.ladder_start) if reminder_at else ""
    prefix = f"STILL NOT ACKED {waited}: " if reminder_at else ""
    subject = f"{prefix}[{alert.severity.upper()}] {label}: {what} - reply ACK {alert.code}"
    flagged = alert.created_at.astimezone(tz).strftime("%a %d %b %Y, %H:%M")
    lines = [
        f"{alert.severity.upper()} alert {alert.code} for {label}"
        + (f" (mentor: {alert.mentor_name})" if alert.mentor_name else ""),
        f"What: {what}",
        f"Severity: {severity_words(alert.severity)}",
        f"Flagged: {flagged} (UK time)",
    ]
    if reminder_at:
        lines.append(f"Not acknowledged after {waited}.")
    if alert.reasons:
        lines.append("Why: " + "; ".join(alert.reasons))
    if alert.excerpt:
        excerpt = " ".join(alert.excerpt.split())
        if len(excerpt) > excerpt_limit:
            excerpt = excerpt[: excerpt_limit - 3].rsplit(" ", 1)[0] + "..."
        if alert.category == "no_contact":
            lines.append(f"Details: {excerpt}")
        else:
            lines += ["", "Excerpt (not the full history):", f'  "{excerpt}"']
    advice = _staff_optional(f"advice.{alert.category}")
    if advice:
        lines += ["", advice]
    if alert.link:
        lines += ["", f"Read it and take it here (you will be asked to sign in): {alert.link}"]
    lines += [
        "",
        f"To acknowledge: reply ACK {alert.code} by SMS or Telegram, or run "
        f"`checkins alerts ack {alert.code}`. Replying to this email does not acknowledge it.",
        f"Full record: `checkins alerts show {alert.code}`. Please don't forward this email.",
    ]
    return EmailContent(subject=" ".join(subject.split()), body="\n".join(lines) + "\n")
