"""Carry a request's deadline: read it from ``X-Shoplab-Deadline-Ms``, cap calls by it, refuse spent work.

The header holds the *remaining* budget in milliseconds when the request was sent
(relative, so clocks need not agree). The entry point (the gateway, or any service a
request reaches without the header) starts the budget from its profile's
``request_budget_s``; every outgoing call sends what is left and is capped by it; a
callee that receives a budget of 0 or less answers 504 ``deadline_exceeded`` without
starting the work.

The deadline lives in a contextvar, set for the request's thread: code that fans calls
out to a thread pool must submit ``contextvars.copy_context().run`` to keep it.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

DEADLINE_HEADER = "X-Shoplab-Deadline-Ms"

# Absolute time.monotonic() seconds; a contextvar so it works in Flask threads and in the worker.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("shoplab_deadline", default=None)


def get_remaining_s() -> float | None:
    """Return the seconds left before the active deadline, or None when there is none."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def set_deadline(deadline: float | None) -> contextvars.Token[float | None]:
    """Make ``deadline`` active; return the token to reset it."""
    return _deadline.set(deadline)


def reset_deadline(token: contextvars.Token[float | None]) -> None:
    """Restore the deadline that was active before ``set_deadline``."""
    _deadline.reset(token)


@contextmanager
def deadline_scope(budget_s: float | None) -> Iterator[None]:
    """Run the block with a deadline ``budget_s`` from now (never later than an outer one)."""
    if budget_s is None:
        yield
        return
    new = time.monotonic() + budget_s
    outer = _deadline.get()
    token = _deadline.set(new if outer is None else min(outer, new))
    try:
        yield
    finally:
        _deadline.reset(token)


def parse_header(raw: str) -> float:
    """Return the remaining budget in seconds from a header value; raise ValueError if malformed."""
    value = float(raw.strip())
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return value / 1000.0


def format_header(remaining_s: float) -> str:
    """Return the header value for ``remaining_s`` seconds left (never negative)."""
    return str(max(0, int(remaining_s * 1000)))
