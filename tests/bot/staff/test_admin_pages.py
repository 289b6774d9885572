"""What the coordinator's pages do: each form reaches bot.app, refusals come back as one line
on the same form, and every change is in the audit log as the coordinator's."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.storage.models import Mentee, Staff
from tests.bot.staff.conftest import StaffWeb


def _mentee(web: StaffWeb, first_name: str) -> Mentee | None:
    with web.svc.sessions() as s:
        # Names are encrypted at rest: compared here, not in SQL.
        return next((m for m in s.scalars(select(Mentee)) if m.first_name == first_name), None)


def _error(html: str) -> str:
    found = re.search(r'<p class="error" role="alert"[^>]*>(.*?)</p>', html, re.S)
    return found.group(1).replace("&#39;", "'").replace("&#34;", '"') if found else ""


def test_adding_a_mentee_gives_them_the_usual_plan_and_is_audited(web: StaffWeb) -> None:
    client = web.client(web.world.cora)
    answer = web.post(client, "/staff/admin/mentees/new", {
        "first_name": "Kim", "last_name": "Reid", "phone": "07700 900333", "channel": "sms",
        "mentor": str(web.world.dan.staff_id), "plan": ""}, csrf_from="/staff/admin/mentees/new")
    assert answer.status_code == 303
    kim = _mentee(web, "Kim")
    assert kim is not None and kim.phone == "+447700900333" and kim.mentor_id == web.world.dan.staff_id
    assert kim.plan == web.svc.config.checkins.default_plan
    follow = client.get(answer.headers["location"])
    assert "Kim R. is added, with the usual plan" in follow.text
    entry = web.world.audited("mentee.add")[-1]
    assert (entry.actor_staff_id, entry.mentee_id) == (web.world.cora.staff_id, kim.id)


def test_a_bad_phone_comes_back_on_the_form_with_what_was_typed(web: StaffWeb) -> None:
    answer = web.post(web.client(web.world.cora), "/staff/admin/mentees/new", {
        "first_name": "Kim", "phone": "12", "channel": "sms", "mentor": str(web.world.dan.staff_id)})
    assert answer.status_code == 400
    assert "12" in _error(answer.text) and 'value="Kim"' in answer.text
    assert _mentee(web, "Kim") is None


def test_a_telegram_mentee_goes_straight_to_their_link_and_qr_code(web: StaffWeb) -> None:
    client = web.client(web.world.cora)
    answer = web.post(client, "/staff/admin/mentees/new", {
        "first_name": "Tess", "channel": "telegram", "mentor": str(web.world.omar.staff_id)})
    assert answer.status_code == 303 and answer.headers["location"].endswith("/telegram")
    page = client.get(answer.headers["location"]).text
    tess = _mentee(web, "Tess")
    assert tess is not None and tess.telegram_link_code
    assert f"https://t.me/" in page and f"?start={tess.telegram_link_code}" in page
    assert "<svg" in page and "QR code of the Telegram link" in page
    again = client.get(answer.headers["location"]).text  # the same link every time it is shown
    assert f"?start={tess.telegram_link_code}" in again
    web.post(client, answer.headers["location"], {}, csrf_from=answer.headers["location"])
    assert _mentee(web, "Tess").telegram_link_code != tess.telegram_link_code  # type: ignore[union-attr]


def test_the_qr_code_encodes_the_deep_link() -> None:
    import segno

    from bot.staff.admin import qr_svg
    url = "https://t.me/northside_bot?start=abc123"
    assert qr_svg(url) == qr_svg(url) and "<path" in qr_svg(url) and "style=" not in qr_svg(url)
    assert qr_svg(url) == segno.make(url, error="m").svg_inline(
        scale=6, border=4, title="QR code of the Telegram link")


def test_editing_a_mentee_records_only_what_changed(web: StaffWeb) -> None:
    client = web.client(web.world.cora)
    path = f"/staff/admin/mentees/{web.world.sam}"
    form = client.get(path).text
    assert 'value="Sam"' in form and 'value="+447700900123"' in form
    answer = web.post(client, path, {"first_name": "Sam", "last_name": "Taylor",
                                     "phone": "+447700900123", "channel": "sms",
                                     "mentor": str(web.world.omar.staff_id), "timezone": "Europe/London",
                                     "release_date": "", "quiet_hours": "21:00-08:00"}, csrf_from=path)
    assert answer.status_code == 303
    sam = _mentee(web, "Sam")
    assert sam is not None and sam.mentor_id == web.world.omar.staff_id
    assert (sam.quiet_start, sam.quiet_end) == ("21:00", "08:00")
    assert web.world.audited("mentee.edit")[-1].detail == "mentor, quiet_hours"


def test_pausing_and_resuming_a_mentee(web: StaffWeb) -> None:
    client = web.client(web.world.cora)
    base = f"/staff/admin/mentees/{web.world.sam}"
    web.post(client, base + "/pause", {}, csrf_from=base)
    assert _mentee(web, "Sam").status == "paused"  # type: ignore[union-attr]
    assert "Resume check-ins" in client.get(base).text
    web.post(client, base + "/resume", {}, csrf_from=base)
    assert _mentee(web, "Sam").status == "active"  # type: ignore[union-attr]
    assert [e.action for e in web.world.audited("mentee.pause") + web.world.audited("mentee.resume")] \
        == ["mentee.pause", "mentee.resume"]


def test_choosing_a_plan_and_a_wrong_plan(web: StaffWeb) -> None:
    client = web.client(web.world.cora)
    path = f"/staff/admin/mentees/{web.world.sam}/plan"
    wrong = web.post(client, path, {"plan": "every so often"}, csrf_from=path)
    assert wrong.status_code == 400 and _error(wrong.text)
    assert 'value="every so often"' in wrong.text
    right = web.post(client, path, {"plan": "mon,thu 10:00", "end": "2026-12-31"}, csrf_from=path)
    assert right.status_code == 303
    page = client.get(path).text
    assert "mon,thu 10:00" in page and "checkin" in page  # the next bookings are listed
    assert web.world.audited("mentee.plan")[-1].detail.startswith("plan mon,thu 10:00")


def test_adding_editing_and_pausing_staff(web: StaffWeb) -> None:
    client = web.client(web.world.cora)
    answer = web.post(client, "/staff/admin/staff/new", {
        "name": "Eve Stone", "role": "mentor", "phone": "07700 900222", "email": "",
        "channels": "sms", "supervisor": str(web.world.priya.staff_id)})  # email alerts need an email
    assert answer.status_code == 303
    with web.svc.sessions() as s:
        eve = s.scalars(select(Staff).where(Staff.name == "Eve Stone")).one()
    assert eve.supervisor_id == web.world.priya.staff_id and eve.channels == "sms"
    path = f"/staff/admin/staff/{eve.id}"
    web.post(client, path, {"name": "Eve Stone", "phone": "+447700900222", "email": "eve@example.org",
                            "channels": "sms,email", "supervisor": ""}, csrf_from=path)
    web.post(client, path + "/pause", {}, csrf_from=path)
    with web.svc.sessions() as s:
        eve = s.get(Staff, eve.id)  # type: ignore[assignment]
        assert eve is not None and eve.email == "eve@example.org" and not eve.active
    assert web.world.audited("staff.edit")[-1].detail == "email, channels"  # only what changed
    assert web.world.audited("staff.pause")[-1].staff_id == eve.id
    missing = web.post(client, "/staff/admin/staff/new", {"name": "No Contact", "role": "mentor"})
    assert missing.status_code == 400 and _error(missing.text)


def test_a_csv_import_reports_every_bad_row_and_imports_nothing(web: StaffWeb) -> None:
    client = web.client(web.world.cora)
    csv = ("first_name,last_name,phone,mentor\nAmy,Bell,07700900501,Dan Carter\n"
           "Ben,Cole,not a phone,Dan Carter\nCal,Dunn,07700900503,Nobody Here\n")
    answer = client.post("/staff/admin/import", data={"csrf": web.csrf(client, "/staff/admin/import"),
                                                      "kind": "mentees"},
                         files={"file": ("caseload.csv", csv.encode(), "text/csv")})
    assert answer.status_code == 400
    assert "Nothing was imported: 2 of 3 row(s) have a problem" in answer.text
    rows = re.findall(r'<td data-label="Line">(\d+)</td><td data-label="Problem">(.*?)</td>', answer.text)
    assert [line for line, _ in rows] == ["3", "4"]
    assert _mentee(web, "Amy") is None
    partial = client.post("/staff/admin/import", data={
        "csrf": web.csrf(client, "/staff/admin/import"), "kind": "mentees", "partial": "yes"},
        files={"file": ("caseload.csv", csv.encode(), "text/csv")})
    assert partial.status_code == 200 and "1 of 3 row(s) from caseload.csv imported" in partial.text
    assert _mentee(web, "Amy") is not None
    details = [e.detail for e in web.world.audited("mentees.import")]
    assert details == ["caseload.csv: 0 of 3 imported, 2 rejected", "caseload.csv: 1 of 3 imported, 2 rejected"]


def test_an_import_that_is_not_a_csv_gets_one_line(web: StaffWeb) -> None:
    client = web.client(web.world.cora)
    for files, line in [
        ({"file": ("x.csv", "\xff\xfe\x00bad".encode("latin-1"), "text/csv")}, "not UTF-8"),
        ({"file": ("x.csv", b"name,colour\nA,red\n", "text/csv")}, "missing column(s) first_name, mentor"),
        (None, "choose a CSV file, or paste its contents"),
    ]:
        answer = client.post("/staff/admin/import", data={
            "csrf": web.csrf(client, "/staff/admin/import"), "kind": "mentees"}, files=files)
        assert answer.status_code == 400 and line in _error(answer.text), (line, _error(answer.text))


def test_the_telegram_page_says_when_the_bot_has_no_name(web: StaffWeb) -> None:
    page = web.client(web.world.cora).get(f"/staff/admin/staff/{web.world.dan.staff_id}/telegram")
    assert web.svc.config.telegram.bot_username == ""
    assert "set <code>bot_username</code> under <code>[telegram]</code>" in page.text
