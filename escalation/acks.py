"""Acknowledging an alert: reading "ACK K7Q2" from staff, and who is allowed to.

Accepted (case-insensitive, at the start of the message, anything may follow the code):
"ACK K7Q2", "ack k7q2", "Ack: K7Q2", "ACK-K7Q2", "ACK #K7Q2", "ack:K7Q2" (the Telegram button's
callback data), "ACKNOWLEDGED K7Q2", and "OK K7Q2" / "okay K7Q2". "OK" is safe to accept because a
code always mixes letters and digits, so "ok call her" or "ok thanks" is never read as one.
Refused: a bare code with no keyword (an acknowledgement says "I have taken hold of this", so it
must be said), a code not at the start ("can't ACK K7Q2"), or characters a code never has
(0, O, 1, I, L). A refused parse leaves the ladder running, which is the safe way to fail.
"""

from __future__ import annotations

import re

from escalation.alert_text import CODE_ALPHABET, CODE_DIGITS, CODE_LENGTH, staff_text
from escalation.alert_view import StaffId

_KEYWORD = r"(?:ack(?:nowledged?)?|ok(?:ay)?)"
_ACK = re.compile(rf"^\s*{_KEYWORD}(?:\s*[:#.,\-]\s*|\s+)#?([a-z0-9]+)\b", re.IGNORECASE)


def is_alert_code(candidate: str) -> bool:
    """True if `candidate` has the shape of an alert code (alphabet, length, letters + digits)."""
    code = candidate.upper()
    return (
        len(code) == CODE_LENGTH
        and all(ch in CODE_ALPHABET for ch in code)
        and any(ch in CODE_DIGITS for ch in code)
        and any(ch not in CODE_DIGITS for ch in code)
    )


def parse_ack(text: str) -> str | None:
    """The alert code `text` acknowledges, upper-cased, or None if it is not an acknowledgement."""
    match = _ACK.match(text)
    if match is None or not is_alert_code(match.group(1)):
        return None
    return match.group(1).upper()


def may_acknowledge(
    staff_id: StaffId | None,
    alert_mentor_id: StaffId | None,
    alert_supervisor_id: StaffId | None,
    duty_id: StaffId | None,
    *,
    coordinator: bool = False,
) -> bool:
    """Only the mentee's mentor or supervisor, the duty contact, or a coordinator (who runs the
    service and may act on any alert) may acknowledge an alert."""
    if staff_id is None:
        return False
    if coordinator:
        return True
    return staff_id in {i for i in (alert_mentor_id, alert_supervisor_id, duty_id) if i is not None}


def ack_confirmed_text(code: str, mentee_label: str) -> str:
    """Reply to staff whose acknowledgement was recorded (one SMS)."""
    return staff_text("ack_confirmed", code=code, mentee=mentee_label)


def ack_refused_text(code: str) -> str:
    """Polite refusal for an unknown code or staff not linked to the mentee; reveals nothing."""
    return staff_text("ack_refused", code=code)
