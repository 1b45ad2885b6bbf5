"""Helpers every test tier shares: polling with a deadline instead of sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class PollTimeout(AssertionError):
    """A polled condition did not hold before its deadline."""


def poll_until(
    probe: Callable[[], T | None],
    *,
    timeout_s: float = 10.0,
    interval_s: float = 0.05,
    message: str = "condition",
) -> T:
    """Call ``probe`` until it returns a truthy value and return it; fail at the deadline.

    Exceptions raised by ``probe`` count as "not yet"; the last one is reported.
    """
    deadline = time.monotonic() + timeout_s
    last_error: BaseException | None = None
    last_value: object = None
    while True:
        try:
            value = probe()
            last_value = value
            if value:
                return value
        except Exception as exc:  # "not yet"
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f"; last error: {last_error!r}" if last_error else f"; last value: {last_value!r}"
            raise PollTimeout(f"{message} did not hold within {timeout_s:.1f} s{detail}")
        time.sleep(interval_s)
