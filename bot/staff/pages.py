"""The staff app's machinery: templates, security headers, sessions, CSRF and `staff_page`.

A page is a plain function of a `Page` (who is signed in, the form, the path parameters) that
calls bot.app and renders a template; it holds no business rule and no SQL. `staff_page` does
everything else for every page and action alike:
- no live session: a GET goes to the sign-in page (and comes back after), a POST is refused;
- a POST without this session's CSRF token is refused with 403 and a plain page;
- bot.app's refusals become pages: NotFound 404, NotAllowed 403, InvalidInput 400 (a form that
  wants to show its own error catches InvalidInput itself).
The sync work (bot.app, Jinja) runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.app import signin
from bot.app.actor import Actor
from bot.app.errors import InvalidInput, NotAllowed, NotFound
from bot.app.signin import SignedIn
from bot.service.runtime import Services

SESSION_COOKIE = "checkins_staff"
PRE_COOKIE = "checkins_pre"  # before sign-in: what the sign-in forms' CSRF token is tied to
FLASH_COOKIE = "checkins_flash"
CSRF_FIELD = "csrf"

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                               "base-uri 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cache-control": "no-store",  # staff pages hold people's words: never kept by a shared phone
}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response of the staff app (static files keep caching)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").split("/staff", 1)[-1].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if not (static and k == b"cache-control")]
                have = {k.lower() for k, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.encode() not in have:
                        if static and name == "cache-control":
                            value = "public, max-age=3600"
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


# ---- templates ------------------------------------------------------------------------------------
def _when(value: datetime | None, tz: str = "Europe/London") -> str:
    if value is None:
        return "-"
    return value.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M")


def _ago(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    hours, mins = divmod(minutes, 60)
    if hours < 48:
        return (f"{hours} h {mins} min" if mins and hours < 10 else f"{hours} h") + " ago"
    return f"{hours // 24} days ago"


ENV = Environment(loader=PackageLoader("bot", "templates/staff"),
                  autoescape=select_autoescape(default=True, default_for_string=True),
                  trim_blocks=True, lstrip_blocks=True)
ENV.filters["ago"] = _ago

# The navigation every page shows: (label, path, who sees it). Other pages add theirs here.
NAV: list[tuple[str, str, Callable[[SignedIn], bool]]] = [
    ("Needs attention", "/", lambda me: True),
    ("Mentees", "/mentees", lambda me: True),
    ("Alerts", "/alerts", lambda me: True),
]


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of what a browser sent (any characters) with what we expect."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def csrf_token(basis: str) -> str:
    """The form token tied to a session (or, before sign-in, to the pre-session cookie)."""
    return hmac.new(basis.encode(), b"checkins-staff-csrf", hashlib.sha256).hexdigest()[:32]


def secure_cookies(svc: Services) -> bool:
    return svc.config.service.public_base_url.startswith("https://")


def set_cookie(response: Response, svc: Services, request: Request, name: str, value: str,
               max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=base_path(request), httponly=True,
                        samesite="lax", secure=secure_cookies(svc))


def base_path(request: Request) -> str:
    """Where the staff app is mounted as the browser sees it (e.g. /staff)."""
    return request.scope.get("root_path", "").rstrip("/") or "/staff"


def _flash_sig(basis: str, text: str) -> str:
    return hmac.new(basis.encode(), b"flash:" + text.encode(), hashlib.sha256).hexdigest()[:16]


@dataclass
class Page:
    """One request to a staff page, as a page function sees it."""

    request: Request
    svc: Services
    me: SignedIn | None
    csrf: str
    form: Mapping[str, str] = field(default_factory=dict)
    flash: str = ""
    cookies_out: list[tuple[str, str, int | None]] = field(default_factory=list)

    @property
    def params(self) -> Mapping[str, Any]:
        return self.request.path_params

    @property
    def actor(self) -> Actor:
        """Who is signed in, for bot.app (only on staff_page pages)."""
        assert self.me is not None
        return self.me.actor

    def url(self, path: str) -> str:
        return base_path(self.request) + path

    def when(self, value: datetime | None) -> str:
        return _when(value, self.svc.config.service.timezone)

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        nav = [(label, self.url(path)) for label, path, shown in NAV if self.me and shown(self.me)]
        html = ENV.get_template(template).render(
            page=self, me=self.me, csrf=self.csrf, csrf_field=CSRF_FIELD, nav=nav,
            url=self.url, when=self.when, flash=self.flash,
            org=self.svc.config.service.org_name, **context)
        response = HTMLResponse(html, status_code=status)
        self._cookies(response)
        return response

    def redirect(self, path: str, flash: str = "") -> Response:
        """See-other after an action, with a one-line message for the next page."""
        response = RedirectResponse(self.url(path), status_code=303)
        if flash:
            basis = self.request.cookies.get(SESSION_COOKIE, "")
            self.cookies_out.append((FLASH_COOKIE, quote(flash) + "." + _flash_sig(basis, flash), 60))
        self._cookies(response)
        return response

    def _cookies(self, response: Response) -> None:
        for name, value, age in self.cookies_out:
            set_cookie(response, self.svc, self.request, name, value, age)


def plain_page(request: Request, svc: Services, status: int, title: str, line: str,
               me: SignedIn | None = None) -> Response:
    """A page with one line: refusals and errors."""
    page = Page(request, svc, me, csrf=csrf_token(request.cookies.get(SESSION_COOKIE, "") or
                                                   request.cookies.get(PRE_COOKIE, "") or "none"))
    return page.render("message.html", status=status, title=title, line=line)


def client_of(request: Request) -> str:
    """The client address (uvicorn's proxy_headers set it from the trusted proxy's header)."""
    return request.client.host if request.client else "unknown"


async def read_form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _read_flash(request: Request, basis: str) -> str:
    raw = request.cookies.get(FLASH_COOKIE, "")
    text, _, sig = raw.rpartition(".")
    text = unquote(text)
    return text if text and same(sig, _flash_sig(basis, text)) else ""


PageFunction = Callable[[Page], Response]


def staff_page(fn: PageFunction) -> Callable[[Request], Any]:
    """Turn a page function into a Starlette endpoint for signed-in staff (see the module doc)."""
    async def endpoint(request: Request) -> Response:
        svc: Services = request.app.state.svc
        token = request.cookies.get(SESSION_COOKIE, "")
        me = await run_in_threadpool(signin.resume, svc, token) if token else None
        if me is None:
            if request.method in ("GET", "HEAD"):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response: Response = RedirectResponse(
                    base_path(request) + "/sign-in?next=" + quote(target, safe=""), status_code=303)
                if token:
                    response.delete_cookie(SESSION_COOKIE, path=base_path(request))
                return response
            return plain_page(request, svc, 403, "Signed out",
                              "You are signed out, so nothing was done. Sign in and try again.")
        csrf = csrf_token(token)
        form: dict[str, str] = {}
        if request.method == "POST":
            form = await read_form(request)
            if not same(form.get(CSRF_FIELD, ""), csrf):
                return plain_page(request, svc, 403, "Not done",
                                  "This form had expired or did not come from this app, so "
                                  "nothing was done. Go back, reload the page and try again.", me)
        page = Page(request, svc, me, csrf, form, flash=_read_flash(request, token))
        try:
            response = await run_in_threadpool(fn, page)
        except NotFound as exc:
            return plain_page(request, svc, 404, "Not found", str(exc) or "No such page.", me)
        except NotAllowed as exc:
            return plain_page(request, svc, 403, "Not allowed", str(exc), me)
        except InvalidInput as exc:
            return plain_page(request, svc, 400, "Not done", str(exc), me)
        if page.flash:
            response.delete_cookie(FLASH_COOKIE, path=base_path(request))
        return response

    endpoint.__name__ = fn.__name__
    endpoint.__doc__ = fn.__doc__
    return endpoint


def anonymous_page(fn: PageFunction) -> Callable[[Request], Any]:
    """An endpoint for the sign-in pages: CSRF tied to a pre-session cookie."""
    async def endpoint(request: Request) -> Response:
        svc: Services = request.app.state.svc
        pre = request.cookies.get(PRE_COOKIE, "")
        fresh = not pre
        if fresh:
            pre = secrets.token_urlsafe(24)
        csrf = csrf_token(pre)
        form: dict[str, str] = {}
        if request.method == "POST":
            form = await read_form(request)
            if fresh or not same(form.get(CSRF_FIELD, ""), csrf):
                response = plain_page(request, svc, 403, "Not done",
                                      "This form had expired or did not come from this app. "
                                      "Go back, reload the page and try again.")
                set_cookie(response, svc, request, PRE_COOKIE, pre)
                return response
        page = Page(request, svc, None, csrf, form)
        if fresh:
            page.cookies_out.append((PRE_COOKIE, pre, None))
        return await run_in_threadpool(fn, page)

    endpoint.__name__ = fn.__name__
    return endpoint


def safe_next(request: Request, target: str) -> str:
    """A path inside the staff app to return to after sign-in; anything else goes home."""
    base = base_path(request)
    if target.startswith(base + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return base + "/"
