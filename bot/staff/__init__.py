"""The staff web app, mounted under /staff in the service's Starlette app.

Layers: these routes render what bot.app returns; bot.app checks who may do what and runs one
unit of work; bot.storage holds the SQL. See bot/staff/pages.py for the per-page machinery.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from bot.service.runtime import Services
from bot.staff.pages import SecurityHeaders

STATIC = Path(__file__).parent / "static"


def create_staff_app(svc: Services, *, demo_staff_id: int | None = None, demo_key: str = "") -> ASGIApp:
    """The /staff app; `svc` is what every page calls bot.app with. `checkins demo --web` adds
    a sign-in without a code for its mentor (`demo_staff_id`), behind a one-off `demo_key`."""
    from bot.staff import auth, casework, routes
    from bot.staff import admin, audit, digest  # the coordinator's pages and the digest online

    extra = [auth.demo_sign_in(demo_staff_id, demo_key)] if demo_staff_id is not None and demo_key else []
    app = Starlette(routes=[*auth.routes, *routes.routes, *casework.routes, *digest.routes, *admin.routes,
                            *audit.routes, *extra,
                            Mount("/static", app=StaticFiles(directory=STATIC), name="static")])
    app.state.svc = svc
    return SecurityHeaders(app)
