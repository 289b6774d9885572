"""A mentee's safe contact and mentor matching, for whoever may change the mentee (their
mentor, the mentor's supervisor, a coordinator: bot.app checks, and writes the audit log).
Plain forms; the CSRF check is staff_page's, as on every form."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from bot.app import matching, mentees, safety
from bot.app.errors import InvalidInput, NotFound
from bot.people import as_id
from bot.staff.pages import Page, staff_page
from bot.wording.catalogue import known_languages

LANGUAGE_NAMES = {"en": "English", "cy": "Welsh (Cymraeg)"}
SAFE_TO_TEXT = (("yes", "Yes"), ("ask", "Ask them first, at the next contact"),
                ("no", "No: send nothing to this number"))


def _mentee_id(page: Page) -> int:
    found = as_id(str(page.params["mentee_id"]))
    if found is None:
        raise NotFound("no such mentee")
    return found


def safety_form(page: Page, *, error: str = "", values: dict[str, str] | None = None,
                status: int = 200) -> Response:
    settings = safety.show(page.svc, page.actor, _mentee_id(page))
    values = values or {"windows": settings.windows, "discreet": "yes" if settings.discreet else "no",
                        "safe_to_text": settings.safe_to_text, "language": settings.language}
    languages = [(code, LANGUAGE_NAMES.get(code, code)) for code in known_languages()]
    return page.render("safety.html", status=status, title=f"Safe contact: {settings.name}",
                       s=settings, values=values, error=error, languages=languages,
                       safe_choices=SAFE_TO_TEXT, quiet=page.svc.config.service.quiet_hours)


def safety_save(page: Page) -> Response:
    mentee_id = _mentee_id(page)
    v = {k: page.form.get(k, "").strip() for k in ("windows", "discreet", "code_word",
                                                    "clear_code_word", "safe_to_text", "language")}
    if v["discreet"] not in ("yes", "no"):
        return safety_form(page, error="choose whether discreet mode is on", values=v, status=400)
    code_word = "" if v["clear_code_word"] == "yes" else (v["code_word"] or None)
    try:
        s = safety.change(page.svc, page.actor, mentee_id, safety.SafetyChanges(
            windows=v["windows"], discreet=v["discreet"] == "yes", code_word=code_word,
            safe_to_text=v["safe_to_text"] or None, language=v["language"] or None))
    except InvalidInput as exc:
        return safety_form(page, error=str(exc), values=v, status=400)
    return page.redirect(f"/mentees/{s.mentee_id}/safety", f"Safe contact for {s.name} is saved.")


def match_page(page: Page, *, error: str = "", status: int = 200) -> Response:
    mentee_id = _mentee_id(page)
    found = matching.suggestions(page.svc, page.actor, mentee_id)  # checks they may change it
    who = mentees.schedule(page.svc, page.actor, mentee_id, limit=0).mentee
    return page.render("match.html", status=status, title=f"Mentor for {who.name}", m=who,
                       found=found, error=error)


def match_assign(page: Page) -> Response:
    mentee_id = _mentee_id(page)
    try:
        done = matching.assign(page.svc, page.actor, mentee_id, page.form.get("mentor", ""),
                               page.form.get("reason", ""))
    except InvalidInput as exc:
        return match_page(page, error=str(exc), status=400)
    return page.redirect(f"/mentees/{mentee_id}", f"{done.mentee}'s mentor is now {done.mentor}.")


routes = [
    Route("/mentees/{mentee_id}/safety", staff_page(safety_form), methods=["GET"]),
    Route("/mentees/{mentee_id}/safety", staff_page(safety_save), methods=["POST"]),
    Route("/mentees/{mentee_id}/match", staff_page(match_page), methods=["GET"]),
    Route("/mentees/{mentee_id}/match", staff_page(match_assign), methods=["POST"]),
]
