"""The audit log page (coordinator): who signed in, looked at, changed, imported or exported
what, and when; filtered by person, kind of action and dates, fifty entries a page."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Route

from bot.app import audit, staff
from bot.app.errors import InvalidInput, NotFound
from bot.people import as_id
from bot.staff.admin import admin_page
from bot.staff.pages import Page

# Each action in plain words (anything not listed is shown as recorded).
ACTION_WORDS = {
    "signin": "signed in", "signin.code": "asked for a sign-in code",
    "signin.failed": "typed a wrong sign-in code", "signout": "signed out",
    "signout.everywhere": "signed out on every device",
    "mentee.view": "opened a mentee's record", "mentee.read": "read new messages",
    "alert.view": "opened an alert", "digest.view": "read a digest",
    "alert.acknowledge": "took an alert", "alert.note": "added a note to an alert",
    "alert.close": "closed an alert", "mentee.reply": "replied to a mentee",
    "mentee.add": "added a mentee", "mentee.edit": "changed a mentee's details",
    "mentee.plan": "changed a check-in plan", "mentee.pause": "paused a mentee",
    "mentee.resume": "resumed a mentee", "mentee.link": "gave a mentee's Telegram link",
    "mentee.oneoff": "booked a one-off check-in", "mentee.checkin": "started a check-in",
    "staff.add": "added a staff member", "staff.edit": "changed a staff member's details",
    "staff.pause": "paused a staff member", "staff.resume": "resumed a staff member",
    "staff.link": "gave a staff member's Telegram link",
    "mentees.import": "imported mentees", "staff.import": "imported staff",
    "digest.export": "downloaded a digest (CSV)", "digest.send": "sent a digest by email",
    "audit.view": "read the audit log", "retention.run": "deleted old records (retention)",
}


def _int(page: Page, name: str) -> int | None:
    raw = page.request.query_params.get(name, "").strip()
    if not raw:
        return None
    found = as_id(raw)
    if found is None:
        raise InvalidInput(f"{name} must be a number")
    return found


def audit_page(page: Page) -> Response:
    q = page.request.query_params
    filters = {"person": q.get("person", "").strip(), "action": q.get("action", "").strip(),
               "mentee": q.get("mentee", "").strip(), "from": q.get("from", "").strip(),
               "to": q.get("to", "").strip()}
    people = staff.list_staff(page.svc, page.actor)
    try:
        result = audit.search(page.svc, page.actor, person=_int(page, "person"),
                              action=filters["action"], mentee_id=_int(page, "mentee"),
                              since=filters["from"], until=filters["to"],
                              page=_int(page, "page") or 1)
    except InvalidInput as exc:
        return page.render("admin/audit.html", status=400, title="Audit log", error=str(exc),
                           result=None, filters=filters, people=people,
                           groups=audit.ACTION_GROUPS, words=ACTION_WORDS, links={})
    if result.page > 1 and not result.lines:
        raise NotFound("there is no such page of the audit log")
    kept = {k: v for k, v in filters.items() if v}
    links = {}
    if result.page > 1:
        links["newer"] = page.url("/admin/audit?" + urlencode({**kept, "page": result.page - 1}))
    if result.more:
        links["older"] = page.url("/admin/audit?" + urlencode({**kept, "page": result.page + 1}))
    return page.render("admin/audit.html", title="Audit log", error="", result=result,
                       filters=filters, people=people, groups=audit.ACTION_GROUPS,
                       words=ACTION_WORDS, links=links)


routes = [Route("/admin/audit", admin_page(audit_page), methods=["GET"])]
