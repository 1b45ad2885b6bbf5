"""Decide retries for tenacity: when to stop, how long to wait, and what to record for each retry.

One ``Call`` is one logical call through ``ResilientClient``; tenacity passes it to every
hook as its first argument, and the hooks count here because tenacity's own statistics
are thread-local and describe only the last call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_random_exponential

from shop.kit.resilience.adaptive import wait_decorrelated_jitter
from shop.kit.resilience.control import DependencyRuntime
from shop.kit.resilience.deadline import get_remaining_s
from shop.kit.resilience.upstream import get_retry_after_s, is_retryable

# Below this, an attempt could not even open a connection: treat the deadline as spent.
MIN_USEFUL_S = 0.002


@dataclass
class Call:
    """One logical call: what every attempt and every tenacity hook needs."""

    method: str
    path: str
    headers: dict[str, str]
    kwargs: dict[str, Any]
    rt: DependencyRuntime
    attempt: int = 0
    stop_reason: str = ""
    replayed: bool = False
    started: float = 0.0  # perf_counter() when the logical call began (for the duration histogram)
    span: Any = field(default=None)
    # The attempt cap of this call (the policy's, or its fallback cap when it has a fallback).
    max_attempts: int = 1
    # Set only by the planted bug ``inner_timeout_over_budget`` (shop.kit.plants): one timeout, no deadline.
    planted_timeout_s: float | None = None


class RetryHooks:
    """tenacity's stop, wait and before-sleep hooks for one dependency."""

    def __init__(self, dependency: str, *, retries: Counter, budget_exhausted: Counter) -> None:
        self.dependency = dependency
        self.retries = retries
        self.budget_exhausted = budget_exhausted

    def should_stop(self, retry_state: RetryCallState) -> bool:
        """Stop at the attempt cap, a too-long Retry-After, a spent deadline or an empty budget."""
        call: Call = retry_state.args[0]
        policy = call.rt.policy
        if retry_state.attempt_number >= call.max_attempts:
            call.stop_reason = "attempts"
            return True
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = get_retry_after_s(exc) if policy.honour_retry_after else None
        if retry_after is not None and retry_after > policy.retry_after_max_s:
            call.stop_reason = "retry_after_too_long"
            return True
        remaining = get_remaining_s() if policy.propagate_deadline else None
        if remaining is not None and remaining <= (retry_after or 0.0) + MIN_USEFUL_S:
            call.stop_reason = "deadline"
            return True
        budget = call.rt.budget
        if budget is not None and not budget.try_withdraw():
            call.stop_reason = "budget"
            self.budget_exhausted.inc()
            call.span.add_event(
                "retry_budget_exhausted",
                {"shoplab.dependency": self.dependency, "shoplab.attempt": retry_state.attempt_number},
            )
            return True
        return False

    def get_wait_s(self, retry_state: RetryCallState) -> float:
        """Wait full-jitter exponential (or decorrelated-jitter) backoff, at most half the deadline left, at least Retry-After."""
        call: Call = retry_state.args[0]
        policy = call.rt.policy
        jitter = (
            wait_decorrelated_jitter(policy.retry_backoff_s, policy.retry_backoff_max_s)
            if policy.retry_decorrelated_jitter
            else wait_random_exponential(multiplier=policy.retry_backoff_s, max=policy.retry_backoff_max_s)
        )
        wait = float(jitter(retry_state))
        remaining = get_remaining_s() if policy.propagate_deadline else None
        if remaining is not None:
            # Leave at least half of what is left for the attempt itself.
            wait = min(wait, remaining / 2)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = get_retry_after_s(exc) if policy.honour_retry_after else None
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    def on_retry(self, retry_state: RetryCallState) -> None:
        """Count the retry and tell it as an event on the caller's span."""
        call: Call = retry_state.args[0]
        self.retries.inc()
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        call.span.add_event(
            "retry",
            {
                "shoplab.dependency": self.dependency,
                "shoplab.attempt": retry_state.attempt_number,
                "shoplab.wait_s": float(wait),
                "shoplab.reason": type(exc).__name__ if exc else "result",
            },
        )


def make_retrying(hooks: RetryHooks, *, sleep: Callable[[float], None]) -> Retrying:
    """Return the tenacity controller a client runs its retried calls through."""
    return Retrying(
        retry=retry_if_exception(is_retryable),
        stop=hooks.should_stop,
        wait=hooks.get_wait_s,
        before_sleep=hooks.on_retry,
        sleep=sleep,
        reraise=True,
    )
