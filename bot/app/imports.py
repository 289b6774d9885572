"""CSV imports of mentees and staff (coordinator): every row checked, all or nothing by default."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from bot.app.actor import Actor
from bot.app.unit import Unit, run
from bot.service import admin
from bot.service.runtime import Services

MENTEE_REQUIRED = ("first_name", "mentor")
STAFF_REQUIRED = ("name",)


@dataclass(frozen=True)
class Imported:
    import_id: str  # names this import in the audit log
    total: int
    imported: int
    rejected: tuple[tuple[int, str], ...]  # (line number, reason)
    partial: bool


def import_mentees(svc: Services, actor: Actor, text: str, *, source: str = "mentees.csv",
                   partial: bool = False, progress: Callable[[int], None] | None = None) -> Imported:
    """Import mentees from a CSV file's text; rows without a plan get the configured default."""
    def one(unit: Unit, rows: list[dict[str, str]]) -> admin.ImportReport:
        return admin.import_mentees(unit.session, unit.svc, unit.now, rows, partial=partial,
                                    default_plan=unit.svc.config.checkins.default_plan,
                                    progress=progress)

    return _import(svc, actor, "mentees", text, source, MENTEE_REQUIRED, partial, one)


def import_staff(svc: Services, actor: Actor, text: str, *, source: str = "staff.csv",
                 partial: bool = False, progress: Callable[[int], None] | None = None) -> Imported:
    """Import staff from a CSV file's text; supervisors must come before the mentors they lead."""
    def one(unit: Unit, rows: list[dict[str, str]]) -> admin.ImportReport:
        return admin.import_staff(unit.session, unit.now, rows, partial=partial, progress=progress,
                                  regions=admin.sms_regions(unit.svc))

    return _import(svc, actor, "staff", text, source, STAFF_REQUIRED, partial, one)


def _import(svc: Services, actor: Actor, what: str, text: str, source: str,
            required: tuple[str, ...], partial: bool,
            importer: Callable[[Unit, list[dict[str, str]]], admin.ImportReport]) -> Imported:
    def work(unit: Unit) -> Imported:
        unit.require_admin(f"import {what}")
        rows = admin.parse_csv(text, source, required)
        report = importer(unit, rows)
        import_id = f"imp-{secrets.token_hex(4)}"
        unit.audit(f"{what}.import", target=import_id,
                   detail=f"{source}: {report.imported} of {len(rows)} imported, "
                          f"{len(report.rejected)} rejected")
        return Imported(import_id, len(rows), report.imported, tuple(report.rejected), partial)

    return run(svc, actor, work)
