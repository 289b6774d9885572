"""Which flow a check-in uses: pure, from the mentee's facts and the local date."""

from __future__ import annotations

from datetime import date


def flow_name_for(*, requested: str | None, own: str | None, default: str, release_flow: str,
                  release_date: date | None, release_days: int, local_day: date) -> str:
    """The flow for a check-in starting on `local_day`.

    In order: a flow the booking itself names (e.g. the welfare follow-up); in the daily days
    after release (release_date + 1 .. + release_days, as the plan's daily check-ins) the
    release-week flow; the mentee's own flow; the service's default.
    """
    if requested:
        return requested
    if release_flow and release_date is not None and 1 <= (local_day - release_date).days <= release_days:
        return release_flow
    return own or default
