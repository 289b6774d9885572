"""The default weekly check-in, read from bot/flows/defaults/weekly.toml (kept importable here)."""

from bot.flows.files import DEFAULTS, load_flow_file

WEEKLY_CHECKIN = load_flow_file(DEFAULTS / "weekly.toml")
