"""What an application operation can refuse with: one line a person can act on.

A caller maps these at its one boundary: the CLI prints the line and exits 2; the staff web app
answers NotFound with 404, NotAllowed with 403 and InvalidInput with the form and the line.
"""

from __future__ import annotations


class AppError(Exception):
    """A refusal with a one-line message a person can act on."""


class NotFound(AppError):
    """No such record, or not one this person may see (the two look the same on purpose)."""


class NotAllowed(AppError):
    """An operation this person's role does not include (e.g. adding staff as a mentor)."""


class InvalidInput(AppError):
    """A value the person gave is wrong; the message says which and why."""
