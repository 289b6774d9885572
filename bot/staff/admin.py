"""The coordinator's pages: staff and mentees (add, edit, pause, resume), plans, CSV imports and
Telegram links with a QR code. Plain forms, no JavaScript.

Every page here is `admin_page`: for anyone but the coordinator it does not exist (404), checked
in bot.app before the page runs. The operations themselves are bot.app's, which check again
and write the audit log; these functions only read forms and render.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.from_thread
import segno
from markupsafe import Markup
from starlette.datastructures import UploadFile
from starlette.responses import Response
from starlette.routing import Route

from bot.app import imports, mentees, staff
from bot.app.admin import mentee_details, require_coordinator
from bot.app.plans import flow_choices
from bot.app.errors import InvalidInput, NotFound
from bot.app.views import MenteeSummary, StaffSummary
from bot.people import as_id
from bot.staff.pages import NAV, Page, staff_page

NAV.append(("Admin", "/admin", lambda me: me.role == "coordinator"))

ROLES = (("mentor", "Mentor"), ("supervisor", "Supervisor"), ("coordinator", "Coordinator"))
CHANNELS = (("sms", "Text message (SMS)"), ("telegram", "Telegram"))
MAX_CSV_BYTES = 2_000_000  # about 10,000 rows; a bigger file goes through `checkins import`


def admin_page(fn: Callable[[Page], Response]) -> Callable[..., Any]:
    def page_fn(page: Page) -> Response:
        require_coordinator(page.svc, page.actor)
        return fn(page)

    page_fn.__name__ = fn.__name__
    page_fn.__doc__ = fn.__doc__
    return staff_page(page_fn)


def _id(page: Page, name: str) -> int:
    found = as_id(str(page.params[name]))
    if found is None:
        raise NotFound("no such record")
    return found


def _form(page: Page, *names: str) -> dict[str, str]:
    return {n: page.form.get(n, "").strip() for n in names}


def qr_svg(url: str) -> Markup:
    """The link as a QR code: inline SVG (no script, no style attribute, so the CSP holds)."""
    code = segno.make(url, error="m")
    return Markup(code.svg_inline(scale=6, border=4, title="QR code of the Telegram link"))


# ---- home -----------------------------------------------------------------------------------------
def admin_home(page: Page) -> Response:
    people = staff.list_staff(page.svc, page.actor)
    ment = mentees.list_mentees(page.svc, page.actor)
    return page.render("admin/home.html", title="Admin", staff_count=len(people),
                       mentee_count=len(ment), no_plan=sum(1 for m in ment if not m.plan),
                       paused=sum(1 for m in ment if m.status == "paused"))


# ---- staff ----------------------------------------------------------------------------------------
STAFF_FIELDS = ("name", "role", "phone", "email", "channels", "supervisor")


def staff_list(page: Page) -> Response:
    people = staff.list_staff(page.svc, page.actor)
    return page.render("admin/staff_list.html", title="Staff", people=people)


def _supervisors(page: Page) -> list[StaffSummary]:
    return [s for s in staff.list_staff(page.svc, page.actor) if s.role == "supervisor"]


def staff_new_form(page: Page, *, error: str = "", values: dict[str, str] | None = None,
                   status: int = 200) -> Response:
    values = values or {"role": "mentor", "channels": ""}
    return page.render("admin/staff_form.html", status=status, title="Add a staff member",
                       person=None, values=values, error=error, roles=ROLES,
                       supervisors=_supervisors(page))


def staff_add(page: Page) -> Response:
    v = _form(page, *STAFF_FIELDS)
    try:
        added = staff.add(page.svc, page.actor, staff.NewStaff(
            name=v["name"], role=v["role"] or "mentor", phone=v["phone"], email=v["email"],
            channels=v["channels"], supervisor=v["supervisor"],
            duty=page.form.get("duty") == "yes"))
    except InvalidInput as exc:
        return staff_new_form(page, error=str(exc), values={**v, "duty": page.form.get("duty", "")},
                              status=400)
    return page.redirect(f"/admin/staff/{added.id}", f"{added.name} is added as a {added.role}.")


def _staff_by_id(page: Page) -> StaffSummary:
    wanted = _id(page, "staff_id")
    for person in staff.list_staff(page.svc, page.actor):
        if person.id == wanted:
            return person
    raise NotFound("no such staff member")


def _staff_values(p: StaffSummary) -> dict[str, str]:
    return {"name": p.name, "role": p.role, "phone": p.phone or "", "email": p.email or "",
            "channels": p.channels, "supervisor": str(p.supervisor_id or ""),
            "duty": "yes" if p.is_duty else ""}


def staff_edit_form(page: Page, *, error: str = "", values: dict[str, str] | None = None,
                    status: int = 200) -> Response:
    person = _staff_by_id(page)
    return page.render("admin/staff_form.html", status=status, title=f"Staff: {person.name}",
                       person=person, values=values or _staff_values(person), error=error,
                       roles=ROLES, supervisors=[s for s in _supervisors(page) if s.id != person.id])


def staff_edit(page: Page) -> Response:
    person = _staff_by_id(page)
    v = {**_form(page, *STAFF_FIELDS), "duty": "yes" if page.form.get("duty") == "yes" else ""}
    was = _staff_values(person)
    changed = {k: v[k] for k in ("name", "phone", "email", "channels", "supervisor")
               if v[k] != was[k]}
    try:
        staff.edit(page.svc, page.actor, str(person.id), staff.StaffChanges(
            name=changed.get("name"), phone=changed.get("phone"), email=changed.get("email"),
            channels=changed.get("channels"), supervisor=changed.get("supervisor") or None,
            duty=(v["duty"] == "yes") if v["duty"] != was["duty"] else None))
    except InvalidInput as exc:
        return staff_edit_form(page, error=str(exc), values={**v, "role": person.role}, status=400)
    return page.redirect(f"/admin/staff/{person.id}", "Saved.")


def staff_pause(page: Page) -> Response:
    person = staff.pause(page.svc, page.actor, str(_staff_by_id(page).id))
    return page.redirect(f"/admin/staff/{person.id}", f"{person.name} is paused: no alerts go to "
                         "them and they cannot sign in until resumed.")


def staff_resume(page: Page) -> Response:
    person = staff.resume(page.svc, page.actor, str(_staff_by_id(page).id))
    return page.redirect(f"/admin/staff/{person.id}", f"{person.name} is active again.")


def staff_telegram(page: Page) -> Response:
    person = _staff_by_id(page)
    link = staff.link_code(page.svc, page.actor, str(person.id), new=page.request.method == "POST")
    return page.render("admin/telegram.html", title=f"Telegram link for {person.name}",
                       name=person.name, linked=person.telegram_linked, link=link, expires=None,
                       qr=qr_svg(link.url), back=f"/admin/staff/{person.id}",
                       no_bot=not page.svc.config.telegram.bot_username,
                       action=f"/admin/staff/{person.id}/telegram")


# ---- mentees --------------------------------------------------------------------------------------
MENTEE_FIELDS = ("first_name", "last_name", "phone", "channel", "mentor", "timezone",
                 "release_date", "quiet_hours")


def mentee_list(page: Page) -> Response:
    people = mentees.list_mentees(page.svc, page.actor)
    return page.render("admin/mentee_list.html", title="Mentees (admin)", people=people)


def _mentors(page: Page) -> list[StaffSummary]:
    return [s for s in staff.list_staff(page.svc, page.actor) if s.role == "mentor"]


def mentee_new_form(page: Page, *, error: str = "", values: dict[str, str] | None = None,
                    status: int = 200) -> Response:
    return page.render("admin/mentee_form.html", status=status, title="Add a mentee", person=None,
                       values=values or {"channel": "sms"}, error=error, channels=CHANNELS,
                       mentors=_mentors(page), default_plan=page.svc.config.checkins.default_plan,
                       default_zone=page.svc.config.service.timezone)


def mentee_add(page: Page) -> Response:
    v = _form(page, *MENTEE_FIELDS, "plan")
    try:
        added = mentees.add(page.svc, page.actor, mentees.NewMentee(
            first_name=v["first_name"], mentor=v["mentor"], last_name=v["last_name"],
            phone=v["phone"], channel=v["channel"] or "sms", timezone=v["timezone"],
            release_date=v["release_date"], plan=v["plan"]))
    except InvalidInput as exc:
        return mentee_new_form(page, error=str(exc), values=v, status=400)
    m = added.mentee
    plan = (f"the usual plan ({m.plan})" if added.plan_is_default
            else f"plan {m.plan}" if m.plan else "no plan")
    where = f"/admin/mentees/{m.id}/telegram" if added.link else f"/admin/mentees/{m.id}"
    return page.redirect(where, f"{m.name} is added, with {plan}.")


def _mentee_by_id(page: Page) -> MenteeSummary:
    return _details(page).mentee


def _details(page: Page) -> Any:
    return mentee_details(page.svc, page.actor, _id(page, "mentee_id"))


def _mentee_values(d: Any) -> dict[str, str]:
    m, st = d.mentee, d.status
    return {"first_name": m.first_name, "last_name": m.last_name, "phone": m.phone or "",
            "channel": m.channel, "mentor": str(m.mentor_id), "timezone": m.timezone,
            "release_date": st.release_date.isoformat() if st.release_date else "",
            "quiet_hours": st.quiet_hours or ""}


def mentee_edit_form(page: Page, *, error: str = "", values: dict[str, str] | None = None,
                     status: int = 200) -> Response:
    d = _details(page)
    person = d.mentee
    return page.render("admin/mentee_form.html", status=status, title=f"Mentee: {person.name}",
                       person=person, values=values or _mentee_values(d), error=error,
                       channels=CHANNELS, mentors=_mentors(page),
                       default_plan=page.svc.config.checkins.default_plan,
                       default_zone=page.svc.config.service.timezone)


def mentee_edit(page: Page) -> Response:
    d = _details(page)
    person = d.mentee
    v = _form(page, *MENTEE_FIELDS)
    was = _mentee_values(d)
    c = {k: v[k] for k in MENTEE_FIELDS if v[k] != was[k]}
    try:
        mentees.edit(page.svc, page.actor, person.id, mentees.MenteeChanges(
            first_name=c.get("first_name"), last_name=c.get("last_name"), phone=c.get("phone"),
            mentor=c.get("mentor"), channel=c.get("channel"), timezone=c.get("timezone"),
            release_date=c.get("release_date"), quiet_hours=c.get("quiet_hours")))
    except InvalidInput as exc:
        return mentee_edit_form(page, error=str(exc), values=v, status=400)
    return page.redirect(f"/admin/mentees/{person.id}", "Saved." if c else "Nothing was changed.")


def mentee_pause(page: Page) -> Response:
    m = mentees.pause(page.svc, page.actor, _id(page, "mentee_id"))
    return page.redirect(f"/admin/mentees/{m.id}", f"{m.name} is paused: no check-ins until resumed.")


def mentee_resume(page: Page) -> Response:
    try:
        m = mentees.resume(page.svc, page.actor, _id(page, "mentee_id"))
    except InvalidInput as exc:
        return mentee_edit_form(page, error=str(exc), status=400)
    return page.redirect(f"/admin/mentees/{m.id}", f"{m.name} is active again.")


def plan_form(page: Page, *, error: str = "", values: dict[str, str] | None = None,
              status: int = 200) -> Response:
    d = _details(page)
    person, st = d.mentee, d.status
    booked = mentees.schedule(page.svc, page.actor, person.id, limit=5)
    default_flow = page.svc.config.checkins.flow
    values = values or {"plan": person.plan or "none",
                        "start": st.plan_start.isoformat() if st.plan_start else "",
                        "end": st.plan_end.isoformat() if st.plan_end else "",
                        "flow": "" if booked.flow == default_flow else booked.flow}
    return page.render("admin/plan.html", status=status, title=f"Check-in plan: {person.name}",
                       person=person, values=values, error=error, upcoming=booked.upcoming,
                       default_plan=page.svc.config.checkins.default_plan, flow=booked.flow,
                       flows=flow_choices(page.svc), default_flow=default_flow,
                       warnings=booked.warnings)


def plan_save(page: Page) -> Response:
    v = _form(page, "plan", "start", "end", "flow")
    try:
        m = mentees.set_plan(page.svc, page.actor, _id(page, "mentee_id"), v["plan"] or "none",
                             start=v["start"], end=v["end"], flow=v["flow"])
    except InvalidInput as exc:
        return plan_form(page, error=str(exc), values=v, status=400)
    flow = v["flow"] or page.svc.config.checkins.flow
    return page.redirect(f"/admin/mentees/{m.id}/plan",
                         f"{m.name}'s plan is now {m.plan}, with the {flow} check-in." if m.plan
                         else f"{m.name} has no plan now.")


def mentee_telegram(page: Page) -> Response:
    person = _mentee_by_id(page)
    link = mentees.link_code(page.svc, page.actor, person.id, new=page.request.method == "POST")
    return page.render("admin/telegram.html", title=f"Telegram link for {person.name}",
                       name=person.name, linked=person.telegram_linked, link=link,
                       expires=link.expires_at, qr=qr_svg(link.url),
                       no_bot=not page.svc.config.telegram.bot_username,
                       back=f"/admin/mentees/{person.id}", action=f"/admin/mentees/{person.id}/telegram")


# ---- CSV import -----------------------------------------------------------------------------------
def import_form(page: Page, *, error: str = "", status: int = 200,
                report: imports.Imported | None = None, kind: str = "mentees",
                text: str = "", source: str = "") -> Response:
    return page.render("admin/import.html", status=status, title="Import from a spreadsheet",
                       error=error, report=report, kind=kind, text=text, source=source,
                       mentee_columns=("first_name", "last_name", "phone", "telegram_chat_id",
                                       "preferred_channel", "mentor", "timezone", "release_date",
                                       "plan"),
                       staff_columns=("name", "role", "phone", "email", "telegram_chat_id",
                                      "channels", "supervisor", "duty"))


def _uploaded(page: Page) -> tuple[str, str]:
    """The CSV's text and file name, from the file chosen or the box it was pasted into."""
    form = anyio.from_thread.run(page.request.form)  # parsed already for the CSRF check
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = upload.file.read(MAX_CSV_BYTES + 1)
        if len(raw) > MAX_CSV_BYTES:
            raise InvalidInput(f"the file is over {MAX_CSV_BYTES // 1_000_000} MB; split it, or "
                               "use `checkins import` on the server")
        try:
            return raw.decode("utf-8-sig"), upload.filename
        except UnicodeDecodeError:
            raise InvalidInput("the file is not UTF-8 text: in the spreadsheet, save it as "
                               "'CSV UTF-8'") from None
    text = page.form.get("text", "")
    if not text.strip():
        raise InvalidInput("choose a CSV file, or paste its contents into the box")
    return text, "pasted text"


