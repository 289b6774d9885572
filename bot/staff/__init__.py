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


def create_staff_app(svc: Services) -> ASGIApp:
    """The /staff app; `svc` is what every page calls bot.app with."""
    from bot.staff import auth, routes
    from bot.staff import admin, audit, digest  # the coordinator's pages and the digest online

    app = Starlette(routes=[*auth.routes, *routes.routes, *digest.routes, *admin.routes,
                            *audit.routes,
                            Mount("/static", app=StaticFiles(directory=STATIC), name="static")])
    app.state.svc = svc
    return SecurityHeaders(app)
