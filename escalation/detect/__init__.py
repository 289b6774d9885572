"""Offline risk detection for mentee messages (crisis, housing, domestic abuse).

``assess(text)`` is pure and never raises: if anything goes wrong inside detection the
message is flagged for a human ("review", urgent) rather than passed as safe.
"""

from __future__ import annotations

import threading

from escalation.detect.detector import (
    Assessment, Detector, Finding, Trace, default_detector, failed_assessment,
)

__all__ = ["Assessment", "Detector", "Finding", "Trace", "assess", "default_detector", "DEFAULT", "rules_only",
           "warm_up"]

_DEFAULT: list[Detector | None] = []  # built on first use: loading compiles every rule
_LOAD_ERROR = ""
# The service warms up in a background thread while it already takes webhooks; a turn that
# needs the detector first waits for that one build instead of starting a second.
_LOADING = threading.Lock()


def _default() -> Detector | None:
    global _LOAD_ERROR
    if not _DEFAULT:
        with _LOADING:
            if not _DEFAULT:
                try:
                    _DEFAULT.append(default_detector())
                except Exception as exc:  # noqa: BLE001 - a broken rule file must not stop messages being flagged
                    _LOAD_ERROR = f"rules failed to load: {type(exc).__name__}"
                    _DEFAULT.append(None)
    return _DEFAULT[0]


def __getattr__(name: str) -> Detector | None:
    if name == "DEFAULT":  # the shipped detector, for code that wants it directly
        return _default()
    raise AttributeError(name)


def assess(text: str, question: str | None = None) -> Assessment:
    """Check one message with the shipped rules (answering check-in `question`, if given);
    fails closed, never raises."""
    detector = _default()
    if detector is None:
        return failed_assessment(_LOAD_ERROR)
    return detector.assess(text, question)


_RULES_ONLY: list[Detector] = []


def rules_only() -> Detector:
    """The shipped rules without the learned layer (for training, evaluation and rule tests)."""
    if not _RULES_ONLY:
        from escalation.detect.detector import rules_detector

        _RULES_ONLY.append(rules_detector())
    return _RULES_ONLY[0]


def is_warm() -> bool:
    """Whether the shipped detector has been built (the service's readiness check asks)."""
    return bool(_DEFAULT)


def warm_up() -> None:
    """Load the rules and compile every pattern now (the service does this at start-up), so a
    bad rule file stops the service at once and the first message does not pay for it."""
    _default().check()
