"""The digest as HTML (mail-client safe), plain text and CSV. Every shown value is escaped."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from html import escape

from escalation.digest import wording as w
from escalation.digest.results import (
    AlertFigure,
    Digest,
    Engagement,
    MenteeFigures,
    MentorFigures,
)

_FONT = "font-family:Arial,Helvetica,sans-serif;color:#1a1a1a;"
_TABLE = "border-collapse:collapse;margin:0 0 16px 0;font-size:14px;"
_TD = "padding:4px 8px;border:1px solid #cccccc;text-align:left;vertical-align:top;"
_TH = _TD + "background-color:#f0f0f0;font-weight:bold;"
_NUM = _TD + "text-align:right;"


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    html: str
    text: str
    csv: str
    csv_filename: str


def render(digest: Digest) -> RenderedDigest:
    """All three renderings plus a subject line that names nobody."""
    flagged = len(digest.needs_a_look)
    who = "mentee needs" if flagged == 1 else "mentees need"
    return RenderedDigest(
        subject=f"Check-in digest {digest.week.label}: {flagged} {who} a look",
        html=render_html(digest),
        text=render_text(digest),
        csv=render_csv(digest),
        csv_filename=f"checkin-digest-{digest.week.label}.csv",
    )


def _title(digest: Digest) -> str:
    return f"Check-in digest for {digest.recipient_name}"


def _intro(digest: Digest) -> str:
    scope = "your mentees" if digest.audience == "mentor" else "your mentors' mentees"
    return f"Week {digest.week.label}, {w.week_span(digest.week)} (UK time), for {scope}."


def _engagement_line(e: Engagement) -> str:
    return f"{e.sent} check-ins sent, {e.answered} answered, {e.missed} missed, {e.pending} still open"


# --- HTML -------------------------------------------------------------------------------------


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _row(cells: list[str], style: str = _TD, tag: str = "td") -> str:
    return "<tr>" + "".join(f'<{tag} style="{style}">{_e(c)}</{tag}>' for c in cells) + "</tr>"


def _table(header: list[str], rows: list[str], width: str = "100%") -> str:
    return (
        f'<table cellpadding="0" cellspacing="0" width="{width}" style="{_TABLE}">'
        + _row(header, _TH, "th")
        + "".join(rows)
        + "</table>"
    )


def _h(level: int, text: str) -> str:
    size = {1: 22, 2: 18, 3: 16}[level]
    return f'<h{level} style="{_FONT}font-size:{size}px;margin:20px 0 8px 0;">{_e(text)}</h{level}>'


def _p(text: str, style: str = "") -> str:
    return f'<p style="{_FONT}font-size:14px;margin:0 0 12px 0;{style}">{_e(text)}</p>'


def render_html(digest: Digest) -> str:
    """A self-contained HTML email: tables and inline styles, no scripts, no external images."""
    parts = [
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">',
        f"<title>{_e(_title(digest))}</title></head>",
        f'<body style="{_FONT}margin:0;padding:16px;background-color:#ffffff;">',
        '<div style="max-width:820px;">',
        _h(1, _title(digest)),
        _p(_intro(digest)),
        _p("In total: " + _engagement_line(digest.totals) + "."),
        _html_needs_a_look(digest),
    ]
    if not digest.mentors:
        parts.append(_p("There are no mentors to report on."))
    parts += [_html_mentor(digest, m) for m in digest.mentors]
    parts.append(_p(_footer(digest), "color:#555555;font-size:12px;"))
    parts.append("</div></body></html>")
    return "\n".join(parts)


def _html_needs_a_look(digest: Digest) -> str:
    out = [_h(2, f"Needs a look ({len(digest.needs_a_look)})")]
    if not digest.needs_a_look:
        return out[0] + _p("Nobody needs a look this week.")
    rows = []
    for m in digest.needs_a_look:
        reasons = "".join(f"<li>{_e(w.describe(r, digest))}</li>" for r in m.reasons)
        rows.append(
            f'<tr><td style="{_TD}font-weight:bold;">{_e(m.name)}</td>'
            f'<td style="{_TD}">{_e(m.mentor_name)}</td>'
            f'<td style="{_TD}"><ul style="margin:0;padding-left:18px;">{reasons}</ul></td></tr>'
        )
    return out[0] + _table(["Mentee", "Mentor", "Why"], rows)


def _html_mentor(digest: Digest, mentor: MentorFigures) -> str:
    e = mentor.engagement
    figures = [
        ("Mentees", str(len(mentor.mentees))),
        ("Check-ins sent", str(e.sent)),
        ("Answered", str(e.answered)),
        ("Missed", str(e.missed)),
        ("Still open", str(e.pending)),
        ("Response rate", w.rate(e.rate)),
        (
            f"Against the previous {digest.rules.trend_weeks} weeks",
            f"{w.trend(mentor.trend_points)} (was {w.rate(mentor.previous.rate)})",
        ),
        ("Median time to reply", w.duration(e.median_reply) if e.median_reply is not None else "n/a"),
    ]
    rows = [
        f'<tr><th scope="row" style="{_TH}">{_e(k)}</th><td style="{_NUM}">{_e(v)}</td></tr>'
        for k, v in figures
    ]
    table = f'<table cellpadding="0" cellspacing="0" style="{_TABLE}">{"".join(rows)}</table>'
    return (
        _h(2, f"Mentor: {mentor.name}")
        + table
        + _html_alerts(digest, mentor.alerts)
        + _html_mood(digest, mentor.mentees)
    )


def _html_alerts(digest: Digest, alerts: tuple[AlertFigure, ...]) -> str:
    if not alerts:
        return _h(3, "Alerts raised") + _p("No alerts raised this week.")
    tz = digest.week.tz
    rows = [
        _row(
            [
                a.code,
                a.mentee_name,
                w.category_name(a.category),
                a.severity,
                w.local_time(a.created_at, tz),
                w.duration(a.time_to_ack) if a.time_to_ack is not None else "not yet",
                "yes" if a.late else "no",
                "yes" if a.ladder_fired else "no",
                a.state,
            ]
        )
        for a in alerts
    ]
    header = ["Ref", "Mentee", "Category", "Severity", "Raised", "Time to acknowledge",
              "Late", "Ladder fired", "State"]
    return _h(3, f"Alerts raised ({len(alerts)})") + _table(header, rows)


def _html_mood(digest: Digest, mentees: tuple[MenteeFigures, ...]) -> str:
    title = _h(3, f"Mood over the last {len(digest.mood_weeks)} weeks (week starting)")
    if not mentees:
        return title + _p("No mentees this week.")
    rows = []
    for m in mentees:
        cells = "".join(_mood_td(c.mean, c.before_joining, c.answers) for c in m.mood_row)
        rows.append(f'<tr><td style="{_TD}white-space:nowrap;">{_e(m.name)}</td>{cells}</tr>')
    header = ["Mentee"] + [w.week_column(wk) for wk in digest.mood_weeks]
    return title + _table(header, rows, width="auto") + _html_mood_key()


def _mood_td(mean: float | None, before_joining: bool, answers: int) -> str:
    note = "not yet joined" if before_joining else f"{answers} mood answer(s)"
    text = "" if before_joining else w.mood(mean)
    return _coloured_td(text, w.mood_colours(mean, before_joining), note)


def _coloured_td(text: str, colours: tuple[str, str], note: str) -> str:
    # bgcolor as well as the style: some desktop Outlook versions ignore one or the other.
    bg, fg = colours
    return (
        f'<td bgcolor="{bg}" title="{_e(note)}" style="{_TD}background-color:{bg};color:{fg};'
        f'text-align:center;min-width:40px;">{_e(text)}</td>'
    )


def _html_mood_key() -> str:
    plain = f'<td style="{_TD}border:none;">'
    moods = "".join(_coloured_td(str(n), w.MOOD_COLOURS[n], f"mood {n}") for n in range(1, 6))
    return (
        f'<table cellpadding="0" cellspacing="0" style="{_TABLE}font-size:12px;"><tr>'
        f"{plain}Key: 1 low to 5 good</td>{moods}"
        f'{_coloured_td("-", w.NO_ANSWER_COLOURS, "no answer")}{plain}no answer</td>'
        f'{_coloured_td("", w.NOT_JOINED_COLOURS, "not yet joined")}{plain}not yet joined</td>'
        "</tr></table>"
    )


def _footer(digest: Digest) -> str:
    r = digest.rules
    return (
        f"Answered means the mentee replied. Needs a look: an open or late alert, no message for "
        f"{r.no_contact_days} days or more, {r.missed_streak} or more check-ins missed in a row, mood "
        f"down by {r.mood_drop:g} or more, or opted out or unreachable. Mentees who joined during the "
        f"week count only from joining. Names are first name and initial only; no messages are shown."
    )


# --- plain text -------------------------------------------------------------------------------


def render_text(digest: Digest) -> str:
    """The same digest as plain text for clients that do not show HTML."""
    lines = [_title(digest), _intro(digest), "In total: " + _engagement_line(digest.totals) + ".", ""]
    lines.append(f"NEEDS A LOOK ({len(digest.needs_a_look)})")
    if not digest.needs_a_look:
        lines.append("Nobody needs a look this week.")
    for m in digest.needs_a_look:
        lines.append(f"- {m.name} (mentor: {m.mentor_name})")
        lines += [f"    * {w.describe(r, digest)}" for r in m.reasons]
    for mentor in digest.mentors:
        lines += ["", *_text_mentor(digest, mentor)]
    lines += ["", _footer(digest), ""]
    return "\n".join(lines)


def _text_mentor(digest: Digest, mentor: MentorFigures) -> list[str]:
    e = mentor.engagement
    tz = digest.week.tz
    reply = w.duration(e.median_reply) if e.median_reply is not None else "n/a"
    lines = [
        f"MENTOR: {mentor.name}",
        f"  Mentees: {len(mentor.mentees)}",
        f"  {_engagement_line(e)}",
        f"  Response rate: {w.rate(e.rate)}, {w.trend(mentor.trend_points)} against the previous "
        f"{digest.rules.trend_weeks} weeks (was {w.rate(mentor.previous.rate)})",
        f"  Median time to reply: {reply}",
        f"  Alerts raised: {len(mentor.alerts)}",
    ]
    for a in mentor.alerts:
        lines.append(
            f"    {a.code} {w.category_name(a.category)} {a.severity}, {a.mentee_name}, raised "
            f"{w.local_time(a.created_at, tz)}: {w.alert_state(a)}; ladder fired: "
            f"{'yes' if a.ladder_fired else 'no'}"
        )
    lines.append(f"  Mood, week starting ({'1 low to 5 good, - no answer, . not yet joined'}):")
    width = max([len(m.name) for m in mentor.mentees] + [8])
    lines.append("    " + " " * width + "".join(f"{w.week_column(wk):>8}" for wk in digest.mood_weeks))
    for m in mentor.mentees:
        cells = "".join(f"{'.' if c.before_joining else w.mood(c.mean):>8}" for c in m.mood_row)
        lines.append(f"    {m.name:<{width}}{cells}")
    return lines


# --- CSV --------------------------------------------------------------------------------------


def render_csv(digest: Digest) -> str:
    """One row per mentee; cells that a spreadsheet would run as a formula are defused."""
    tz = digest.week.tz
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["week", "mentor", "mentee", "mentee_ref", "joined", "status", "counted_from",
         "checkins_sent", "answered", "missed", "still_open", "response_rate_pct",
         "median_reply_minutes", "last_message", "days_since_message", "alerts_raised",
         "needs_a_look"]
        + [f"mood_{wk.label}" for wk in digest.mood_weeks]
    )
    for m in digest.mentees:
        e = m.engagement
        writer.writerow(
            _defuse(v)
            for v in [
                digest.week.label, m.mentor_name, m.name, m.id,
                m.joined_at.astimezone(tz).date().isoformat(), m.status,
                w.sortable_time(m.counted_from, tz), e.sent, e.answered, e.missed, e.pending,
                "" if e.rate is None else round(e.rate * 100),
                "" if e.median_reply is None else round(e.median_reply.total_seconds() / 60),
                "" if m.last_contact is None else w.sortable_time(m.last_contact, tz),
                m.days_since_contact, m.alerts_raised,
                "; ".join(w.describe(r, digest) for r in m.reasons),
                *["" if c.before_joining or c.mean is None else f"{c.mean:.1f}" for c in m.mood_row],
            ]
        )
    return out.getvalue()


def _defuse(value: object) -> object:
    # A leading =, +, - or @ makes Excel and LibreOffice evaluate the cell (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
