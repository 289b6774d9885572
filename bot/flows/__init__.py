"""Flow declarations (data files) and their registry, checked once at import.

The shipped flows are TOML files in bot/flows/defaults/; a charity's own folder
(`[flows] folder`) adds to and overrides them (see bot/flows/library.py).
"""

from bot.flows.files import FlowFileError, load_flow_file, load_flow_text
from bot.flows.library import FlowLibrary, build_library
from bot.flows.model import Flow, FlowError, validate_flow
from bot.flows.weekly import WEEKLY_CHECKIN

SHIPPED = build_library()
FLOWS: dict[str, Flow] = SHIPPED.current
DEFAULT_FLOW = WEEKLY_CHECKIN.name


def get_flow(name: str) -> Flow:
    """A shipped flow by name (the service itself asks its own library: bot/service/flows.py)."""
    return SHIPPED.get(name)


def validate_all() -> None:
    """The start-up check: every registered flow must pass validation."""
    for flow in FLOWS.values():
        validate_flow(flow)


__all__ = ["DEFAULT_FLOW", "FLOWS", "Flow", "FlowError", "FlowFileError", "FlowLibrary",
           "build_library", "get_flow", "load_flow_file", "load_flow_text", "validate_all"]
