"""Waiting for something to happen in a test that runs real servers, threads or processes.

A wait ends when its condition comes true, so its bound only stops a hung test: it is generous
and one setting for the whole suite, CHECKINS_TEST_PATIENCE (seconds, default 300). No test may
depend on how fast the machine is: on a very slow machine raise it; never shorten a wait to make
a test quick (a wait that comes true early costs nothing).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

PATIENCE = float(os.environ.get("CHECKINS_TEST_PATIENCE", "300"))


def wait_until(condition: Callable[[], T], what: str = "", *, timeout: float | None = None,
               interval: float = 0.02) -> T:
    """Poll `condition` until it returns something truthy, and return that. Fails after
    `timeout` seconds (default PATIENCE) naming `what` it was waiting for."""
    deadline = time.monotonic() + (PATIENCE if timeout is None else timeout)
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or getattr(condition, '__name__', condition)}")
        time.sleep(interval)
