"""The coordinator's pages over HTTP, for every role: they exist only for the coordinator (404
for everyone else, GET and POST alike, with nothing done), and a forged id is 404 too."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.storage.models import AuditEntry, Mentee, Staff
from tests.bot.staff.conftest import StaffWeb

OTHERS = ["dan", "priya", "dee", "omar", "zoe"]  # mentors, supervisors, the duty contact

GETS = [
    "/staff/admin", "/staff/admin/staff", "/staff/admin/staff/new", "/staff/admin/staff/{dan_id}",
    "/staff/admin/staff/{dan_id}/telegram", "/staff/admin/mentees", "/staff/admin/mentees/new",
    "/staff/admin/mentees/{sam}", "/staff/admin/mentees/{sam}/plan",
    "/staff/admin/mentees/{sam}/telegram", "/staff/admin/import", "/staff/admin/audit",
]
POSTS = [
    ("/staff/admin/staff/new", {"name": "Eve New", "role": "mentor", "phone": "07700900222"}),
    ("/staff/admin/staff/{dan_id}", {"name": "Dan Renamed", "phone": "+447700900001",
                                     "channels": "sms,telegram,email"}),
    ("/staff/admin/staff/{dan_id}/pause", {}),
    ("/staff/admin/staff/{dan_id}/resume", {}),
    ("/staff/admin/staff/{dan_id}/telegram", {}),
    ("/staff/admin/mentees/new", {"first_name": "Kim", "mentor": "{dan_id}", "phone": "07700900333",
                                  "channel": "sms", "plan": "none"}),
    ("/staff/admin/mentees/{sam}", {"first_name": "Samuel", "last_name": "Taylor",
                                    "phone": "+447700900123", "channel": "sms",
                                    "mentor": "{dan_id}"}),
    ("/staff/admin/mentees/{sam}/pause", {}),
    ("/staff/admin/mentees/{sam}/resume", {}),
    ("/staff/admin/mentees/{sam}/plan", {"plan": "mon,thu 10:00"}),
    ("/staff/admin/mentees/{sam}/telegram", {}),
    ("/staff/admin/import", {"kind": "mentees", "text": "first_name,mentor,phone\nJo,Dan Carter,07700900444\n"}),
]


def _fill(web: StaffWeb, text: str) -> str:
    return text.format(sam=web.world.sam, dan_id=web.world.dan.staff_id)


def _snapshot(web: StaffWeb) -> tuple[object, ...]:
    """What a POST could change: staff and mentee rows and every non-view audit entry."""
    with web.svc.sessions() as s:
        staff = tuple(s.execute(select(Staff.name, Staff.active, Staff.telegram_link_code)).all())
        mentees = tuple(s.execute(select(Mentee.first_name, Mentee.status, Mentee.plan,
                                         Mentee.telegram_link_code)).all())
        changes = s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action.notin_(["signin", "mentee.view", "audit.view"])))
    return staff, mentees, changes


@pytest.mark.parametrize("path", GETS)
def test_the_coordinator_opens_every_admin_page(web: StaffWeb, path: str) -> None:
    page = web.client(web.world.cora).get(_fill(web, path))
    assert page.status_code == 200, page.text[:400]
    assert "<script" not in page.text


@pytest.mark.parametrize("who", OTHERS)
def test_admin_pages_do_not_exist_for_anyone_else(web: StaffWeb, who: str) -> None:
    client = web.client(getattr(web.world, who))
    for path in GETS:
        page = client.get(_fill(web, path))
        assert page.status_code == 404, (who, path, page.status_code)
        assert "Admin</a>" not in page.text  # and no admin link in their menu


@pytest.mark.parametrize("who", OTHERS)
def test_admin_actions_are_404_and_do_nothing_for_anyone_else(web: StaffWeb, who: str) -> None:
    """Every admin form, posted with a good CSRF token by each other role: 404, nothing done."""
    client = web.client(getattr(web.world, who))
    before = _snapshot(web)
    for path, data in POSTS:
        answer = web.post(client, _fill(web, path), {k: _fill(web, v) for k, v in data.items()})
        assert answer.status_code == 404, (who, path, answer.status_code)
        assert _snapshot(web) == before, (who, path)


@pytest.mark.parametrize("path,data", POSTS, ids=[p for p, _ in POSTS])
def test_the_coordinator_can_do_every_admin_action(web: StaffWeb, path: str,
                                                   data: dict[str, str]) -> None:
    client = web.client(web.world.cora)
    answer = web.post(client, _fill(web, path), {k: _fill(web, v) for k, v in data.items()})
    assert answer.status_code in (200, 303), (path, answer.status_code, answer.text[:500])


@pytest.mark.parametrize("path", [
    "/staff/admin/staff/99999", "/staff/admin/staff/abc", "/staff/admin/staff/99999/telegram",
    "/staff/admin/mentees/99999", "/staff/admin/mentees/x1", "/staff/admin/mentees/99999/plan",
    "/staff/admin/mentees/99999/telegram",
])
def test_a_forged_id_is_not_found_for_the_coordinator(web: StaffWeb, path: str) -> None:
    assert web.client(web.world.cora).get(path).status_code == 404


@pytest.mark.parametrize("path", ["/staff/admin/staff/99999/pause", "/staff/admin/mentees/99999/pause",
                                  "/staff/admin/mentees/99999/plan", "/staff/admin/staff/99999"])
def test_a_forged_id_in_a_form_is_not_found(web: StaffWeb, path: str) -> None:
    before = _snapshot(web)
    answer = web.post(web.client(web.world.cora), path, {"plan": "daily 10:00", "name": "X"})
    assert answer.status_code == 404
    assert _snapshot(web) == before


@pytest.mark.parametrize("path", ["/staff/admin/staff/new", "/staff/admin/mentees/{sam}/pause",
                                  "/staff/admin/import"])
def test_an_admin_form_without_its_csrf_token_is_refused(web: StaffWeb, path: str) -> None:
    before = _snapshot(web)
    answer = web.client(web.world.cora).post(_fill(web, path), data={"name": "Eve", "kind": "staff",
                                                                     "text": "name\nEve\n"})
    assert answer.status_code == 403
    assert _snapshot(web) == before


def test_signed_out_admin_pages_go_to_sign_in(web: StaffWeb) -> None:
    answer = web.client().get("/staff/admin/staff")
    assert answer.status_code == 303 and "/staff/sign-in" in answer.headers["location"]
