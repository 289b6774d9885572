"""The HTML digest opened in headless Chromium: the figures are on the page and the mood cells are coloured.

Screenshots are kept in test-artifacts/digest/ for a human to look at.
"""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from escalation.digest.figures import supervisor_digest
from escalation.digest.records import DigestRecords
from escalation.digest.render import render_html
from escalation.digest.week import parse_week
from escalation.digest.wording import MOOD_COLOURS
from tests.waiting import PATIENCE

from .digest_caseload import hand_built_records
from .digest_html import row_texts, table_rows

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "digest"
W43 = parse_week("2026-W43")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (Debian package `chromium`)"
)


def _chromium(page: Path, profile: Path, *mode: str) -> str:
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={profile}", "--window-size=1000,2600",
        *mode, page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=PATIENCE, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _open(html: str, tmp_path: Path, name: str) -> tuple[str, Path]:
    """The DOM Chromium built from the page, and a screenshot of it."""
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    dom = _chromium(page, tmp_path / "profile-dom", "--dump-dom")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    _chromium(page, tmp_path / "profile-shot", f"--screenshot={shot}")
    return dom, shot


def _png_pixels(path: Path) -> set[tuple[int, int, int]]:
    """The distinct RGB colours in an 8-bit, non-interlaced RGB(A) PNG such as Chromium writes."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    channels = 4
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunk, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if chunk == b"IHDR":
            width, _height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
            assert (depth, interlace) == (8, 0) and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif chunk == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * channels
    previous = bytearray(stride)
    colours: set[tuple[int, int, int]] = set()
    for start in range(0, len(raw), stride + 1):
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        colours.update((line[i], line[i + 1], line[i + 2]) for i in range(0, stride, channels))
        previous = line
    return colours


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


def test_chromium_shows_the_digest_figures_and_coloured_mood_cells(
    records: DigestRecords, tmp_path: Path
) -> None:
    dom, shot = _open(render_html(supervisor_digest(records, 1, W43)), tmp_path, "digest-2026-W43")

    texts = row_texts(dom)
    assert [row[0] for row in texts[1:5]] == ["Lee D.", "Sam K.", "Ana B.", "Mo R."]
    assert ["Response rate", "60%"] in texts and ["Response rate", "67%"] in texts
    assert ["Against the previous 4 weeks", "down 33 points (was 100%)"] in texts
    assert ["Median time to reply", "12 min"] in texts
    assert ["Sam K.", "-", "-", "-", "4.0", "4.0", "4.0", "4.0", "3.5"] in texts
    assert "Mood falling: 2.0 this week, 4.0 in the weeks before" in dom

    assert shot.stat().st_size > 10_000
    colours = _png_pixels(shot)
    for mood in (2, 3, 4, 5):  # the caseload has moods 2.0, 3.0, 3.5 -> 4, 4.0 and 5.0
        assert _rgb(MOOD_COLOURS[mood][0]) in colours, f"mood {mood} colour not on screen"


def test_chromium_shows_a_hostile_name_as_text_and_runs_nothing(tmp_path: Path) -> None:
    hostile = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'
    records = hand_built_records(sam_first_name=hostile)
    dom, _ = _open(render_html(supervisor_digest(records, 1, W43)), tmp_path, "digest-hostile-name")
    assert "pwned" not in dom.split("</title>")[0]
    assert "<img" not in dom and "<script" not in dom
    assert any(row and row[0][0] == hostile + " K." for row in table_rows(dom))
