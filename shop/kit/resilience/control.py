"""Hold one service's live resilience setup: the profile, overrides, and each dependency's parts.

Switching swaps an immutable ``DependencyRuntime`` per dependency in one assignment, so
the next call uses the new policy while calls in flight finish on the parts they took
(and give their bulkhead slot back to the old bulkhead). Every switch starts fresh parts:
a closed breaker, an empty bulkhead, a budget at its initial tokens, so each profile of
an experiment starts from the same state whatever the previous one left behind.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pybreaker

from shop.kit.resilience.adaptive import AimdLimit, Hedger
from shop.kit.resilience.components import Bulkhead, RetryBudget, make_breaker
from shop.kit.resilience.instruments import get_instruments
from shop.kit.resilience.policy import (
    DependencyPolicy,
    Profile,
    apply_overrides,
    get_profile,
    parse_overrides,
)


@dataclass(frozen=True)
class DependencyRuntime:
    """The parts one dependency's calls use right now."""

    policy: DependencyPolicy
    breaker: pybreaker.CircuitBreaker | None
    bulkhead: Bulkhead | None
    budget: RetryBudget | None
    # The policy's timeouts, made once: most calls run without a deadline to cap them.
    timeout: httpx.Timeout
    limiter: AimdLimit | None = None
    hedger: Hedger | None = None

    def snapshot(self) -> dict[str, Any]:
        """Return the live state as data (for ``GET /admin/state``)."""
        breaker: dict[str, Any] = {"enabled": self.breaker is not None}
        if self.breaker is not None:
            breaker.update(
                state=self.breaker.current_state,
                fail_counter=self.breaker.fail_counter,
                fail_max=self.breaker.fail_max,
                reset_timeout_s=self.breaker.reset_timeout,
            )
        return {
            "breaker": breaker,
            "bulkhead": self.bulkhead.snapshot() if self.bulkhead else {"enabled": False},
            "retry_budget": self.budget.snapshot() if self.budget else {"enabled": False},
            "adaptive_limit": self.limiter.snapshot() if self.limiter else {"enabled": False},
            "hedging": self.hedger.snapshot() if self.hedger else {"enabled": False},
        }


class ResilienceControl:
    """The resilience profile, overrides and per-dependency runtime of one caller."""

    def __init__(self, caller: str, profile: str, dependencies: Iterable[str] = ()) -> None:
        self.caller = caller
        self._profile: Profile = get_profile(profile)
        self._overrides: dict[str, dict[str, Any]] = {}
        self._runtimes: dict[str, DependencyRuntime] = {}
        self._lock = threading.Lock()
        for dep in dependencies:
            self.runtime(dep)

    @property
    def profile(self) -> Profile:
        """Return the active profile."""
        return self._profile

    @property
    def overrides(self) -> dict[str, dict[str, Any]]:
        """Return the active per-dependency overrides."""
        return {dep: dict(values) for dep, values in self._overrides.items()}

    @property
    def dependencies(self) -> list[str]:
        """Return the dependencies this caller knows."""
        return sorted(self._runtimes)

    def runtime(self, dependency: str) -> DependencyRuntime:
        """Return the parts ``dependency``'s next call must use (built on first use)."""
        rt = self._runtimes.get(dependency)
        if rt is None:
            with self._lock:
                rt = self._runtimes.get(dependency)
                if rt is None:
                    rt = self._build(dependency, self._policy_for(dependency))
                    self._runtimes[dependency] = rt
        return rt

    def switch(self, profile: str | None = None, overrides: Mapping[str, Any] | None = None) -> None:
        """Switch to ``profile`` (default: keep) with ``overrides`` (replacing the old ones).

        Raises ValidationFailed (422) on an unknown profile, dependency or key, before changing anything.
        """
        new_profile = get_profile(profile) if profile is not None else self._profile
        new_overrides = parse_overrides(overrides, set(self._runtimes))
        with self._lock:
            self._profile = new_profile
            self._overrides = new_overrides
            for dep in list(self._runtimes):
                self._runtimes[dep] = self._build(dep, self._policy_for(dep))

    def effective_policies(self) -> dict[str, dict[str, Any]]:
        """Return each dependency's effective policy as data."""
        return {dep: rt.policy.to_dict() for dep, rt in sorted(self._runtimes.items())}

    def snapshot(self) -> dict[str, Any]:
        """Return the live breaker, bulkhead and budget state per dependency."""
        return {dep: rt.snapshot() for dep, rt in sorted(self._runtimes.items())}

    def _policy_for(self, dependency: str) -> DependencyPolicy:
        return apply_overrides(self._profile.policy_for(dependency), self._overrides.get(dependency, {}))

    def _build(self, dependency: str, policy: DependencyPolicy) -> DependencyRuntime:
        breaker = None
        if policy.breaker_fail_max is not None:
            breaker = make_breaker(
                self.caller,
                dependency,
                fail_max=policy.breaker_fail_max,
                reset_timeout_s=policy.breaker_reset_timeout_s,
            )
        else:
            # No breaker means every call passes: report it as closed rather than a stale "open".
            get_instruments().breaker_state.labels(self.caller, dependency).set(0)
        bulkhead = Bulkhead(policy.bulkhead_limit) if policy.bulkhead_limit is not None else None
        budget = None
        if policy.retry_budget_ratio is not None:
            budget = RetryBudget(
                ratio=policy.retry_budget_ratio,
                initial_tokens=policy.retry_budget_initial_tokens,
                max_tokens=policy.retry_budget_max_tokens,
            )
        limiter = None
        if policy.adaptive_limit_max is not None:
            limiter = AimdLimit(
                initial=policy.adaptive_limit_initial,
                min_limit=policy.adaptive_limit_min,
                max_limit=policy.adaptive_limit_max,
                backoff=policy.adaptive_limit_backoff,
                latency_s=policy.adaptive_limit_latency_s,
            )
            get_instruments().adaptive_limit.labels(self.caller, dependency).set(limiter.limit)
        hedger = None
        if policy.hedge_budget_ratio is not None:
            hedger = Hedger(
                ratio=policy.hedge_budget_ratio, quantile=policy.hedge_quantile, min_delay_s=policy.hedge_min_delay_s,
                max_delay_s=policy.hedge_max_delay_s, max_tokens=policy.hedge_budget_max_tokens,
                floor_median_factor=policy.hedge_floor_median_factor,
            )
        connect, read = policy.connect_timeout_s, policy.read_timeout_s
        timeout = httpx.Timeout(connect=connect, read=read, write=read, pool=connect)
        return DependencyRuntime(
            policy=policy, breaker=breaker, bulkhead=bulkhead, budget=budget, timeout=timeout,
            limiter=limiter, hedger=hedger,
        )
