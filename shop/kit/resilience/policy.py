"""Describe resilience policy as data: per-dependency policies, named profiles, validated overrides."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError

from shop.kit.errors import ValidationFailed

PROFILE_ENV = "SHOPLAB_RESILIENCE_PROFILE"
DEFAULT_PROFILE = "resilient"


@dataclass(frozen=True, kw_only=True)
class DependencyPolicy:
    """How one caller treats one dependency; ``None`` switches a mechanism off."""

    connect_timeout_s: float = 0.5
    read_timeout_s: float = 1.0
    # Send the remaining budget downstream and cap every call by it.
    propagate_deadline: bool = True
    # 1 means no retry; retries only happen for idempotent calls or calls with a key.
    retry_max_attempts: int = 1
    retry_backoff_s: float = 0.05
    retry_backoff_max_s: float = 1.0
    honour_retry_after: bool = True
    retry_after_max_s: float = 2.0
    # Token bucket: each request adds ``ratio`` tokens, each retry takes one (None: unbudgeted).
    retry_budget_ratio: float | None = None
    retry_budget_initial_tokens: float = 2.0
    retry_budget_max_tokens: float = 10.0
    breaker_fail_max: int | None = None
    breaker_reset_timeout_s: float = 5.0
    bulkhead_limit: int | None = None
    # A call with a fallback is not worth the page's whole budget: it gets this one
    # (attempts and backoff included) and at most ``fallback_max_attempts`` attempts,
    # then the fallback answers (None: the call is treated like any other).
    fallback_budget_s: float | None = None
    fallback_max_attempts: int = 2
    # Backoff between retries: full jitter (False) or decorrelated jitter (True), same base and cap.
    retry_decorrelated_jitter: bool = False
    # Hedged reads: a GET unanswered after the observed ``hedge_quantile`` latency, clamped to
    # [``hedge_min_delay_s``, ``hedge_max_delay_s``] (None: no cap), is sent again, first answer
    # wins. The bucket starts empty, gets ``ratio`` per read and saves ``hedge_budget_max_tokens``
    # at most: hedges <= ratio x reads since the switch, <= max_tokens + ratio x reads in any stretch.
    hedge_budget_ratio: float | None = None
    hedge_budget_max_tokens: float = 1.0
    hedge_quantile: float = 0.95
    hedge_min_delay_s: float = 0.02
    hedge_max_delay_s: float | None = None
    # The floor rises to this many times the window's median read when that is above
    # ``hedge_min_delay_s`` (None: the floor is ``hedge_min_delay_s``, whatever fast reads take).
    hedge_floor_median_factor: float | None = None
    # AIMD concurrency limit (None: off): starts at ``adaptive_limit_initial``, x backoff on a
    # failure or a call slower than ``adaptive_limit_latency_s``, + 1/limit on a good call.
    adaptive_limit_max: int | None = None
    adaptive_limit_min: int = 4
    adaptive_limit_initial: int = 16
    adaptive_limit_backoff: float = 0.5
    # Just under the 1 s read timeout: identity's password hashing takes hundreds of ms by design.
    adaptive_limit_latency_s: float = 0.9

    def to_dict(self) -> dict[str, Any]:
        """Return the policy as JSON-ready data."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, kw_only=True)
class Profile:
    """A named set of policies: one default for every dependency, plus a request budget."""

    name: str
    description: str
    default: DependencyPolicy
    # Budget an entry point (the gateway) gives a request that arrives without a deadline.
    request_budget_s: float | None = None
    per_dependency: Mapping[str, DependencyPolicy] = field(default_factory=dict)
    # Priority load shedding at an entry point (the gateway): the requests it serves at once
    # (None: off); lower priorities are refused first (``shedding.py``).
    shed_limit: int | None = None

    def policy_for(self, dependency: str) -> DependencyPolicy:
        """Return this profile's policy for ``dependency``."""
        return self.per_dependency.get(dependency, self.default)


_TIMEOUTS = DependencyPolicy(connect_timeout_s=0.5, read_timeout_s=1.0, propagate_deadline=True)

_RESILIENT = dataclasses.replace(
    _TIMEOUTS,
    retry_max_attempts=3,
    retry_budget_ratio=0.2,
    # pybreaker counts consecutive failed *attempts* (it sits inside the retry). With 5, a
    # flaky dependency (the flagship's 30% connection resets: 0.3**5 = 0.24% per attempt, over
    # ~3,000 attempts a run) tripped it a few times in some runs and never in others, and each
    # trip failed every call for 5 s and cascaded to the callers' breakers: run-to-run success
    # 0.996 against 0.935. Ten in a row is 6e-6 at 30%; a dependency that is down still trips
    # it within about four calls (three attempts each).
    breaker_fail_max=10,
    breaker_reset_timeout_s=5.0,
    bulkhead_limit=16,
    # Half the public API's 0.5 s latency SLO, for the dependency a page can do without.
    fallback_budget_s=0.25,
)

