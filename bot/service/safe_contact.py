"""Safe contact for mentees at risk of abuse: the code word, the "is it safe to text?" check
after a domestic-abuse flag, and discreet wording. (Safe-to-text windows and the code-word hold
are part of the send window: bot/service/quiet.py.)"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.flows import Flow
from bot.service.runtime import Services
from bot.storage.models import Conversation, Mentee, Message

from escalation.alert_text import staff_text

CODE_WORD_EVIDENCE = staff_text("code_word")


def normalise_code_word(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", " ".join(text.lower().split())).strip()


def is_code_word(mentee: Mentee, text: str) -> bool:
    word = getattr(mentee, "code_word", None)
    return bool(word) and normalise_code_word(text) == word


def code_word_said(session: Session, svc: Services, mentee: Mentee, row: Message, now: datetime) -> None:
    """"I can't talk, someone is here": nothing goes to them for a while, nothing is sent back,
    any check-in in progress is dropped without a word, and the mentor gets an urgent alert."""
    from bot.service import alerting, checkins

    mentee.hold_until = now + timedelta(hours=svc.config.safe_contact.code_word_hold_hours)
    checkins.cancel_open(session, svc, mentee, now)
    row.body = ""  # the word itself is theirs to keep secret, even from the message log
    row.status = "code_word"
    alerting.raise_finding(session, svc, mentee, "domestic_abuse", "urgent", CODE_WORD_EVIDENCE,
                           "safe_contact.code_word", now, message_id=row.id)


def after_domestic_abuse_flag(svc: Services, mentee: Mentee) -> None:
    """The next contact first asks whether it is safe to text at this number."""
    if svc.config.safe_contact.ask_after_domestic_abuse and getattr(mentee, "safe_check", None) is None:
        mentee.safe_check = "ask"


def contact_flow(svc: Services, mentee: Mentee, flow: Flow) -> Flow:
    """The flow as this mentee gets it: the safe check first if it is due; discreet wording."""
    from bot.service.flows import library

    name = svc.config.safe_contact.safe_check_flow
    if getattr(mentee, "safe_check", None) == "ask" and name:
        flow = library(svc).get(name, getattr(mentee, "language", None) or "en")
    return as_read_by(mentee, flow)


def as_read_by(mentee: Mentee, flow: Flow) -> Flow:
    """Discreet wording for a discreet mentee; replies read in the mentee's language."""
    flow = flow.answered_in(getattr(mentee, "language", None) or "en")
    return flow.discreet() if getattr(mentee, "discreet", False) else flow


def after_safe_check(session: Session, svc: Services, mentee: Mentee, conversation: Conversation,
                     outcome: str, now: datetime) -> None:
    """Honour the answer: yes, the check-in goes on now; no or not sure, nothing more is sent
    to this number until staff say otherwise (the flow has told the mentor)."""
    from bot.service import checkins

    if outcome != "completed":
        return  # no answer: ask again at the next contact
    answer = (conversation.answers or {}).get("safe_to_text")
    if answer == "yes":
        mentee.safe_check = None
        session.flush()
        checkins.start(session, svc, mentee, now, trigger=conversation.trigger)
    else:
        mentee.safe_check = "unsafe"
