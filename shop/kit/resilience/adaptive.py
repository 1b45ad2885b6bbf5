"""The adaptive mechanisms: an AIMD concurrency limit, hedged reads, decorrelated-jitter backoff.

- ``AimdLimit``: additive increase, multiplicative decrease (TCP's rule, as in Netflix's
  concurrency-limits ``AIMDLimit``). A call that succeeds within ``latency_s`` raises the
  limit by ``1 / limit`` (about +1 per round of ``limit`` calls); a call that times out,
  fails with 5xx or transport error, or takes longer than ``latency_s`` multiplies it by
  ``backoff`` (at least ``min_limit``). A call that finds ``limit`` calls in flight is
  refused at once.
- ``Hedger``: a GET still unanswered after the observed ``quantile`` of recent latencies,
  clamped to ``[floor, max_delay_s]``, is sent a second time, and the first answer wins; the
  floor is ``min_delay_s``, or ``floor_median_factor`` x the window's median when that is more
  (a busy machine's slower fast reads move the floor with them instead of taking the tokens);
  every hedge takes a token from a ``RetryBudget`` that starts empty, is fed ``ratio`` tokens
  per read and saves at most ``max_tokens``: hedges <= ratio x reads since the policy was set,
  and <= max_tokens + ratio x reads over any stretch of time.
- ``decorrelated_jitter``: AWS's "decorrelated jitter" backoff,
  ``sleep = min(cap, uniform(base, 3 x previous sleep))``, as a tenacity wait strategy.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from tenacity import RetryCallState
from tenacity.wait import wait_base

from shop.kit.resilience.components import RetryBudget

# Fewer latencies than this: no quantile worth hedging on yet.
MIN_HEDGE_SAMPLES = 20


class AimdLimit:
    """An adaptive concurrency limit for one dependency (AIMD); thread-safe."""

    def __init__(
        self, *, initial: int, min_limit: int, max_limit: int, backoff: float = 0.5, latency_s: float = 0.5
    ) -> None:
        self.min_limit = max(1, min_limit)
        self.max_limit = max(self.min_limit, max_limit)
        self.backoff = backoff
        self.latency_s = latency_s
        self._limit = float(min(max(initial, self.min_limit), self.max_limit))
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        """Return the current limit (whole calls)."""
        return int(self._limit)

    @property
    def in_flight(self) -> int:
        """Return the calls holding a slot."""
        return self._in_flight

    def try_acquire(self) -> bool:
        """Take a slot without waiting; False when ``limit`` calls are in flight."""
        with self._lock:
            if self._in_flight >= int(self._limit):
                return False
            self._in_flight += 1
            return True

    def release(self, elapsed_s: float, *, dropped: bool) -> None:
        """Give the slot back and adapt: a drop (failure or slower than ``latency_s``) shrinks, else grow."""
        with self._lock:
            self._in_flight -= 1
            if dropped or elapsed_s > self.latency_s:
                self._limit = max(float(self.min_limit), self._limit * self.backoff)
            else:
                self._limit = min(float(self.max_limit), self._limit + 1.0 / self._limit)

    def snapshot(self) -> dict[str, Any]:
        """Return the limit's state as data."""
        return {"limit": self.limit, "in_flight": self._in_flight, "min": self.min_limit, "max": self.max_limit}


class LatencyWindow:
    """The last ``size`` latencies of successful calls, and a quantile of them."""

    def __init__(self, size: int = 200) -> None:
        self._values: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._values)

    def observe(self, seconds: float) -> None:
        """Record one latency."""
        with self._lock:
            self._values.append(seconds)

    def quantile(self, q: float) -> float | None:
        """Return the ``q`` quantile (nearest rank) of the window, None when it is empty."""
        with self._lock:
            values = sorted(self._values)
        if not values:
            return None
        rank = min(len(values) - 1, max(0, int(q * len(values) + 0.999999) - 1))
        return values[rank]


class Hedger:
    """When to send a second copy of a read: after the observed quantile, within a token budget."""

    def __init__(self, *, ratio: float, quantile: float, min_delay_s: float, max_delay_s: float | None = None,
                 max_tokens: float = 1.0, window: int = 200, floor_median_factor: float | None = None) -> None:
        self.quantile = quantile
        self.min_delay_s = min_delay_s
        self.max_delay_s = max_delay_s
        self.floor_median_factor = floor_median_factor
        self.latencies = LatencyWindow(window)
        # Same bucket as retries, started empty: hedges <= ratio x reads since the policy was set.
        # Tokens saved while all is well (at most ``max_tokens``) pay for a burst of slow reads,
        # which one saved token could not: slow reads come in clusters, tokens at a steady rate.
        self.budget = RetryBudget(ratio=ratio, initial_tokens=0.0, max_tokens=max_tokens)

    def floor_s(self) -> float:
        """Return the delay's floor: ``min_delay_s``, or ``floor_median_factor`` x the median read if more.

        The median is what a fast read takes now (slow reads are a few percent of the window):
        when the machine is busy and fast reads slow down, the floor rises with them, so fewer of
        them pass it and take the tokens the slow ones need.
        """
        if self.floor_median_factor is None:
            return self.min_delay_s
        median = self.latencies.quantile(0.5) or 0.0
        return max(self.min_delay_s, self.floor_median_factor * median)

    def delay_s(self) -> float | None:
        """Return how long to wait before hedging, None while too few latencies are known.

        The observed quantile, clamped: at least the floor (``floor_s``: fast reads rarely pass
        it), at most ``max_delay_s`` (a slow mode in the window cannot drag the delay up to
        itself); should the two cross, the floor wins.
        """
        if len(self.latencies) < MIN_HEDGE_SAMPLES:
            return None
        observed = self.latencies.quantile(self.quantile) or 0.0
        if self.max_delay_s is not None:
            observed = min(observed, self.max_delay_s)
        return max(self.floor_s(), observed)

    def snapshot(self) -> dict[str, Any]:
        """Return the hedger's state as data."""
        delay = self.delay_s()
        median = self.latencies.quantile(0.5)
        return {"delay_s": None if delay is None else round(delay, 4), "samples": len(self.latencies),
                "median_s": None if median is None else round(median, 4), "floor_s": round(self.floor_s(), 4),
                "min_delay_s": self.min_delay_s, "max_delay_s": self.max_delay_s,
                "floor_median_factor": self.floor_median_factor, "budget": self.budget.snapshot()}


def decorrelated_jitter(previous_s: float, *, base_s: float, cap_s: float, rng: Callable[[float, float], float]) -> float:
    """Return the next sleep: ``min(cap, uniform(base, 3 x previous))``."""
    return min(cap_s, rng(base_s, max(base_s, previous_s * 3)))


class wait_decorrelated_jitter(wait_base):  # noqa: N801 - named like tenacity's own wait strategies
    """tenacity wait: decorrelated jitter, remembering the previous sleep on the retry state."""

    def __init__(self, base_s: float, cap_s: float, rng: Callable[[float, float], float] = random.uniform) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.rng = rng

    def __call__(self, retry_state: RetryCallState) -> float:
        previous = getattr(retry_state, "shoplab_previous_wait_s", self.base_s)
        wait = decorrelated_jitter(previous, base_s=self.base_s, cap_s=self.cap_s, rng=self.rng)
        retry_state.shoplab_previous_wait_s = wait  # type: ignore[attr-defined]
        return wait
