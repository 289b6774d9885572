"""Offline risk detection for mentee messages (crisis, housing, domestic abuse).

``assess(text)`` is pure and never raises: if anything goes wrong inside detection the
message is flagged for a human ("review", urgent) rather than passed as safe.
"""

from __future__ import annotations

from escalation.detect.detector import (
    Assessment, Detector, Finding, Trace, default_detector, failed_assessment,
)

__all__ = ["Assessment", "Detector", "Finding", "Trace", "assess", "default_detector", "DEFAULT"]

try:
    DEFAULT: Detector | None = default_detector()
    _LOAD_ERROR = ""
except Exception as exc:  # noqa: BLE001 - a broken rule file must not stop messages being flagged
    DEFAULT = None
    _LOAD_ERROR = f"rules failed to load: {type(exc).__name__}"


def assess(text: str) -> Assessment:
    """Check one message with the shipped rules; fails closed, never raises."""
    if DEFAULT is None:
        return failed_assessment(_LOAD_ERROR)
    return DEFAULT.assess(text)