_ADAPTIVE = dataclasses.replace(
    _RESILIENT,
    # A small bucket: tokens saved while all is well must not pay for a burst of
    # retries at the moment a dependency slows (retries <= 1 + 5 % of requests). It starts
    # empty: a slowdown that meets the first few calls after the switch is not retried at
    # all (with one token to start, a single slow charge became 2 attempts per request).
    retry_budget_ratio=0.05,
    retry_budget_initial_tokens=0.0,
    retry_budget_max_tokens=1.0,
    retry_decorrelated_jitter=True,
    bulkhead_limit=None,  # the AIMD limit replaces the fixed bulkhead
    # The README's adaptive figures were measured with the breaker at 5 (the AIMD limit and the
    # small retry budget act first; the flaky-dependency case that moved resilient to 10 is not its test).
    breaker_fail_max=5,
    # Hedges <= 5 % of reads since the switch (the bar on extra load); up to 25
    # tokens saved pay for a cluster of slow reads. With 5 % slow the bucket's level is a
    # walk with no drift: 10 saved left 0-7 slow reads per 150 s without a token (quiet
    # runs), and a model of the walk (bench/hedge_budget_model.py) puts the product
    # page's p99 cut decided >= 40 % in ~44 % of runs with 10 (150 s), ~95 % with 25 (300 s).
    hedge_budget_ratio=0.05,
    hedge_budget_max_tokens=25.0,
    # The observed p95, clamped to [floor, 0.3 s]: while 5 % of reads are slow the p95
    # sits in the slow mode about half the time (the cap hedges them at 0.3 s, not 0.8),
    # and in the fast mode the rest (the floor keeps fast reads from taking the tokens).
    # The floor is 0.2 s, or 10 x the median read when the machine is busy enough for
    # that to be more: fast reads that slow down move the floor instead of eating tokens.
    hedge_min_delay_s=0.2,
    hedge_max_delay_s=0.3,
    hedge_floor_median_factor=10.0,
    adaptive_limit_max=32,
)

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="naive",
            description="one long timeout, nothing else",
            default=DependencyPolicy(connect_timeout_s=30.0, read_timeout_s=30.0, propagate_deadline=False),
        ),
        Profile(
            name="timeouts",
            description="connect/read timeouts and a propagated deadline",
            default=_TIMEOUTS,
            request_budget_s=3.0,
        ),
        Profile(
            name="retries",
            description="timeouts + unbudgeted retries (the retry storm)",
            default=dataclasses.replace(_TIMEOUTS, retry_max_attempts=4),
            request_budget_s=3.0,
        ),
        Profile(
            name="resilient",
            description="timeouts, deadline, budgeted retries, breaker, bulkhead, fallbacks",
            default=_RESILIENT,
            request_budget_s=3.0,
        ),
        Profile(
            name="adaptive",
            description="resilient + decorrelated-jitter retries, hedged reads, AIMD limits, priority shedding",
            default=_ADAPTIVE,
            # A payment provider serves a few charges at a time: its limit may fall to one call in
            # flight (elsewhere 4, so a slow read does not starve a page of its parallel reads).
            per_dependency={"payments": dataclasses.replace(_ADAPTIVE, adaptive_limit_min=1)},
            request_budget_s=3.0,
            # The gateway's 8 threads: browse is shed once 6 are busy, checkout only when all are.
            shed_limit=8,
        ),
    )
}



def _integral(value: Any) -> Any:
    # JSON and YAML may spell a count as 2.0; it is still the count 2.
    return int(value) if isinstance(value, float) and value.is_integer() else value


_PositiveS = Annotated[float, Field(gt=0, le=600, allow_inf_nan=False)]
_NonNegativeS = Annotated[float, Field(ge=0, le=600, allow_inf_nan=False)]
_Count = Annotated[int, BeforeValidator(_integral), Field(ge=1)]

