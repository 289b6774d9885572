"""The weekly digest online: the same figures, from the same template, as the Monday email.

A supervisor reads their team's digest, the coordinator anyone's (every supervisor's by
default), a mentor their own mentees'; any week, with the CSV download. bot.app.digests decides
whose digest a person may read and records the view or the export in the audit log.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from bot.app import digests, staff
from bot.app.digests import DigestPage
from bot.app.errors import InvalidInput, NotAllowed, NotFound
from bot.people import as_id
from bot.staff.pages import NAV, Page, staff_page
from escalation.digest.week import Week, parse_week

NAV.append(("Digest", "/digest", lambda me: me.role in ("supervisor", "coordinator")))


def _of(page: Page) -> str:
    """Whose digest: a staff id from the picker; anything else is not found."""
    raw = page.request.query_params.get("of", "").strip()
    if not raw:
        return ""
    if as_id(raw) is None:
        raise NotFound("no such staff member")
    return raw


def _read(page: Page, week: str, of: str, *, export: bool) -> list[DigestPage]:
    try:
        return digests.digest(page.svc, page.actor, week=week, of=of, export=export)
    except NotAllowed:
        raise NotFound("no such digest") from None  # someone else's: as if it did not exist


def digest_page(page: Page) -> Response:
    """The week picker, then each digest (a coordinator may see several)."""
    week = page.request.query_params.get("week", "").strip()
    of = _of(page)
    try:
        pages = _read(page, week, of, export=False)
    except InvalidInput as exc:
        return page.render("digest.html", status=400, title="Digest", pages=[], error=str(exc),
                           week=week, of=of, choices=_choices(page), links={})
    label = pages[0].week if pages else week
    return page.render("digest.html", title=f"Digest {label}", pages=pages, error="",
                       week=label, of=of, choices=_choices(page), links=_links(label, of, page))


def digest_csv(page: Page) -> Response:
    week = page.request.query_params.get("week", "").strip()
    pages = _read(page, week, _of(page), export=True)
    label = pages[0].week if pages else (week or "week")
    body = "".join(p.csv if i == 0 else p.csv.split("\r\n", 1)[-1] for i, p in enumerate(pages))
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="checkin-digest-{label}.csv"'})


def _choices(page: Page) -> list[tuple[int, str]]:
    """Whose digest the coordinator can pick: supervisors, then mentors."""
    if page.me is None or page.me.role != "coordinator":
        return []
    people = [s for s in staff.list_staff(page.svc, page.actor) if s.role in ("supervisor", "mentor")]
    people.sort(key=lambda s: (s.role != "supervisor", s.name))
    return [(s.id, f"{s.name} ({s.role}{'' if s.active else ', paused'})") for s in people]


def _links(label: str, of: str, page: Page) -> dict[str, str]:
    """The weeks either side (never past the week in progress) and the CSV of this one."""
    try:
        this = parse_week(label)
    except ValueError:
        return {}
    extra = f"&of={of}" if of else ""
    links = {"previous": page.url(f"/digest?week={this.shifted(-1).label}{extra}"),
             "csv": page.url(f"/digest.csv?week={this.label}{extra}")}
    if this.shifted(1) <= Week.containing(page.svc.clock.now()):
        links["next"] = page.url(f"/digest?week={this.shifted(1).label}{extra}")
    return links


routes = [
    Route("/digest", staff_page(digest_page), methods=["GET"]),
    Route("/digest.csv", staff_page(digest_csv), methods=["GET"]),
]
