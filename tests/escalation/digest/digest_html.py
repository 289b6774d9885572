"""Reads table rows back out of digest HTML (or a browser's DOM dump) for assertions."""

from __future__ import annotations

from html.parser import HTMLParser

Cell = tuple[str, dict[str, str]]


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[Cell]] = []
        self._cell: tuple[list[str], dict[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = ([], {k: v or "" for k, v in attrs})

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            text = " ".join("".join(self._cell[0]).split())
            self.rows[-1].append((text, self._cell[1]))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[0].append(data)


def table_rows(html: str) -> list[list[Cell]]:
    """Every table row as a list of (cell text, attributes)."""
    parser = _Rows()
    parser.feed(html)
    return parser.rows


def row_texts(html: str) -> list[list[str]]:
    return [[text for text, _ in row] for row in table_rows(html)]


def row_starting(html: str, first: str) -> list[Cell]:
    """The first row whose first cell reads `first`."""
    return next(row for row in table_rows(html) if row and row[0][0] == first)


ALERT_FIELDS = ("Ref", "Mentee", "Category", "Severity", "Raised", "Time to acknowledge", "Late",
                "Ladder fired", "State")


def alert_values(html: str) -> list[list[str]]:
    """Each alert's values in ALERT_FIELDS order: the email shows one small label-and-value table
    per alert (it fits a 390 px screen), the web page one table row per alert."""
    rows = row_texts(html)
    found: list[list[str]] = []
    for i, row in enumerate(rows):
        if row[:1] == ["Ref"] and len(row) == 2:  # the email: label and value per line
            block = rows[i:i + len(ALERT_FIELDS)]
            if [r[0] for r in block] == list(ALERT_FIELDS):
                found.append([r[1] for r in block])
        elif row == list(ALERT_FIELDS):  # the page: a header, then one row per alert
            for later in rows[i + 1:]:
                if len(later) != len(ALERT_FIELDS):
                    break
                found.append(later)
    return found
