"""Risk detection, staff alerts, acknowledgement and the re-escalation ladder."""