def import_run(page: Page) -> Response:
    kind = page.form.get("kind", "mentees")
    partial = page.form.get("partial") == "yes"
    try:
        text, source = _uploaded(page)
        if kind == "staff":
            report = imports.import_staff(page.svc, page.actor, text, source=source, partial=partial)
        elif kind == "mentees":
            report = imports.import_mentees(page.svc, page.actor, text, source=source,
                                            partial=partial)
        else:
            raise InvalidInput("choose mentees or staff")
    except InvalidInput as exc:
        return import_form(page, error=str(exc), status=400, kind=kind,
                           text=page.form.get("text", ""))
    return import_form(page, report=report, kind=kind, source=source,
                       status=200 if not report.rejected or report.imported else 400)


routes = [
    Route("/admin", admin_page(admin_home), methods=["GET"]),
    Route("/admin/staff", admin_page(staff_list), methods=["GET"]),
    Route("/admin/staff/new", admin_page(staff_new_form), methods=["GET"]),
    Route("/admin/staff/new", admin_page(staff_add), methods=["POST"]),
    Route("/admin/staff/{staff_id}", admin_page(staff_edit_form), methods=["GET"]),
    Route("/admin/staff/{staff_id}", admin_page(staff_edit), methods=["POST"]),
    Route("/admin/staff/{staff_id}/pause", admin_page(staff_pause), methods=["POST"]),
    Route("/admin/staff/{staff_id}/resume", admin_page(staff_resume), methods=["POST"]),
    Route("/admin/staff/{staff_id}/telegram", admin_page(staff_telegram), methods=["GET", "POST"]),
    Route("/admin/mentees", admin_page(mentee_list), methods=["GET"]),
    Route("/admin/mentees/new", admin_page(mentee_new_form), methods=["GET"]),
    Route("/admin/mentees/new", admin_page(mentee_add), methods=["POST"]),
    Route("/admin/mentees/{mentee_id}", admin_page(mentee_edit_form), methods=["GET"]),
    Route("/admin/mentees/{mentee_id}", admin_page(mentee_edit), methods=["POST"]),
    Route("/admin/mentees/{mentee_id}/pause", admin_page(mentee_pause), methods=["POST"]),
    Route("/admin/mentees/{mentee_id}/resume", admin_page(mentee_resume), methods=["POST"]),
    Route("/admin/mentees/{mentee_id}/plan", admin_page(plan_form), methods=["GET"]),
    Route("/admin/mentees/{mentee_id}/plan", admin_page(plan_save), methods=["POST"]),
    Route("/admin/mentees/{mentee_id}/telegram", admin_page(mentee_telegram), methods=["GET", "POST"]),
    Route("/admin/import", admin_page(import_form), methods=["GET"]),
    Route("/admin/import", admin_page(import_run), methods=["POST"]),
]
