"""The audit log page (coordinator): who did what and when, filtered by person, kind of action
and dates, fifty a page; sign-ins, views, acknowledgements, notes, closes, replies, edits,
imports and exports all show there."""

from __future__ import annotations

import re
from html import unescape
from datetime import timedelta

from tests.bot.staff.conftest import StaffWeb


def _rows(html: str) -> list[tuple[str, str]]:
    """(who, what) of each entry shown."""
    rows = re.findall(r'<td data-label="Who">(.*?)</td>\s*<td data-label="What">(.*?)</td>', html, re.S)
    return [(unescape(re.sub(r"<[^>]+>", "", who)), unescape(re.sub(r"<[^>]+>", "", what)).strip())
            for who, what in rows]


def test_every_kind_of_action_shows_with_who_did_it(web: StaffWeb) -> None:
    code = web.crisis()
    dan = web.client(web.world.dan)
    dan.get(f"/staff/alerts/{code}")
    dan.get(f"/staff/mentees/{web.world.sam}")
    web.post(dan, f"/staff/alerts/{code}/acknowledge", {})
    web.post(dan, f"/staff/alerts/{code}/note", {"note": "Rang Sam"})
    web.post(dan, f"/staff/mentees/{web.world.sam}/reply", {"text": "Hi Sam, ringing you now."})
    web.post(dan, f"/staff/alerts/{code}/close", {"outcome_kind": "spoke", "outcome": ""})
    cora = web.client(web.world.cora)
    web.post(cora, f"/staff/admin/mentees/{web.world.sam}/plan", {"plan": "daily 10:00"})
    web.post(cora, "/staff/admin/import", {"kind": "staff", "text": "name,phone\nAl Bee,07700900601\n"})
    cora.get("/staff/digest.csv?week=2026-W10")
    whats = {what for who, what in _rows(cora.get("/staff/admin/audit").text)}
    for words in ("signed in", "opened a mentee's record", "took an alert", "added a note to an alert", "closed an alert",
                  "replied to a mentee", "opened an alert", "changed a check-in plan (plan daily 10:00, flow weekly)",
                  "imported staff", "downloaded a digest (CSV)"):
        assert any(w.startswith(words) for w in whats), (words, whats)
    assert not any("Rang Sam" in w or "ringing you" in w for w in whats)  # never a message body


def test_filter_by_person_action_and_date(web: StaffWeb) -> None:
    code = web.crisis()
    web.post(web.client(web.world.dan), f"/staff/alerts/{code}/acknowledge", {})
    web.client(web.world.priya).get(f"/staff/alerts/{code}")
    cora = web.client(web.world.cora)
    dans = _rows(cora.get(f"/staff/admin/audit?person={web.world.dan.staff_id}").text)
    assert dans and {who for who, _ in dans} == {"Dan Carter"}
    taken = _rows(cora.get("/staff/admin/audit?action=acknowledge").text)
    assert [what for _, what in taken] == ["took an alert"]
    today = web.world.clock.now().date()
    assert _rows(cora.get(f"/staff/admin/audit?from={today}&to={today}&action=acknowledge").text)
    tomorrow = today + timedelta(days=1)
    assert not _rows(cora.get(f"/staff/admin/audit?from={tomorrow}&action=acknowledge").text)
    yesterday = today - timedelta(days=1)
    assert not _rows(cora.get(f"/staff/admin/audit?to={yesterday}&action=acknowledge").text)


def test_pages_of_fifty_newest_first(web: StaffWeb) -> None:
    cora = web.client(web.world.cora)
    for _ in range(60):
        cora.get(f"/staff/admin/mentees/{web.world.sam}")  # a view each time
        web.world.clock.advance(seconds=1)
    first = cora.get("/staff/admin/audit?action=view").text
    assert len(_rows(first)) == 50 and 'rel="next"' in first and 'rel="prev"' not in first
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    second = cora.get(older).text
    assert 1 <= len(_rows(second)) < 50 and 'rel="prev"' in second and 'rel="next"' not in second
    assert cora.get("/staff/admin/audit?action=view&page=9").status_code == 404


def test_reading_the_log_is_recorded_with_its_filters(web: StaffWeb) -> None:
    web.client(web.world.cora).get("/staff/admin/audit?action=close&from=2026-03-01")
    assert web.world.audited("audit.view")[-1].detail == "action close, from 2026-03-01"


def test_wrong_filters_get_one_line(web: StaffWeb) -> None:
    cora = web.client(web.world.cora)
    for query, line in [("action=everything", "action 'everything' is not one of the choices"),
                        ("from=yesterday", "from date 'yesterday' must be a date like 2026-12-01"),
                        ("from=2026-03-10&to=2026-03-01", "the 'to' date is before the 'from' date"),
                        ("person=dan", "person must be a number")]:
        page = cora.get(f"/staff/admin/audit?{query}")
        assert page.status_code == 400 and line in page.text.replace("&#39;", "'"), query
