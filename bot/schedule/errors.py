"""Errors of the scheduling core."""


class PlanError(ValueError):
    """A plan that cannot be understood; the message is one plain line for staff."""
