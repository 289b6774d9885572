"""Mentor matching, pure: which mentors suit a mentee, why, and who is left out and why.

The facts are plain values (no database). Rules, in order:
- Never a mentor at or over their caseload limit, or one who is paused.
- A mentee's preference for a mentor's gender (e.g. a woman mentor, common for women at risk
  of domestic abuse) is a must: a mentor of another or unknown gender is left out.
- Then the best fit first: shared lived experience of what the mentee needs (+3 each), the
  same area (+3), a shared language besides English (+2 each), skills the mentee needs (+1
  each), and room in the caseload (+1 under half full). Ties go to the lighter caseload.
"""

from __future__ import annotations

from dataclasses import dataclass


def words(text: str | None) -> frozenset[str]:
    """ "Prison, addiction " -> {"prison", "addiction"}."""
    return frozenset(w.strip().lower() for w in (text or "").replace(";", ",").split(",") if w.strip())


@dataclass(frozen=True)
class MenteeFacts:
    gender: str | None = None
    wants_mentor_gender: str | None = None  # a must when set
    area: str | None = None
    languages: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()  # e.g. prison, addiction, housing, domestic abuse


@dataclass(frozen=True)
class MentorFacts:
    staff_id: int
    name: str
    active: bool = True
    gender: str | None = None
    area: str | None = None
    languages: frozenset[str] = frozenset()
    lived_experience: frozenset[str] = frozenset()
    skills: frozenset[str] = frozenset()
    caseload: int = 0
    caseload_limit: int | None = None  # None: no limit


@dataclass(frozen=True)
class Suggestion:
    mentor: MentorFacts
    score: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class LeftOut:
    mentor: MentorFacts
    reason: str


@dataclass(frozen=True)
class Matches:
    suggestions: tuple[Suggestion, ...]
    left_out: tuple[LeftOut, ...]


def at_limit(mentor: MentorFacts) -> bool:
    return mentor.caseload_limit is not None and mentor.caseload >= mentor.caseload_limit


def suggest(mentee: MenteeFacts, mentors: list[MentorFacts]) -> Matches:
    suggestions: list[Suggestion] = []
    left_out: list[LeftOut] = []
    for mentor in mentors:
        reason = _left_out_because(mentee, mentor)
        if reason:
            left_out.append(LeftOut(mentor, reason))
            continue
        score, reasons = _fit(mentee, mentor)
        suggestions.append(Suggestion(mentor, score, tuple(reasons)))
    suggestions.sort(key=lambda s: (-s.score, s.mentor.caseload, s.mentor.name.lower()))
    return Matches(tuple(suggestions), tuple(sorted(left_out, key=lambda x: x.mentor.name.lower())))


def _left_out_because(mentee: MenteeFacts, mentor: MentorFacts) -> str:
    if not mentor.active:
        return "paused (on leave)"
    if at_limit(mentor):
        return f"caseload full ({mentor.caseload} of {mentor.caseload_limit})"
    wanted = (mentee.wants_mentor_gender or "").strip().lower()
    if wanted and (mentor.gender or "").strip().lower() != wanted:
        return f"the mentee asked for a {wanted} mentor" + ("" if mentor.gender else " (gender not recorded)")
    return ""


def _fit(mentee: MenteeFacts, mentor: MentorFacts) -> tuple[int, list[str]]:
    score, reasons = 0, []
    if mentee.wants_mentor_gender:
        reasons.append(f"a {mentee.wants_mentor_gender.lower()}, as asked")
    shared = sorted(mentee.needs & mentor.lived_experience)
    if shared:
        score += 3 * len(shared)
        reasons.append("lived experience of " + ", ".join(shared))
    if mentee.area and mentor.area and mentee.area.strip().lower() == mentor.area.strip().lower():
        score += 3
        reasons.append(f"same area ({mentor.area})")
    languages = sorted((mentee.languages & mentor.languages) - {"en", "english"})
    if languages:
        score += 2 * len(languages)
        reasons.append("speaks " + ", ".join(languages))
    skills = sorted(mentee.needs & mentor.skills)
    if skills:
        score += len(skills)
        reasons.append("skills: " + ", ".join(skills))
    if mentor.caseload_limit is not None:
        if mentor.caseload * 2 < mentor.caseload_limit:
            score += 1
        reasons.append(f"{mentor.caseload} of {mentor.caseload_limit} places taken")
    else:
        reasons.append(f"{mentor.caseload} mentees, no limit set")
    return score, reasons
