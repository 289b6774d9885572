"""ISO weeks are UK local Monday-to-Monday windows, expressed as UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from escalation.digest.week import LONDON, Week, parse_week


def test_a_winter_week_runs_monday_midnight_to_monday_midnight_utc() -> None:
    """2026-W48 is in GMT, so local and UTC midnights coincide."""
    week = parse_week("2026-W48")
    assert week.start == datetime(2026, 11, 23, tzinfo=UTC)
    assert week.end == datetime(2026, 11, 30, tzinfo=UTC)


def test_the_week_the_clocks_go_back_is_169_hours_long() -> None:
    """25 October 2026 (clocks back) falls in 2026-W43: it starts at BST midnight, ends at GMT midnight."""
    week = parse_week("2026-W43")
    assert week.start == datetime(2026, 10, 18, 23, 0, tzinfo=UTC)
    assert week.end == datetime(2026, 10, 26, 0, 0, tzinfo=UTC)
    assert week.end - week.start == timedelta(hours=169)


def test_the_week_the_clocks_go_forward_is_167_hours_long() -> None:
    """29 March 2026 (clocks forward) falls in 2026-W13."""
    week = parse_week("2026-W13")
    assert week.start == datetime(2026, 3, 23, 0, 0, tzinfo=UTC)
    assert week.end == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)
    assert week.end - week.start == timedelta(hours=167)


def test_consecutive_weeks_tile_time_without_gap_or_overlap() -> None:
    """Each week ends exactly where the next begins, across both clock changes and a year end."""
    week = parse_week("2026-W01")
    for _ in range(60):
        following = week.shifted(1)
        assert week.end == following.start
        week = following
    assert week.label == "2027-W08"


def test_an_instant_belongs_to_the_uk_week_it_falls_in_locally() -> None:
    """00:30 on Monday 19 Oct in the UK is still Sunday in UTC, but it is 2026-W43."""
    instant = datetime(2026, 10, 18, 23, 30, tzinfo=UTC)
    assert Week.containing(instant).label == "2026-W43"
    assert Week.containing(instant, LONDON).contains(instant)
    assert not parse_week("2026-W42").contains(instant)


def test_the_last_complete_week_at_a_monday_morning_run_is_the_week_just_gone() -> None:
    monday_8am = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    assert Week.last_complete(monday_8am).label == "2026-W43"
    assert Week.last_complete(datetime(2027, 1, 4, 8, tzinfo=UTC)).label == "2026-W53"


@pytest.mark.parametrize("text", ["2026-48", "2026-W4", "W48", "2026-W00", "2025-W53", ""])
def test_a_malformed_or_non_existent_week_is_refused_with_the_input_named(text: str) -> None:
    with pytest.raises(ValueError, match="week"):
        parse_week(text)


def test_2026_has_a_53rd_week() -> None:
    assert parse_week("2026-W53").monday.isoformat() == "2026-12-28"


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Week.containing(datetime(2026, 10, 19, 12, 0))
