"""Signing in with a one-time code, and signing out (here or everywhere)."""

from __future__ import annotations

import time

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.app import signin
from bot.staff.pages import (
    PRE_COOKIE,
    SESSION_COOKIE,
    Page,
    anonymous_page,
    base_path,
    client_of,
    plain_page,
    safe_next,
    same,
    set_cookie,
    staff_page,
)


def _next(page: Page) -> str:
    return safe_next(page.request, page.form.get("next") or page.request.query_params.get("next", ""))


def sign_in_form(page: Page) -> Response:
    """Step 1: the phone number or email the service has for you."""
    return page.render("sign_in.html", title="Sign in", next=_next(page), address="", error="",
                       notice=page.request.query_params.get("m", "") == "out")


def ask_code(page: Page) -> Response:
    typed = page.form.get("address", "")
    started = time.monotonic()
    asked = signin.request_code(page.svc, typed, client_of(page.request))
    # A staff address does more work (a code stored, a text queued) than a stranger's: pad
    # every answer to the same floor so the timing gives nothing away.
    time.sleep(max(0.0, page.svc.config.staff.code_answer_seconds - (time.monotonic() - started)))
    if not asked.ok:
        status = 429 if "Too many" in asked.message else 400
        return page.render("sign_in.html", status=status, title="Sign in", next=_next(page),
                           address=typed, error=asked.message, notice=False)
    return page.render("sign_in_code.html", title="Enter your code", next=_next(page),
                       address=typed, error="", minutes=round(page.svc.config.staff.code_minutes))


def check_code(page: Page) -> Response:
    typed = page.form.get("address", "")
    result = signin.sign_in(page.svc, typed, page.form.get("code", ""), client_of(page.request),
                            page.request.headers.get("user-agent", ""))
    if result.token is None:
        status = 429 if "Too many" in result.message else 400
        return page.render("sign_in_code.html", status=status, title="Enter your code",
                           next=_next(page), address=typed, error=result.message,
                           minutes=round(page.svc.config.staff.code_minutes))
    response = RedirectResponse(_next(page), status_code=303)
    set_cookie(response, page.svc, page.request, SESSION_COOKIE, result.token)
    response.delete_cookie(PRE_COOKIE, path=base_path(page.request))
    return response


def _signed_out(page: Page) -> Response:
    response = RedirectResponse(page.url("/sign-in?m=out"), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=base_path(page.request))
    return response


def sign_out(page: Page) -> Response:
    signin.sign_out(page.svc, page.request.cookies.get(SESSION_COOKIE, ""))
    return _signed_out(page)


def sign_out_everywhere(page: Page) -> Response:
    """Every browser this person is signed in on (a lost or shared phone)."""
    signin.sign_out_everywhere(page.svc, page.actor)
    return _signed_out(page)


def demo_sign_in(staff_id: int, key: str) -> Route:
    """`checkins demo --web` only: its link signs in as the demo mentor without a code."""
    def sign_in_as_demo_mentor(page: Page) -> Response:
        if not same(page.request.query_params.get("key", ""), key):
            return plain_page(page.request, page.svc, 404, "Not found", "This demo link is not this demo's.")
        token = signin.start_session(page.svc, staff_id, client="demo")
        response = RedirectResponse(page.url("/"), status_code=303)
        set_cookie(response, page.svc, page.request, SESSION_COOKIE, token)
        return response

    return Route("/demo-sign-in", anonymous_page(sign_in_as_demo_mentor), methods=["GET"])


routes = [
    Route("/sign-in", anonymous_page(sign_in_form), methods=["GET"]),
    Route("/sign-in", anonymous_page(ask_code), methods=["POST"]),
    Route("/sign-in/code", anonymous_page(check_code), methods=["POST"]),
    Route("/sign-out", staff_page(sign_out), methods=["POST"]),
    Route("/sign-out-everywhere", staff_page(sign_out_everywhere), methods=["POST"]),
]
