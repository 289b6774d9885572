"""Mentor matching operations: suggest mentors for a mentee (with reasons), assign one
(recording who chose it and why), and keep the facts matching needs."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.actor import Actor
from bot.app.errors import InvalidInput, NotAllowed
from bot.app.unit import MenteeRef, Unit, run
from bot.app.access import may_assign
from bot.matching import Matches, MenteeFacts, MentorFacts, at_limit, suggest, words
from bot.service import checkins
from bot.service.runtime import Services
from bot.storage.matching import MatchingRepo
from bot.storage.models import Mentee, MentorAssignment, Staff


@dataclass(frozen=True)
class MenteeFactChanges:
    """None leaves a fact as it is; "" clears it."""

    gender: str | None = None
    wants_mentor_gender: str | None = None
    area: str | None = None
    languages: str | None = None
    needs: str | None = None
    language: str | None = None  # the language their texts are in: en, cy


@dataclass(frozen=True)
class StaffFactChanges:
    gender: str | None = None
    area: str | None = None
    languages: str | None = None
    lived_experience: str | None = None
    skills: str | None = None
    caseload_limit: str | None = None  # "" = no limit


@dataclass(frozen=True)
class Assigned:
    mentee: str
    mentor: str
    reason: str


def mentee_facts(m: Mentee) -> MenteeFacts:
    return MenteeFacts(gender=m.gender, wants_mentor_gender=m.mentor_gender, area=m.area,
                       languages=words(m.languages), needs=words(m.needs))


def mentor_facts(s: Staff, caseload: int) -> MentorFacts:
    return MentorFacts(staff_id=s.id, name=s.name, active=s.active, gender=s.gender, area=s.area,
                       languages=words(s.languages), lived_experience=words(s.lived_experience),
                       skills=words(s.skills), caseload=caseload, caseload_limit=s.caseload_limit)


def suggestions(svc: Services, actor: Actor, ref: MenteeRef) -> Matches:
    """Mentors who could take this mentee, best first, with reasons; and who is left out, why.
    The mentee's current mentor is not counted against their own caseload here."""
    def work(unit: Unit) -> Matches:
        m = unit.mentee(ref, manage=True)
        repo = MatchingRepo(unit.session)
        loads = repo.caseloads()
        mentors = [mentor_facts(s, loads.get(s.id, 0) - (1 if s.id == m.mentor_id else 0))
                   for s in repo.mentors() if may_assign(unit.rights, s.supervisor_id)]
        unit.audit("mentee.match", mentee_id=m.id, detail=f"{len(mentors)} mentors considered")
        return suggest(mentee_facts(m), mentors)

    return run(svc, actor, work)


def assign(svc: Services, actor: Actor, ref: MenteeRef, mentor_ref: str, reason: str = "") -> Assigned:
    """Give the mentee to this mentor, never over their caseload; records who and why (the
    reason given, else the matching reasons)."""
    def work(unit: Unit) -> Assigned:
        m = unit.mentee(ref, manage=True)
        mentor = unit.staff(mentor_ref)
        if mentor.role != "mentor":
            raise InvalidInput(f"{mentor.name} is a {mentor.role}, not a mentor")
        if not may_assign(unit.rights, mentor.supervisor_id):
            raise NotAllowed(f"only a coordinator, or {mentor.name}'s supervisor, can give them a mentee")
        repo = MatchingRepo(unit.session)
        load = repo.caseloads().get(mentor.id, 0) - (1 if mentor.id == m.mentor_id else 0)
        facts = mentor_facts(mentor, load)
        if at_limit(facts):
            raise InvalidInput(f"{mentor.name}'s caseload is full ({load} of {mentor.caseload_limit})")
        why = " ".join(reason.split())[:300]
        if not why:
            found = suggest(mentee_facts(m), [facts])
            why = ("suggested: " + "; ".join(found.suggestions[0].reasons)) if found.suggestions \
                else f"chosen by hand, although: {found.left_out[0].reason}"
        m.mentor_id = mentor.id
        repo.record(MentorAssignment(mentee_id=m.id, staff_id=mentor.id, chosen_by=unit.actor.label,
                                     reason=why[:300], at=unit.now))
        checkins.replan(unit.session, unit.svc, m, unit.now)
        unit.audit("mentee.assign", mentee_id=m.id, staff_id=mentor.id, detail=why[:300])
        return Assigned(m.display_name, mentor.name, why)

    return run(svc, actor, work)


def set_mentee_facts(svc: Services, actor: Actor, ref: MenteeRef, c: MenteeFactChanges) -> str:
    def work(unit: Unit) -> str:
        m = unit.mentee(ref, manage=True)
        for name in ("gender", "area", "languages", "needs"):
            value = getattr(c, name)
            if value is not None:
                setattr(m, name, _fact(value, name))
        if c.wants_mentor_gender is not None:
            m.mentor_gender = _fact(c.wants_mentor_gender, "mentor gender")
        if c.language is not None:
            m.language = _language(unit, c.language)
        changed = [k for k, v in vars(c).items() if v is not None]
        unit.audit("mentee.facts", mentee_id=m.id, detail=", ".join(changed) or "nothing")
        return m.display_name

    return run(svc, actor, work)


def set_staff_facts(svc: Services, actor: Actor, ref: str, c: StaffFactChanges) -> str:
    def work(unit: Unit) -> str:
        unit.require_admin("change a mentor's matching details")
        s = unit.staff(ref)
        for name in ("gender", "area", "languages", "lived_experience", "skills"):
            value = getattr(c, name)
            if value is not None:
                setattr(s, name, _fact(value, name.replace("_", " ")))
        if c.caseload_limit is not None:
            text = c.caseload_limit.strip()
            if text and (not text.isdigit() or int(text) < 1):
                raise InvalidInput(f"caseload limit must be a whole number from 1, got {text!r}")
            s.caseload_limit = int(text) if text else None
        changed = [k for k, v in vars(c).items() if v is not None]
        unit.audit("staff.facts", staff_id=s.id, detail=", ".join(changed) or "nothing")
        return s.name

    return run(svc, actor, work)


def _fact(value: str, what: str) -> str | None:
    value = " ".join(value.split())
    if len(value) > 200:
        raise InvalidInput(f"{what} is too long (at most 200 characters)")
    return value.lower() or None


def _language(unit: Unit, code: str) -> str:
    from bot.wording.catalogue import known_languages

    code = code.strip().lower() or "en"
    if code not in known_languages():
        raise InvalidInput(f"language {code!r} has no wording catalogue; known: {', '.join(known_languages())}")
    return code
