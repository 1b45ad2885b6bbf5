"""Wait for a condition by polling it with a deadline: the one waiting loop of the runtime and the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from shoplab.runtime.errors import PollTimeout

T = TypeVar("T")


def poll_until(
    probe: Callable[[], T | None],
    *,
    timeout_s: float = 10.0,
    interval_s: float = 0.05,
    message: str = "condition",
    reraise: tuple[type[Exception], ...] = (),
) -> T:
    """Call ``probe`` until it returns a truthy value and return it; raise PollTimeout at the deadline.

    Exceptions raised by ``probe`` count as "not yet" (the last one is reported), except
    those of a ``reraise`` type: they end the wait at once, e.g. a process that died.
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
        except reraise:
            raise
        except Exception as exc:  # "not yet"
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f"; last error: {last_error!r}" if last_error else f"; last value: {last_value!r}"
            raise PollTimeout(f"timed out after {timeout_s:.1f} s waiting for {message}{detail}")
        time.sleep(interval_s)
