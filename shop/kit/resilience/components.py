"""The per-dependency parts: a retry budget (token bucket), a bulkhead, and a pybreaker breaker with metrics."""

from __future__ import annotations

import threading
from typing import Any

import pybreaker
import structlog

from shop.kit.resilience.instruments import BREAKER_STATE_VALUES, get_instruments

log = structlog.get_logger(__name__)


class RetryBudget:
    """A token bucket: each request deposits ``ratio`` tokens, each retry withdraws one.

    So over any run, retries <= initial_tokens + ratio * requests, whatever the fault.
    """

    def __init__(self, *, ratio: float, initial_tokens: float, max_tokens: float) -> None:
        self.ratio = ratio
        self.max_tokens = max(max_tokens, 1.0)
        self._tokens = min(initial_tokens, self.max_tokens)
        self._lock = threading.Lock()

    @property
    def tokens(self) -> float:
        """Return the tokens left."""
        return self._tokens

    def deposit(self) -> None:
        """Record one request (adds ``ratio`` tokens, capped)."""
        with self._lock:
            self._tokens = min(self.max_tokens, self._tokens + self.ratio)

    def try_withdraw(self) -> bool:
        """Take one token for a retry; return False (and take nothing) when fewer than one is left."""
        with self._lock:
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True

    def snapshot(self) -> dict[str, Any]:
        """Return the budget's state as data."""
        return {"tokens": round(self._tokens, 3), "ratio": self.ratio, "max_tokens": self.max_tokens}


class Bulkhead:
    """Bound the concurrent calls to one dependency; reject at once when full."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_flight = 0
        # A counter under one lock, not a semaphore: it never waits, and is cheaper per call.
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        """Return the calls currently holding a slot."""
        return self._in_flight

    def try_acquire(self, limit: int | None = None) -> bool:
        """Take a slot without blocking; return False when ``limit`` (default: the bulkhead's) are taken."""
        with self._lock:
            if self._in_flight >= (self.limit if limit is None else limit):
                return False
            self._in_flight += 1
            return True

    def release(self) -> None:
        """Give a slot back."""
        with self._lock:
            self._in_flight -= 1

    def snapshot(self) -> dict[str, Any]:
        """Return the bulkhead's state as data."""
        return {"in_flight": self._in_flight, "limit": self.limit}


class BreakerMetricsListener(pybreaker.CircuitBreakerListener):
    """Publish every breaker transition as a metric and a structlog event."""

    def __init__(self, caller: str, dependency: str) -> None:
        self.caller = caller
        self.dependency = dependency

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        """Count the transition, set the state gauge and log it."""
        old = old_state.name if old_state is not None else "none"
        new = new_state.name
        inst = get_instruments()
        inst.breaker_state.labels(self.caller, self.dependency).set(BREAKER_STATE_VALUES.get(new, -1))
        inst.breaker_transitions.labels(self.caller, self.dependency, old, new).inc()
        log.warning(
            "breaker_state_change",
            caller=self.caller,
            dependency=self.dependency,
            from_state=old,
            to_state=new,
            fail_counter=cb.fail_counter,
        )


def make_breaker(caller: str, dependency: str, *, fail_max: int, reset_timeout_s: float) -> pybreaker.CircuitBreaker:
    """Build the breaker of one edge; the call that trips it raises its own error, not a new one."""
    breaker = pybreaker.CircuitBreaker(
        fail_max=fail_max,
        reset_timeout=reset_timeout_s,
        name=f"{caller}->{dependency}",
        listeners=[BreakerMetricsListener(caller, dependency)],
        # The tripping call keeps its real cause (timeout → 504); the *next* call sees the open breaker.
        throw_new_error_on_trip=False,
    )
    get_instruments().breaker_state.labels(caller, dependency).set(BREAKER_STATE_VALUES["closed"])
    return breaker
