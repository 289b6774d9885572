"""The coordinator's pages and the digest online in a real browser: Playwright driving Debian's
Chromium against the whole service on 127.0.0.1 (the two-team world of the HTTP tests).

The coordinator adds a mentee and imports a CSV; a supervisor reads the digest online; each page
is photographed at 360 px and must not scroll sideways; the digest email fits 390 px. Skipped,
with the reason, where /usr/bin/chromium or the playwright package is missing (never run
`playwright install`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import signin
from bot.app.actor import Actor
from bot.staff.pages import SESSION_COOKIE
from bot.storage.models import Mentee
from tests.bot.staff.conftest import StaffWeb, skip_without_browser
from tests.waiting import PATIENCE

skip_without_browser()

WIDTH = 360


def signed_in(browser: Any, web: StaffWeb, who: Actor, width: int = WIDTH) -> Any:
    """A phone-sized page signed in as `who` (the sign-in itself is tested elsewhere)."""
    assert who.staff_id is not None
    context = browser.new_context(viewport={"width": width, "height": 740}, device_scale_factor=1)
    context.add_cookies([{"name": SESSION_COOKIE, "domain": "127.0.0.1", "path": "/staff",
                          "httpOnly": True,
                          "value": signin.start_session(web.svc, who.staff_id, client="browser")}])
    context.set_default_timeout(PATIENCE * 1000)  # Playwright's waits end on the event, not at 30 s
    return context.new_page()


def shown(locator: Any) -> bool:
    """Whether `locator` is on screen, once the navigation a click started has got there (read at
    once, mid-navigation, it is not there yet on a busy machine); bounded by PATIENCE."""
    locator.wait_for(state="visible")
    return bool(locator.is_visible())


def fits(page: Any, shots: Path, name: str, width: int = WIDTH) -> None:
    """A screenshot of the page, and no sideways scrolling."""
    page.screenshot(path=str(shots / f"staff-{name}.png"),
                    full_page="CHECKINS_STAFF_SCREENSHOTS" not in os.environ)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{name} is {wide} px wide at {width} px"


def crisis(web: StaffWeb) -> None:
    """Sam texts a crisis; in a thread, as Playwright's sync API holds this thread's event loop."""
    worker = threading.Thread(target=web.crisis)
    worker.start()
    worker.join(timeout=PATIENCE)
    assert not worker.is_alive()


def no_csp_complaints(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


def test_the_coordinator_adds_a_mentee_and_imports_a_csv(browser: Any, web: StaffWeb, shots: Path,
                                                         tmp_path: Path) -> None:
    page = signed_in(browser, web, web.world.cora)
    complaints = no_csp_complaints(page)
    page.goto(web.url + "/staff/")
    page.get_by_role("link", name="Admin", exact=True).first.click()
    fits(page, shots, "admin")
    page.get_by_role("link", name="Mentees").nth(1).click()
    page.get_by_role("link", name="Add a mentee").click()
    page.get_by_label("First name").fill("Kim")
    page.get_by_label("Last name").fill("Reid")
    page.get_by_label("Mobile number").fill("07700 900333")
    page.get_by_label("Mentor").select_option(label="Dan Carter")
    page.get_by_label("Check-in plan").fill("mon,thu 10:00")
    fits(page, shots, "admin-add-mentee")
    page.get_by_role("button", name="Add this mentee").click()
    assert page.get_by_role("status").inner_text() == "Kim R. is added, with plan mon,thu 10:00."
    with web.svc.sessions() as s:
        [kim] = [m for m in s.scalars(select(Mentee)) if m.first_name == "Kim"]  # names are encrypted
    assert kim.plan == "mon,thu 10:00" and kim.mentor_id == web.world.dan.staff_id
    fits(page, shots, "admin-mentee")

    page.get_by_role("link", name="Import").first.click()
    csv = tmp_path / "caseload.csv"
    csv.write_text("first_name,last_name,phone,mentor,plan\nAmy,Bell,07700900501,Dan Carter,\n"
                   "Ben,Cole,12,Omar Hill,\nCal,Dunn,07700900503,Omar Hill,daily 18:30\n",
                   encoding="utf-8")
    page.get_by_label("CSV file").set_input_files(str(csv))
    page.get_by_role("button", name="Check and import").click()
    assert "Nothing was imported: 1 of 3 row(s) have a problem" in page.get_by_role("alert").inner_text()
    assert page.locator("table.report td[data-label=Line]").all_inner_texts() == ["3"]
    fits(page, shots, "admin-import-report")
    page.get_by_label("CSV file").set_input_files(str(csv))
    page.get_by_label("Import the good rows").check()
    page.get_by_role("button", name="Check and import").click()
    assert "2 of 3 row(s) from caseload.csv imported" in page.get_by_role("status").last.inner_text()
    with web.svc.sessions() as s:
        names = set(s.scalars(select(Mentee.first_name)))
    assert {"Amy", "Cal"} <= names and "Ben" not in names
    assert complaints == []


def test_a_supervisor_reads_the_digest_online(browser: Any, web: StaffWeb, shots: Path) -> None:
    crisis(web)  # an alert this week, so the alerts table is there
    page = signed_in(browser, web, web.world.priya)
    complaints = no_csp_complaints(page)
    page.goto(web.url + "/staff/")
    page.get_by_role("link", name="Digest").click()
    page.get_by_label("Week").fill("2026-W11")
    page.get_by_role("button", name="Show").click()
    assert shown(page.get_by_role("heading", name="Check-in digest for Priya Shah"))
    assert shown(page.get_by_role("heading", name="Alerts raised (1)"))
    # On a phone, each alert is a block of "label: value" lines rather than a wide table.
    first = page.locator("table.alerts tbody tr").first
    assert first.locator("td[data-label=Mentee]").inner_text() == "Sam T."
    assert first.evaluate("row => getComputedStyle(row).display") == "block"
    fits(page, shots, "digest")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    assert download.value.suggested_filename == "checkin-digest-2026-W11.csv"
    assert complaints == []


@pytest.mark.parametrize("name,path", [
    ("admin-staff", "/staff/admin/staff"), ("admin-staff-form", "/staff/admin/staff/{dan}"),
    ("admin-staff-new", "/staff/admin/staff/new"), ("admin-mentees", "/staff/admin/mentees"),
    ("admin-plan", "/staff/admin/mentees/{sam}/plan"),
    ("admin-telegram", "/staff/admin/mentees/{sam}/telegram"), ("admin-import", "/staff/admin/import"),
    ("admin-audit", "/staff/admin/audit"), ("digest-coordinator", "/staff/digest?week=2026-W11"),
])
def test_each_page_fits_a_360_px_screen(browser: Any, web: StaffWeb, shots: Path, name: str,
                                        path: str) -> None:
    crisis(web)
    page = signed_in(browser, web, web.world.cora)
    complaints = no_csp_complaints(page)
    page.goto(web.url + path.format(sam=web.world.sam, dan=web.world.dan.staff_id))
    assert shown(page.locator("h1").first)
    fits(page, shots, name)
    assert complaints == []


def test_the_qr_code_is_drawn(browser: Any, web: StaffWeb, shots: Path) -> None:
    page = signed_in(browser, web, web.world.cora)
    page.goto(web.url + f"/staff/admin/staff/{web.world.dan.staff_id}/telegram")
    box = page.locator("figure.qr svg").bounding_box()
    assert box is not None and 150 <= box["width"] <= WIDTH and box["width"] == box["height"]


def test_the_digest_email_fits_a_390_px_screen(browser: Any, web: StaffWeb, shots: Path) -> None:
    from bot.app import digests
    crisis(web)
    html = digests.digest(web.svc, web.world.operator, week="2026-W11",
                          of=str(web.world.priya.staff_id))[0].html
    context = browser.new_context(viewport={"width": 390, "height": 800}, device_scale_factor=1,
                                  java_script_enabled=False)
    page = context.new_page()
    page.set_content(html)
    assert "Alerts raised (1)" in page.inner_text("body")
    fits(page, shots, "digest-email", width=390)


def test_the_coordinator_picks_a_flow_for_a_mentee_in_the_browser(browser: Any, web: StaffWeb,
                                                                   shots: Path) -> None:
    """Admin > Mentees > Sam > Check-in plan and flow: plan and "Which check-in", saved, shown
    again with the flow chosen; then Sam's safe-contact and matching pages fit a phone."""
    page = signed_in(browser, web, web.world.cora)
    complaints = no_csp_complaints(page)
    page.goto(web.url + f"/staff/admin/mentees/{web.world.sam}")
    page.get_by_role("link", name="Check-in plan and flow").click()
    page.get_by_label("New plan").fill("wed 10:00")
    page.get_by_label("Which check-in").select_option("monthly")
    fits(page, shots, "admin-plan-flow")
    page.get_by_role("button", name="Save the plan").click()
    assert page.get_by_role("status").inner_text() == (
        "Sam T.'s plan is now wed 10:00, with the monthly check-in.")
    assert page.get_by_label("Which check-in").input_value() == "monthly"
    with web.svc.sessions() as s:
        assert s.get(Mentee, web.world.sam).flow == "monthly"  # type: ignore[union-attr]
    for name, link in (("safety", "Safe contact"), ("match", "Mentor matching")):
        page.goto(web.url + f"/staff/admin/mentees/{web.world.sam}")
        page.get_by_role("link", name=link).click()
        assert shown(page.locator("h1").first)
        fits(page, shots, name)
    assert complaints == []
