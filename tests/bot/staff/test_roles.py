"""Every route for every role, over HTTP: a mentor sees only their own mentees, a supervisor
their team's, the duty contact a mentee with a live alert, the coordinator everyone. Anything
else is 404, exactly as if it did not exist (a forged id in a URL or form included)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.storage.models import Alert, Message
from tests.bot.staff.conftest import StaffWeb

# Who may see Sam (Dan's mentee, in Priya's team) once Sam has a live alert.
SEES_SAM = {"dan": True, "priya": True, "dee": True, "cora": True, "omar": False, "zoe": False}


def _status(web: StaffWeb, who: str, method: str, path: str, data: dict[str, str]) -> int:
    client = web.client(getattr(web.world, who))
    if method == "GET":
        return client.get(path).status_code
    return web.post(client, path, data).status_code


ROUTES = [
    ("GET", "/staff/mentees/{sam}", {}),
    ("POST", "/staff/mentees/{sam}/reply", {"text": "Hi Sam, it's Dan. I'll ring you at 3."}),
    ("GET", "/staff/alerts/{code}", {}),
    ("POST", "/staff/alerts/{code}/note", {"note": "Rang Sam, no answer"}),
    ("POST", "/staff/alerts/{code}/acknowledge", {}),
    ("POST", "/staff/alerts/{code}/close", {"outcome_kind": "spoke", "outcome": "safe with family"}),
]


@pytest.mark.parametrize("who", sorted(SEES_SAM))
@pytest.mark.parametrize("method,path,data", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_each_record_route_for_each_role(web: StaffWeb, who: str, method: str, path: str,
                                          data: dict[str, str]) -> None:
    code = web.crisis()
    status = _status(web, who, method, path.format(sam=web.world.sam, code=code), data)
    if SEES_SAM[who]:
        assert status in (200, 303), (who, path, status)
    else:
        assert status == 404, (who, path, status)
        with web.svc.sessions() as s:
            alert = s.scalars(select(Alert).where(Alert.code == code)).one()
            assert alert.status == "open"  # nothing was done
            assert not s.scalars(select(Message).where(Message.purpose == "staff_reply")).all()


@pytest.mark.parametrize("who", sorted(SEES_SAM))
@pytest.mark.parametrize("path", ["/staff/", "/staff/mentees", "/staff/alerts", "/staff/alerts?closed=1"])
def test_lists_show_only_what_each_role_may_see(web: StaffWeb, who: str, path: str) -> None:
    web.crisis()
    page = web.client(getattr(web.world, who)).get(path)
    assert page.status_code == 200
    assert ("Sam T." in page.text) is SEES_SAM[who]


def test_the_duty_contact_loses_sight_of_sam_once_the_alert_is_closed(web: StaffWeb) -> None:
    code = web.crisis()
    dan, dee = web.client(web.world.dan), web.client(web.world.dee)
    assert dee.get(f"/staff/mentees/{web.world.sam}").status_code == 200
    closed = web.post(dan, f"/staff/alerts/{code}/close", {"outcome_kind": "spoke"},
                      csrf_from=f"/staff/alerts/{code}")
    assert closed.status_code == 303
    assert dee.get(f"/staff/mentees/{web.world.sam}").status_code == 404
    assert dee.get(f"/staff/alerts/{code}").status_code == 404


def test_a_coordinator_sees_both_teams(web: StaffWeb) -> None:
    cora = web.client(web.world.cora)
    for mentee in (web.world.sam, web.world.lee):
        assert cora.get(f"/staff/mentees/{mentee}").status_code == 200


@pytest.mark.parametrize("path", ["/staff/mentees/99999", "/staff/mentees/abc", "/staff/mentees/-1",
                                  "/staff/mentees/99999999999999", "/staff/alerts/ZZZZ",
                                  "/staff/alerts/%3Cscript%3E"])
def test_a_forged_or_unknown_id_is_not_found(web: StaffWeb, path: str) -> None:
    page = web.client(web.world.cora).get(path)
    assert page.status_code == 404
    assert "<script>" not in page.text


def test_a_mentor_cannot_post_to_another_mentors_mentee_by_editing_the_form(web: StaffWeb) -> None:
    omar = web.client(web.world.omar)
    csrf = web.csrf(omar, f"/staff/mentees/{web.world.lee}")  # a form Omar may use...
    forged = omar.post(f"/staff/mentees/{web.world.sam}/reply", data={"csrf": csrf, "text": "hi"})
    assert forged.status_code == 404  # ...pointed at Sam
    with web.svc.sessions() as s:
        assert not s.scalars(select(Message).where(Message.purpose == "staff_reply")).all()


@pytest.mark.parametrize("method,path,data", ROUTES + [("GET", "/staff/", {}), ("GET", "/staff/mentees", {}),
                                                        ("GET", "/staff/alerts", {})],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_signed_out_pages_go_to_sign_in_and_actions_are_refused(web: StaffWeb, method: str, path: str,
                                                               data: dict[str, str]) -> None:
    code = web.crisis()
    path = path.format(sam=web.world.sam, code=code)
    browser = web.client()
    if method == "GET":
        page = browser.get(path)
        assert page.status_code == 303 and page.headers["location"].startswith("/staff/sign-in?next=")
    else:
        refused = browser.post(path, data={"csrf": "0" * 32, **data})
        assert refused.status_code == 403 and "You are signed out" in refused.text


@pytest.mark.parametrize("method,path,data", [r for r in ROUTES if r[0] == "POST"] +
                         [("POST", "/staff/sign-out", {}), ("POST", "/staff/sign-out-everywhere", {})],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_action_without_its_csrf_token_is_refused(web: StaffWeb, method: str, path: str,
                                                       data: dict[str, str]) -> None:
    code = web.crisis()
    dan = web.client(web.world.dan)
    for token in (None, "", "f" * 32, "é" * 32):
        form = dict(data) if token is None else {**data, "csrf": token}
        refused = dan.post(path.format(sam=web.world.sam, code=code), data=form)
        assert refused.status_code == 403, (path, token)
        assert "nothing was done" in refused.text
    assert dan.get("/staff/").status_code == 200  # still signed in
    with web.svc.sessions() as s:
        assert s.scalars(select(Alert.status).where(Alert.code == code)).one() == "open"
