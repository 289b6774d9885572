"""Flow declarations (data) and their registry, checked once at import."""

from bot.flows.model import Flow, FlowError, validate_flow
from bot.flows.weekly import WEEKLY_CHECKIN

FLOWS: dict[str, Flow] = {WEEKLY_CHECKIN.name: WEEKLY_CHECKIN}
DEFAULT_FLOW = WEEKLY_CHECKIN.name


def get_flow(name: str) -> Flow:
    try:
        return FLOWS[name]
    except KeyError:
        raise FlowError(f"unknown flow {name!r}; known: {', '.join(sorted(FLOWS))}") from None


def validate_all() -> None:
    """The start-up check: every registered flow must pass validation."""
    for flow in FLOWS.values():
        validate_flow(flow)


__all__ = ["DEFAULT_FLOW", "FLOWS", "Flow", "FlowError", "get_flow", "validate_all"]
