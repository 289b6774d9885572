"""Staff sign-in: a one-time code to the person's own channel, then a session.

- A code is 6 digits, works for `[staff] code_minutes`, allows `code_attempts` wrong tries, and
  only its salted hash is stored; asking again retires the earlier code.
- Asking for a code gets the same answer whether or not the phone or email is a staff member's
  (nobody can find out who works here), and is throttled per address typed and per client.
- A session is a random token in the browser's cookie; the database keeps only its hash, when
  it was last used (idle timeout) and when it began (longest life). Signing out everywhere ends
  every session of the person; pausing a staff member ends theirs at their next request.
- Sign-ins, failures and sign-outs go to the audit log.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.app.actor import Actor
from bot.app.unit import Unit, run
from bot.people import InvalidDetails, normalise_phone
from bot.service.outbox import SIGNIN_PURPOSE, queue_to_staff, route_to_staff
from bot.service.runtime import Services
from bot.storage.models import SigninCode, Staff, StaffSession
from bot.storage.people import StaffRepo
from bot.storage.signin import SigninRepo

THROTTLE_WINDOW = timedelta(hours=1)
TOUCH_EVERY = timedelta(seconds=30)  # a session's last use is written at most this often

WRONG_CODE = "That code is wrong or has expired. Check it, or ask for a new code."
NOT_AN_ADDRESS = "Enter the mobile number or email address the service has for you."
TOO_MANY_CODES = ("Too many sign-in codes have been asked for. Wait an hour and try again, "
                  "or ask the coordinator.")
TOO_MANY_TRIES = ("Too many sign-in attempts from this device. Wait an hour and try again, "
                  "or ask the coordinator.")


@dataclass(frozen=True)
class CodeAsked:
    """What to tell the person who asked: never whether the address is known."""

    ok: bool
    message: str


@dataclass(frozen=True)
class SignInResult:
    token: str | None  # the new session's cookie value; None: refused, see `message`
    message: str
    staff_name: str = ""


@dataclass(frozen=True)
class SignedIn:
    """A live session, as a request sees it."""

    actor: Actor
    session_id: int
    name: str
    role: str
    is_duty: bool
    started_at: datetime


def normalise_address(text: str) -> str | None:
    """An email in lower case or a phone in E.164; None if it is neither."""
    text = text.strip()
    if "@" in text:
        local, _, domain = text.partition("@")
        return text.lower() if local and "." in domain and " " not in text else None
    try:
        return normalise_phone(text)
    except InvalidDetails:
        return None


def address_key(address: str) -> str:
    """What the throttles count an address by (the address itself is not kept)."""
    return hashlib.sha256(f"signin:{address}".encode()).hexdigest()


def _code_hash(salt: str, code: str) -> str:
    return hmac.new(salt.encode(), code.encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _staff_for(unit: Unit, address: str) -> Staff | None:
    """The active staff member whose phone or email this is."""
    found = [s for s in StaffRepo(unit.session).matching(address, phone=address)
             if s.active and (s.phone == address or (s.email or "").lower() == address)]
    return found[0] if len(found) == 1 else None


def _as(unit: Unit, staff: Staff) -> Unit:
    """The same unit, recording audit entries as done by `staff`."""
    return dataclasses.replace(unit, actor=Actor.staff(staff.id, staff.name))


def code_text(org: str, code: str, minutes: int, channel: str) -> str:
    from escalation.alert_text import staff_text

    body = staff_text("signin_code", org=org, signin_code=code, minutes=str(minutes))
    return f"{staff_text('signin_subject')}\n{body}" if channel == "email" else body


def request_code(svc: Services, typed: str, client: str) -> CodeAsked:
    """Send a sign-in code to the staff member whose phone or email `typed` is, if any."""
    address = normalise_address(typed)
    if address is None:
        return CodeAsked(False, NOT_AN_ADDRESS)
    cfg = svc.config.staff

    def work(unit: Unit) -> CodeAsked:
        repo = SigninRepo(unit.session)
        since = unit.now - THROTTLE_WINDOW
        key = address_key(address)
        if repo.count_attempts(since, client=client) >= cfg.signins_per_client_per_hour:
            return CodeAsked(False, TOO_MANY_TRIES)
        if repo.count_attempts(since, kind="code", address_key=key) >= cfg.codes_per_address_per_hour:
            repo.add_attempt("code", key, client, unit.now)
            return CodeAsked(False, TOO_MANY_CODES)
        repo.add_attempt("code", key, client, unit.now)
        repo.forget_attempts(unit.now - 24 * THROTTLE_WINDOW)
        staff = _staff_for(unit, address)
        if staff is None:
            unit.audit("signin.code", detail="not a staff address")
            return CodeAsked(True, "")
        code = f"{secrets.randbelow(10**6):06d}"
        salt = secrets.token_hex(16)
        repo.retire_codes(staff.id, unit.now)
        repo.add_code(SigninCode(staff_id=staff.id, salt=salt, code_hash=_code_hash(salt, code),
                                 created_at=unit.now, attempts=0,
                                 expires_at=unit.now + timedelta(minutes=cfg.code_minutes)))
        route = route_to_staff(unit.svc, staff)
        row = None
        if route is not None:
            text = code_text(unit.svc.config.service.org_name, code, round(cfg.code_minutes), route[0])
            row = queue_to_staff(unit.session, unit.svc, staff, text, unit.now, purpose=SIGNIN_PURPOSE)
        _as(unit, staff).audit("signin.code", staff_id=staff.id,
                               detail=f"sent by {row.channel}" if row else "no channel to send it on")
        unit.svc.poke_outbox()
        return CodeAsked(True, "")

    return run(svc, Actor.system(), work)


def sign_in(svc: Services, typed: str, code: str, client: str, user_agent: str = "") -> SignInResult:
    """Check a code; a right one starts a session. Every refusal reads the same."""
    address = normalise_address(typed)
    code = "".join(code.split())
    cfg = svc.config.staff

    def work(unit: Unit) -> SignInResult:
        repo = SigninRepo(unit.session)
        key = address_key(address or typed.strip().lower())
        if repo.count_attempts(unit.now - THROTTLE_WINDOW, client=client) >= cfg.signins_per_client_per_hour:
            return SignInResult(None, TOO_MANY_TRIES)
        staff = _staff_for(unit, address) if address else None
        live = repo.live_code(staff.id, unit.now) if staff else None
        good = (live is not None and live.attempts < cfg.code_attempts and len(code) == 6
                and hmac.compare_digest(live.code_hash, _code_hash(live.salt, code)))
        if not good or staff is None or live is None:
            repo.add_attempt("wrong", key, client, unit.now)
            if live is not None:
                live.attempts += 1
                if live.attempts >= cfg.code_attempts:
                    live.used_at = unit.now
            if staff is not None:
                _as(unit, staff).audit("signin.failed", staff_id=staff.id,
                                       detail="code expired or used up" if live is None else "wrong code")
            return SignInResult(None, WRONG_CODE)
        live.used_at = unit.now
        token = secrets.token_urlsafe(32)
        repo.add_session(StaffSession(token_hash=token_hash(token), staff_id=staff.id,
                                      created_at=unit.now, last_seen_at=unit.now,
                                      client=client[:64], user_agent=user_agent[:200]))
        _as(unit, staff).audit("signin", staff_id=staff.id, detail=f"from {client[:40]}")
        return SignInResult(token, "", staff.name)

    return run(svc, Actor.system(), work)


def start_session(svc: Services, staff_id: int, *, client: str = "local") -> str:
    """A session without a code, for the demo on 127.0.0.1 (and tests); returns the token."""
    def work(unit: Unit) -> str:
        staff = StaffRepo(unit.session).get(staff_id)
        assert staff is not None and staff.active
        token = secrets.token_urlsafe(32)
        SigninRepo(unit.session).add_session(StaffSession(
            token_hash=token_hash(token), staff_id=staff.id, created_at=unit.now,
            last_seen_at=unit.now, client=client, user_agent=""))
        _as(unit, staff).audit("signin", staff_id=staff.id, detail=f"without a code ({client})")
        return token

    return run(svc, Actor.system(), work)


def resume(svc: Services, token: str) -> SignedIn | None:
    """The session this cookie token belongs to, if it is still live (its use is recorded)."""
    if not token:
        return None
    cfg = svc.config.staff

    def work(unit: Unit) -> SignedIn | None:
        row = SigninRepo(unit.session).session_by_token_hash(token_hash(token))
        if row is None or row.ended_at is not None:
            return None
        staff = StaffRepo(unit.session).get(row.staff_id)
        why = None
        if staff is None or not staff.active:
            why = "paused"
        elif unit.now - row.last_seen_at > timedelta(minutes=cfg.session_idle_minutes):
            why = "idle"
        elif unit.now - row.created_at > timedelta(hours=cfg.session_max_hours):
            why = "expired"
        if why is not None or staff is None:
            row.ended_at, row.ended_why = unit.now, why
            return None
        if unit.now - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = unit.now
        duty = StaffRepo(unit.session).duty()
        return SignedIn(Actor.staff(staff.id, staff.name), row.id, staff.name, staff.role,
                        duty is not None and duty.id == staff.id, row.created_at)

    return run(svc, Actor.system(), work)


def sign_out(svc: Services, token: str) -> None:
    """End this browser's session."""
    def work(unit: Unit) -> None:
        row = SigninRepo(unit.session).session_by_token_hash(token_hash(token))
        if row is None or row.ended_at is not None:
            return
        row.ended_at, row.ended_why = unit.now, "signed out"
        staff = StaffRepo(unit.session).get(row.staff_id)
        if staff is not None:
            _as(unit, staff).audit("signout", staff_id=staff.id)

    run(svc, Actor.system(), work)


def sign_out_everywhere(svc: Services, actor: Actor) -> int:
    """End every session of the acting staff member (a lost phone); returns how many."""
    def work(unit: Unit) -> int:
        assert unit.actor.staff_id is not None
        ended = SigninRepo(unit.session).end_sessions(unit.actor.staff_id, unit.now, "everywhere")
        unit.audit("signout.everywhere", staff_id=unit.actor.staff_id, detail=f"{ended} session(s)")
        return ended

    return run(svc, actor, work)