# What an override of each policy key may be (pydantic checks it, strictly: no "1", no true as 1).
_OVERRIDE_TYPES: dict[str, Any] = {
    "connect_timeout_s": _PositiveS,
    "read_timeout_s": _PositiveS,
    "propagate_deadline": bool,
    "retry_max_attempts": _Count,
    "retry_backoff_s": _NonNegativeS,
    "retry_backoff_max_s": _PositiveS,
    "honour_retry_after": bool,
    "retry_after_max_s": _PositiveS,
    "retry_budget_ratio": _NonNegativeS | None,
    "retry_budget_initial_tokens": _NonNegativeS,
    "retry_budget_max_tokens": _PositiveS,
    "breaker_fail_max": _Count | None,
    "breaker_reset_timeout_s": _PositiveS,
    "bulkhead_limit": _Count | None,
    "fallback_budget_s": _PositiveS | None,
    "fallback_max_attempts": _Count,
    "retry_decorrelated_jitter": bool,
    "hedge_budget_ratio": _NonNegativeS | None,
    "hedge_quantile": Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)],
    "hedge_min_delay_s": _NonNegativeS,
    "hedge_max_delay_s": _PositiveS | None,
    "hedge_floor_median_factor": _PositiveS | None,
    "hedge_budget_max_tokens": _PositiveS,
    "adaptive_limit_max": _Count | None,
    "adaptive_limit_min": _Count,
    "adaptive_limit_initial": _Count,
    "adaptive_limit_backoff": Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)],
    "adaptive_limit_latency_s": _PositiveS,
}
_ADAPTERS = {key: TypeAdapter(kind) for key, kind in _OVERRIDE_TYPES.items()}
_OPTIONAL = {"retry_budget_ratio", "breaker_fail_max", "bulkhead_limit", "fallback_budget_s", "hedge_budget_ratio",
             "hedge_max_delay_s", "hedge_floor_median_factor", "adaptive_limit_max"}
_INTS = {"retry_max_attempts", "breaker_fail_max", "bulkhead_limit", "fallback_max_attempts", "adaptive_limit_max",
         "adaptive_limit_min", "adaptive_limit_initial"}
_BOOLS = {"propagate_deadline", "honour_retry_after", "retry_decorrelated_jitter"}
_FRACTIONS = {"hedge_quantile", "adaptive_limit_backoff"}


def get_profile(name: str) -> Profile:
    """Return the profile called ``name``; raise ValidationFailed naming the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValidationFailed(f"unknown profile {name!r} (known: {known})") from None


def get_default_profile_name(env: Mapping[str, str] | None = None) -> str:
    """Return the profile named by ``SHOPLAB_RESILIENCE_PROFILE`` (default ``resilient``)."""
    source = os.environ if env is None else env
    name = (source.get(PROFILE_ENV) or DEFAULT_PROFILE).strip()
    if name not in PROFILES:
        raise ValueError(f"{PROFILE_ENV}={name!r} is not a profile (known: {', '.join(PROFILES)})")
    return name


def parse_value(key: str, value: Any) -> Any:
    """Validate one override value for policy field ``key``; raise ValidationFailed."""
    adapter = _ADAPTERS.get(key)
    if adapter is None:
        raise ValidationFailed(f"unknown policy key {key!r} (known: {', '.join(_ADAPTERS)})")
    try:
        return adapter.validate_python(value, strict=True)
    except ValidationError as exc:
        raise ValidationFailed(_describe_bad_value(key, value, exc)) from None


def _describe_bad_value(key: str, value: Any, exc: ValidationError) -> str:
    # pydantic decides; the message keeps the words the CLI, labs and admin API have always used.
    if value is None and key not in _OPTIONAL:
        return f"{key} cannot be null"
    if key in _BOOLS:
        return f"{key} must be true or false"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{key} must be a number"
    if key in _INTS:
        return f"{key} must be an integer >= 1"
    if key in _FRACTIONS:
        return f"{key} must be between 0 and 1 (exclusive)"
    kind = exc.errors()[0]["type"]
    if kind == "finite_number":
        return f"{key} must be finite"
    if kind == "less_than_equal":
        return f"{key} must be <= 600"
    return f"{key} must be > 0"


def parse_overrides(raw: Any, dependencies: set[str]) -> dict[str, dict[str, Any]]:
    """Validate ``{"<dependency>": {"<key>": value}}``; raise ValidationFailed on anything else."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValidationFailed("overrides must be an object of dependency -> {key: value}")
    parsed: dict[str, dict[str, Any]] = {}
    for dep, values in raw.items():
        if dep not in dependencies:
            known = ", ".join(sorted(dependencies)) or "none"
            raise ValidationFailed(f"unknown dependency {dep!r} (this service calls: {known})")
        if not isinstance(values, dict):
            raise ValidationFailed(f"overrides for {dep} must be an object of key -> value")
        parsed[dep] = {key: parse_value(key, value) for key, value in values.items()}
    return parsed


def apply_overrides(policy: DependencyPolicy, overrides: Mapping[str, Any]) -> DependencyPolicy:
    """Return ``policy`` with validated ``overrides`` applied."""
    return dataclasses.replace(policy, **overrides) if overrides else policy
