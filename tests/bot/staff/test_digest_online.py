"""The weekly digest online over HTTP: a supervisor reads their team's, the coordinator anyone's,
for any week, with the CSV; the page and the email come from the same template."""

from __future__ import annotations

import re

import pytest

from bot.app import digests
from bot.app.actor import Actor
from tests.bot.staff.conftest import StaffWeb

WEEK = "2026-W48"


def test_a_supervisor_reads_their_teams_digest_only(web: StaffWeb) -> None:
    page = web.client(web.world.priya).get(f"/staff/digest?week={WEEK}")
    assert page.status_code == 200
    assert "Check-in digest for Priya Shah" in page.text
    assert "Mentor: Dan Carter" in page.text and "Omar Hill" not in page.text
    assert "Lee J." not in page.text
    assert web.world.audited("digest.view")[-1].target == WEEK


def test_the_coordinator_reads_every_supervisors_digest_or_chooses_one(web: StaffWeb) -> None:
    client = web.client(web.world.cora)
    every = client.get(f"/staff/digest?week={WEEK}").text
    for name in ("Priya Shah", "Zoe King", "Dee Duty"):
        assert f"Check-in digest for {name}" in every
    zoe = client.get(f"/staff/digest?week={WEEK}&of={web.world.zoe.staff_id}").text
    assert "Check-in digest for Zoe King" in zoe and "Priya Shah</h1>" not in zoe
    assert "Mentor: Omar Hill" in zoe


@pytest.mark.parametrize("of", ["{zoe}", "{cora}", "99999", "Zoe King", "-1"])
def test_someone_elses_digest_is_not_found_for_a_supervisor(web: StaffWeb, of: str) -> None:
    of = of.format(zoe=web.world.zoe.staff_id, cora=web.world.cora.staff_id)
    client = web.client(web.world.priya)
    assert client.get("/staff/digest", params={"week": WEEK, "of": of}).status_code == 404
    assert client.get("/staff/digest.csv", params={"week": WEEK, "of": of}).status_code == 404


def test_a_mentor_reads_the_digest_of_their_own_mentees(web: StaffWeb) -> None:
    page = web.client(web.world.dan).get(f"/staff/digest?week={WEEK}")
    assert page.status_code == 200 and "Check-in digest for Dan Carter" in page.text
    assert "Lee J." not in page.text
    assert 'href="/staff/digest"' not in page.text  # not in a mentor's menu, though allowed


@pytest.mark.parametrize("week,line", [
    ("2026-W99", "week '2026-W99' does not exist in 2026"),
    ("last week", "week 'last week' is not in the form 2026-W48"),
])
def test_a_wrong_week_gets_one_line_and_the_picker(web: StaffWeb, week: str, line: str) -> None:
    page = web.client(web.world.priya).get("/staff/digest", params={"week": week})
    assert page.status_code == 400
    assert line in page.text.replace("&#39;", "'")
    assert 'name="week"' in page.text


def test_no_week_is_last_week_with_links_either_side_but_never_past_this_week(web: StaffWeb) -> None:
    client = web.client(web.world.priya)
    last = client.get("/staff/digest").text
    label = re.search(r'name="week" value="([0-9W-]+)"', last).group(1)  # type: ignore[union-attr]
    assert "Week after" in last and "Week before" in last
    following = client.get(re.search(r'href="([^"]+)">Week after', last).group(1).replace("&amp;", "&"))  # type: ignore[union-attr]
    assert following.status_code == 200 and label not in re.search(r'name="week" value="([^"]+)"', following.text).group(1)  # type: ignore[union-attr]
    assert "Week after" not in following.text  # the week in progress is the newest


def test_the_csv_download_is_the_emails_attachment_and_is_recorded_as_an_export(web: StaffWeb) -> None:
    answer = web.client(web.world.priya).get(f"/staff/digest.csv?week={WEEK}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == f'attachment; filename="checkin-digest-{WEEK}.csv"'
    emailed = digests.digest(web.svc, Actor.operator("t"), week=WEEK, of=str(web.world.priya.staff_id))
    assert answer.text == emailed[0].csv
    assert web.world.audited("digest.export")[-1].actor_staff_id == web.world.priya.staff_id


def test_the_coordinators_csv_of_every_digest_has_one_header(web: StaffWeb) -> None:
    text = web.client(web.world.cora).get(f"/staff/digest.csv?week={WEEK}").text
    assert text.count("week,mentor,mentee") == 1
    assert "Sam T." in text and "Lee J." in text


def test_the_page_keeps_the_csp_and_shows_what_the_email_shows(web: StaffWeb) -> None:
    page = web.client(web.world.priya).get(f"/staff/digest?week={WEEK}")
    assert "style=" not in page.text and "<script" not in page.text and "<style" not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    email = digests.digest(web.svc, Actor.operator("t"), week=WEEK, of=str(web.world.priya.staff_id))[0]
    for words in ("In total: 0 check-ins sent", "Needs a look (", "Mentor: Dan Carter",
                  "Median time to reply", "Mood over the last 8 weeks"):
        assert words in email.html and words in page.text, words
