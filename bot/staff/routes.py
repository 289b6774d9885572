"""The everyday pages: needs attention, mentees, a mentee's record and reply, alerts."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.app import alerts, attention, mentees, messages, timeline
from bot.app.errors import InvalidInput, NotFound
from bot.people import as_id
from bot.staff.pages import Page, staff_page
from bot.staff.present import OUTCOMES, reply_count, timeline_items
from bot.staff_links import link_is_genuine
from escalation.alert_text import category_words


def _mentee_id(page: Page) -> int:
    mentee_id = as_id(str(page.params["mentee_id"]))
    if mentee_id is None:
        raise NotFound("no such mentee")
    return mentee_id


def home(page: Page) -> Response:
    """Needs attention: open alerts (urgent first), unread messages, missed check-ins, people
    we cannot reach and people with no plan."""
    now = page.svc.clock.now()
    return page.render("home.html", title="Needs attention", needs=attention.needs_attention(
        page.svc, page.actor), words=category_words, now=now)


def mentee_list(page: Page) -> Response:
    return page.render("mentees.html", title="Mentees", people=mentees.list_mentees(page.svc, page.actor))


def mentee_page(page: Page, *, reply_text: str = "", error: str = "", status: int = 200) -> Response:
    """A mentee's record: one timeline, status and plan, the mood strip and the reply form.
    Showing it marks their messages read for this staff member."""
    mentee_id = _mentee_id(page)
    record = timeline.record(page.svc, page.actor, mentee_id)
    window = messages.reply_window(page.svc, page.actor, mentee_id)
    unread = timeline.mark_read(page.svc, page.actor, mentee_id)
    items = timeline_items(record, unread)
    open_alerts = [a for a in record.alerts if a.alert.status != "closed"]
    return page.render("mentee.html", status=status, title=record.mentee.name, record=record,
                       items=items, window=window, open_alerts=open_alerts, reply_text=reply_text,
                       error=error, count=reply_count(reply_text) if reply_text else None,
                       words=category_words)


def reply(page: Page) -> Response:
    """A reply to the mentee, through the outbox on their channel, recorded as this person's."""
    mentee_id = _mentee_id(page)
    text = page.form.get("text", "")
    try:
        queued = messages.reply_to_mentee(page.svc, page.actor, mentee_id, text,
                                          send_now_anyway=page.form.get("send_now") == "yes")
    except InvalidInput as exc:
        return mentee_page(page, reply_text=text, error=str(exc), status=400)
    how = {"sms": "by text", "telegram": "on Telegram"}.get(queued.channel, f"by {queued.channel}")
    parts = f" as {queued.segments} texts" if queued.segments > 1 else ""
    size = f" ({reply_count(text).characters} characters{parts})" if queued.channel == "sms" else ""
    when = (f" It will go at {page.when(queued.waits_until)}, when their quiet hours end."
            if queued.waits_until else "")
    return page.redirect(f"/mentees/{mentee_id}#reply", f"Your reply is on its way {how}{size}.{when}")


def alert_list(page: Page) -> Response:
    closed = page.request.query_params.get("closed") == "1"
    return page.render("alerts.html", title="Alerts", closed=closed, words=category_words,
                       alerts=alerts.list_alerts(page.svc, page.actor, include_closed=closed))


def alert_page(page: Page, *, error: str = "", status: int = 200, note: str = "",
               outcome: str = "") -> Response:
    detail = alerts.detail(page.svc, page.actor, str(page.params["code"]))
    return page.render("alert.html", status=status, title=f"Alert {detail.alert.code}",
                       detail=detail, words=category_words, error=error, note=note,
                       outcome=outcome, outcomes=OUTCOMES)


def _code(page: Page) -> str:
    return str(page.params["code"]).upper()


def acknowledge(page: Page) -> Response:
    done = alerts.acknowledge(page.svc, page.actor, _code(page))
    line = (f"Alert {done.alert.code} was already taken by {done.alert.acknowledged_by or 'someone'}."
            if done.already else f"You have alert {done.alert.code}. The others paged have been told.")
    return page.redirect(f"/alerts/{done.alert.code}", line)


def add_note(page: Page) -> Response:
    text = page.form.get("note", "")
    try:
        alerts.add_note(page.svc, page.actor, _code(page), text)
    except InvalidInput as exc:
        return alert_page(page, error=str(exc), status=400, note=text)
    return page.redirect(f"/alerts/{_code(page)}#history", "Your note is on the alert.")


def close(page: Page) -> Response:
    outcome = page.form.get("outcome", "")
    chosen = page.form.get("outcome_kind", "")
    if chosen and chosen != "other":
        label = dict(OUTCOMES).get(chosen)
        if label is None:
            return alert_page(page, error="choose one of the outcomes listed", status=400,
                              outcome=outcome)
        outcome = f"{label}: {outcome}".rstrip(": ") if outcome.strip() else label
    try:
        alerts.close(page.svc, page.actor, _code(page), outcome)
    except InvalidInput as exc:
        return alert_page(page, error=str(exc), status=400, outcome=page.form.get("outcome", ""))
    return page.redirect(f"/alerts/{_code(page)}", f"Alert {_code(page)} is closed.")


def alert_link(page: Page) -> Response:
    """The short link in an alert text: genuine links open the alert page (the role check
    still applies there); anything else is not found."""
    code = _code(page)
    if not link_is_genuine(page.svc.config.staff.link_secret, code,
                           page.request.query_params.get("s", "")):
        raise NotFound("this link is not one of ours, or it was copied wrongly")
    return RedirectResponse(page.url(f"/alerts/{code}"), status_code=303)


routes = [
    Route("/", staff_page(home), methods=["GET"]),
    Route("/mentees", staff_page(mentee_list), methods=["GET"]),
    Route("/mentees/{mentee_id}", staff_page(mentee_page), methods=["GET"]),
    Route("/mentees/{mentee_id}/reply", staff_page(reply), methods=["POST"]),
    Route("/alerts", staff_page(alert_list), methods=["GET"]),
    Route("/alerts/{code}", staff_page(alert_page), methods=["GET"]),
    Route("/alerts/{code}/acknowledge", staff_page(acknowledge), methods=["POST"]),
    Route("/alerts/{code}/note", staff_page(add_note), methods=["POST"]),
    Route("/alerts/{code}/close", staff_page(close), methods=["POST"]),
    Route("/a/{code}", staff_page(alert_link), methods=["GET"]),
]


