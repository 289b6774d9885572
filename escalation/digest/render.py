"""The digest as HTML (mail-client safe), plain text and CSV. Every shown value is escaped."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from escalation.digest import wording as w
from escalation.digest.results import (
    AlertFigure,
    Digest,
    Engagement,
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
    page: str = ""  # the HTML for the staff web page (classes, no inline style)


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
        page=render_page(digest),
    )


def _title(digest: Digest) -> str:
    return f"Check-in digest for {digest.recipient_name}"


def _intro(digest: Digest) -> str:
    scope = "your mentees" if digest.audience == "mentor" else "your mentors' mentees"
    return f"Week {digest.week.label}, {w.week_span(digest.week)} (UK time), for {scope}."


def _engagement_line(e: Engagement) -> str:
    return f"{e.sent} check-ins sent, {e.answered} answered, {e.missed} missed, {e.pending} still open"


# --- HTML -------------------------------------------------------------------------------------
# One Jinja2 template (bot/templates/digest/digest.html) makes both the email and the staff web
# page. The email gets inline styles (mail clients drop stylesheets); the page gets classes only
# (its CSP allows no inline style) and its stylesheet, digest.css, does the same job.

_STYLES = {
    "body": _FONT + "margin:0;padding:12px;background-color:#ffffff;",
    "wrap": "max-width:820px;",
    "h1": _FONT + "font-size:22px;margin:20px 0 8px 0;",
    "h2": _FONT + "font-size:18px;margin:20px 0 8px 0;",
    "h3": _FONT + "font-size:16px;margin:20px 0 8px 0;",
    "p": _FONT + "font-size:14px;margin:0 0 12px 0;",
    "small": _FONT + "font-size:12px;margin:0 0 12px 0;color:#555555;",
    "table": _TABLE,
    "table_key": _TABLE + "font-size:12px;",
    "th": _TH,
    "th_small": "padding:3px 2px;border:1px solid #cccccc;background-color:#f0f0f0;font-size:12px;"
                "font-weight:bold;text-align:center;",
    "td": _TD,
    "td_bold": _TD + "font-weight:bold;",
    "td_name": "padding:3px 4px;border:1px solid #cccccc;text-align:left;font-size:13px;",
    "td_plain": _TD + "border:none;",
    "num": _NUM,
    "ul": "margin:0;padding-left:18px;",
}
_ENV = Environment(loader=PackageLoader("bot", "templates/digest"),
                   autoescape=select_autoescape(default=True, default_for_string=True),
                   trim_blocks=True, lstrip_blocks=True)


def render_html(digest: Digest) -> str:
    """A self-contained HTML email: tables and inline styles, no scripts, no external images."""
    return _ENV.get_template("email.html").render(_context(digest, mail=True))


def render_page(digest: Digest) -> str:
    """The same digest as a fragment of a web page: classes instead of inline styles."""
    return _ENV.get_template("digest.html").render(_context(digest, mail=False))


def _context(digest: Digest, *, mail: bool) -> dict[str, object]:
    def at(kind: str, cls: str = "") -> Markup:
        if mail:
            return Markup(' style="{}"').format(_STYLES[kind])
        return Markup(' class="{}"').format(cls) if cls else Markup("")

    def mood_cell(text: str, colours: tuple[str, str], note: str, kind: str) -> Markup:
        if mail:
            # bgcolor as well as the style: some desktop Outlook versions ignore one or the other.
            bg, fg = colours
            return Markup('<td bgcolor="{bg}" title="{note}" style="padding:3px 2px;border:1px '
                          'solid #cccccc;background-color:{bg};color:{fg};text-align:center;'
                          'font-size:12px;min-width:26px;">{text}</td>').format(
                              bg=bg, fg=fg, note=note, text=text)
        return Markup('<td class="mood {kind}" title="{note}">{text}</td>').format(
            kind=kind, note=note, text=text)

    return {
        "mail": mail, "at": at, "mood_cell": mood_cell, "digest": digest, "title": _title(digest),
        "intro": _intro(digest), "totals": "In total: " + _engagement_line(digest.totals) + ".",
        "describe": lambda reason: w.describe(reason, digest),
        "mentors": [_mentor_view(digest, m) for m in digest.mentors],
        "weeks": [(str(wk.monday.day), f"{wk.monday:%b}") for wk in digest.mood_weeks],
        "key": [_Cell(str(n), w.MOOD_COLOURS[n], f"mood {n}", f"m{n}") for n in range(1, 6)]
               + [_Cell("-", w.NO_ANSWER_COLOURS, "no answer", "m-none", "no answer"),
                  _Cell("", w.NOT_JOINED_COLOURS, "not yet joined", "m-before", "not yet joined")],
        "footer": _footer(digest),
    }


@dataclass(frozen=True)
class _Cell:
    text: str
    colours: tuple[str, str]
    note: str
    kind: str  # the web page's class: m1..m5, m-none, m-before
    after: str = ""  # the key's words after the cell


@dataclass(frozen=True)
class _MentorView:
    name: str
    figures: list[tuple[str, str]]
    alerts: list[list[tuple[str, str]]]
    mood: list[tuple[str, list[_Cell]]]


def _mentor_view(digest: Digest, mentor: MentorFigures) -> _MentorView:
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
    return _MentorView(mentor.name, figures, [_alert_fields(digest, a) for a in mentor.alerts],
                       [(m.name, [_mood(c.mean, c.before_joining, c.answers) for c in m.mood_row])
                        for m in mentor.mentees])


def _alert_fields(digest: Digest, a: AlertFigure) -> list[tuple[str, str]]:
    return [
        ("Ref", a.code),
        ("Mentee", a.mentee_name),
        ("Category", w.category_name(a.category)),
        ("Severity", a.severity),
        ("Raised", w.local_time(a.created_at, digest.week.tz)),
        ("Time to acknowledge", w.duration(a.time_to_ack) if a.time_to_ack is not None else "not yet"),
        ("Late", "yes" if a.late else "no"),
        ("Ladder fired", "yes" if a.ladder_fired else "no"),
        ("State", a.state),
    ]


def _mood(mean: float | None, before_joining: bool, answers: int) -> _Cell:
    note = "not yet joined" if before_joining else f"{answers} mood answer(s)"
    kind = ("m-before" if before_joining else "m-none" if mean is None
            else f"m{min(5, max(1, int(mean + 0.5)))}")
    return _Cell("" if before_joining else w.mood(mean), w.mood_colours(mean, before_joining),
                 note, kind)


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
