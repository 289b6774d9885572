"""The digest rendered as mail-safe HTML, plain text and a one-row-per-mentee CSV."""

from __future__ import annotations

import csv
import io
import re


from escalation.digest.figures import supervisor_digest
from escalation.digest.records import DigestRecords
from escalation.digest.render import render, render_csv, render_html, render_text
from escalation.digest.week import parse_week
from escalation.digest.wording import MOOD_COLOURS, NOT_JOINED_COLOURS

from .digest_caseload import SAM, hand_built_records
from .digest_html import alert_values, row_texts, table_rows

W43 = parse_week("2026-W43")
HOSTILE_NAME = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _mood_rows(html: str) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """Mentee name -> their eight mood cells."""
    return {row[0][0]: row[1:] for row in table_rows(html) if len(row) == 9 and row[0][0] != "Mentee"}


def test_the_html_leads_with_who_needs_a_look_then_each_mentor(records: DigestRecords) -> None:
    html = render_html(supervisor_digest(records, 1, W43))
    texts = row_texts(html)
    assert texts[0] == ["Mentee", "Mentor", "Why"]
    assert [row[0] for row in texts[1:5]] == ["Lee D.", "Sam K.", "Ana B.", "Mo R."]
    assert "Housing alert A2 (concern) raised Thu 22 Oct 09:00: not acknowledged (target 1 h)" in texts[1][2]
    assert html.index("Needs a look (4)") < html.index("Mentor: Alex Moss") < html.index("Mentor: Bea Khan")
    assert ["Response rate", "60%"] in texts
    assert ["Against the previous 4 weeks", "down 15 points (was 75%)"] in texts
    assert ["Median time to reply", "1 h 30 min"] in texts
    assert ["A1", "Sam K.", "Crisis", "urgent", "Tue 20 Oct 14:00", "40 min", "yes", "yes",
            "closed"] in alert_values(html)


def test_mood_cells_are_coloured_by_mood_and_blank_before_joining(records: DigestRecords) -> None:
    moods = _mood_rows(render_html(supervisor_digest(records, 1, W43)))
    mo_this_week = moods["Mo R."][-1]
    assert mo_this_week[0] == "2.0"
    assert mo_this_week[1]["bgcolor"] == MOOD_COLOURS[2][0]
    assert f"background-color:{MOOD_COLOURS[2][0]}" in mo_this_week[1]["style"]
    assert [text for text, _ in moods["Sam K."]] == ["-", "-", "-", "4.0", "4.0", "4.0", "4.0", "3.5"]
    assert moods["Sam K."][-1][1]["bgcolor"] == MOOD_COLOURS[4][0]  # 3.5 rounds up
    jo_first_week = moods["Jo P."][0]
    assert (jo_first_week[0], jo_first_week[1]["bgcolor"]) == ("", NOT_JOINED_COLOURS[0])


def test_the_html_has_no_scripts_stylesheets_or_external_resources(records: DigestRecords) -> None:
    html = render_html(supervisor_digest(records, 1, W43)).lower()
    for forbidden in ("<script", "<style", "<link", "<img", "src=", "http://", "https://", "url("):
        assert forbidden not in html


def test_a_hostile_name_is_escaped_everywhere_in_the_html() -> None:
    records = hand_built_records(sam_first_name=HOSTILE_NAME, bea_name='Bea "&" <b>Khan</b>')
    html = render_html(supervisor_digest(records, 1, W43))
    assert "<script" not in html.lower() and "<img" not in html.lower() and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html  # markupsafe's escapes
    assert "Mentor: Bea &#34;&amp;&#34; &lt;b&gt;Khan&lt;/b&gt;" in html
    # Read back as a browser would, the name is shown exactly as stored, as text.
    assert any(row and row[0][0] == HOSTILE_NAME + " K." for row in table_rows(html))


def test_the_subject_names_nobody(records: DigestRecords) -> None:
    hostile = hand_built_records(sam_first_name=HOSTILE_NAME)
    subject = render(supervisor_digest(hostile, 1, W43)).subject
    assert subject == "Check-in digest 2026-W43: 4 mentees need a look"


def test_the_text_part_carries_the_same_figures(records: DigestRecords) -> None:
    text = render_text(supervisor_digest(records, 1, W43))
    assert "Week 2026-W43, Monday 19 October to Sunday 25 October 2026 (UK time)" in text
    assert "NEEDS A LOOK (4)\n- Lee D. (mentor: Bea Khan)" in text
    assert "    * Missed the last 2 check-ins in a row" in text
    assert "    * Mood falling: 2.0 this week, 4.0 in the weeks before" in text
    assert "Response rate: 67%, down 33 points against the previous 4 weeks (was 100%)" in text
    assert re.search(r"Sam K\.\s+-\s+-\s+-\s+4\.0\s+4\.0\s+4\.0\s+4\.0\s+3\.5", text)
    assert re.search(r"Jo P\.(\s+\.){7}\s+5\.0", text)


def test_the_csv_has_one_row_per_mentee_with_their_figures(records: DigestRecords) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(supervisor_digest(records, 1, W43)))))
    assert [r["mentee"] for r in rows] == ["Jo P.", "Sam K.", "Ana B.", "Lee D.", "Mo R."]
    sam = rows[1]
    assert (sam["checkins_sent"], sam["answered"], sam["missed"], sam["still_open"]) == ("4", "2", "2", "0")
    assert (sam["response_rate_pct"], sam["median_reply_minutes"]) == ("50", "21")
    assert sam["mood_2026-W43"] == "3.5" and sam["mood_2026-W36"] == ""
    assert rows[0]["counted_from"] == "2026-10-22 12:00"
    assert rows[3]["needs_a_look"].startswith("Housing alert A2 (concern)")
    assert "Kerr" not in render_csv(supervisor_digest(records, 1, W43))


def test_a_csv_cell_that_a_spreadsheet_would_run_as_a_formula_is_defused() -> None:
    records = hand_built_records(sam_first_name='=HYPERLINK("http://evil.example","x")')
    rows = list(csv.DictReader(io.StringIO(render_csv(supervisor_digest(records, 1, W43)))))
    sam = next(r for r in rows if r["mentee_ref"] == str(SAM))
    assert sam["mentee"] == "'=HYPERLINK(\"http://evil.example\",\"x\") K."
