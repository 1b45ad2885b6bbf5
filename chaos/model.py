"""Describe a chaos experiment as frozen data: phases with faults, profiles, the hypothesis and its probes.

These are the values the runner, the probes and the report work with; ``chaos.schema``
builds them from a validated YAML file and ``chaos.experiment`` loads that file.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from chaos.errors import ExperimentInvalid
from chaos.toxiproxy import ToxicSpec
from shop.kit import faults as kit_faults
from shop.kit.resilience.policy import PROFILES

EXPERIMENTS_DIR = Path(__file__).resolve().parent / "experiments"
LOAD_SHAPES = ("steady", "step", "spike", "soak")
WORKER_PROCESS = "orders-worker"
CONSUMER_PROCESS = "notifications-consumer"


class ProcessAction(enum.StrEnum):
    """What a process fault does, and how it is rolled back."""

    KILL = "kill"  # SIGKILL; rollback starts it again
    STOP = "stop"  # graceful stop; rollback starts it again
    PAUSE = "pause"  # SIGSTOP; rollback sends SIGCONT


class ProbeKind(enum.StrEnum):
    """Every probe a hypothesis may use."""

    SUCCESS_RATIO = "success_ratio"
    DEGRADED_RATIO = "degraded_ratio"
    P50_MS = "p50_ms"
    P95_MS = "p95_ms"
    P99_MS = "p99_ms"
    RETRY_AMPLIFICATION = "retry_amplification"
    BREAKER_OPENED = "breaker_opened"
    BREAKER_CLOSED = "breaker_closed"
    TIME_TO_RECOVER_S = "time_to_recover_s"
    AUDIT_CLEAN = "audit_clean"
    QUEUE_DEPTH_MAX = "queue_depth_max"
    QUEUE_DEPTH_LAST = "queue_depth_last"
    DELIVERY_LAG_MAX_S = "delivery_lag_max_s"
    DEGRADED_FOR_S = "degraded_for_s"


BOOLEAN_PROBES = {ProbeKind.BREAKER_OPENED, ProbeKind.BREAKER_CLOSED, ProbeKind.AUDIT_CLEAN}
EDGE_PROBES = {ProbeKind.RETRY_AMPLIFICATION, ProbeKind.BREAKER_OPENED, ProbeKind.BREAKER_CLOSED}
LATENCY_PROBES = {ProbeKind.P50_MS, ProbeKind.P95_MS, ProbeKind.P99_MS}
# The broker's gauges over a phase's per-second samples (a stack with ``--broker``): the order-event queue's
# depth at its highest and at the phase's end, and the consumer's delivery lag at its highest.
BROKER_PROBES = {ProbeKind.QUEUE_DEPTH_MAX, ProbeKind.QUEUE_DEPTH_LAST, ProbeKind.DELIVERY_LAG_MAX_S}


# -- faults -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ToxicFaultSpec:
    """A Toxiproxy toxic on one edge."""

    edge: str
    toxic: ToxicSpec

    def describe(self) -> str:
        """Say what this fault does in a few words."""
        attrs = ", ".join(f"{k}={v}" for k, v in self.toxic.attributes().items())
        return f"{self.toxic.type}({attrs}) on {self.edge} {self.toxic.stream.value} toxicity={self.toxic.toxicity:g}"


@dataclass(frozen=True)
class DownFaultSpec:
    """An edge that is down: its proxy is disabled."""

    edge: str

    def describe(self) -> str:
        """Say what this fault does in a few words."""
        return f"{self.edge} down (proxy disabled)"


@dataclass(frozen=True)
class AppFaultSpec:
    """App-level faults on one service through its admin API."""

    service: str
    rules: tuple[kit_faults.FaultSpec, ...]  # the admin API's own fault type

    def describe(self) -> str:
        """Say what this fault does in a few words."""
        parts = [
            f"{r.method or 'any'} {r.route} error_rate={r.error_rate:g} status={r.status} latency_ms={r.latency_ms}"
            + (f" latency_rate={r.latency_rate:g}" if r.latency_rate < 1 else "")
            + (f" retry_after_s={r.retry_after_s}" if r.retry_after_s is not None else "")
            + (f" caller={r.caller}" if r.caller is not None else "")
            + (f" times={r.times}" if r.times is not None else "")
            + (f" concurrency={r.concurrency} queue={r.queue}" if r.concurrency is not None else "")
            for r in self.rules
        ]
        return f"app fault on {self.service}: " + "; ".join(parts)


@dataclass(frozen=True)
class ProcessFaultSpec:
    """A process killed, stopped or paused through the supervisor."""

    process: str
    action: ProcessAction

    def describe(self) -> str:
        """Say what this fault does in a few words."""
        return f"{self.action.value} process {self.process}"


FaultSpec = ToxicFaultSpec | DownFaultSpec | AppFaultSpec | ProcessFaultSpec


# -- the rest of the experiment -----------------------------------------------------------
@dataclass(frozen=True)
class Phase:
    """A stretch of the run with its faults (none for baseline and recovery)."""

    name: str
    duration_s: float
    faults: tuple[FaultSpec, ...] = ()


@dataclass(frozen=True)
class Tolerance:
    """What a probe's value must be: within [min, max], or equal to a boolean."""

    min: float | None = None
    max: float | None = None
    equals: bool | None = None

    def is_met(self, value: float | bool | None) -> bool:
        """Return whether ``value`` is within this tolerance (no value is never within)."""
        if value is None:
            return False
        if self.equals is not None:
            return bool(value) is self.equals
        v = float(value)
        if math.isnan(v):
            return False
        if self.min is not None and v < self.min:
            return False
        return not (self.max is not None and v > self.max)

    def describe(self) -> str:
        """Say the tolerance in a few characters, e.g. ``>= 0.95``."""
        if self.equals is not None:
            return "true" if self.equals else "false"
        if self.min is not None and self.max is not None:
            return f"{self.min:g} .. {self.max:g}"
        if self.min is not None:
            return f">= {self.min:g}"
        return f"<= {self.max:g}"


@dataclass(frozen=True)
class Probe:
    """One measurement of the steady-state hypothesis, with its tolerance."""

    kind: ProbeKind
    tolerance: Tolerance
    phase: str | None = None  # None: the whole run
    journey: str | None = None  # None: every journey
    edge: str | None = None
    request: str | None = None  # ratio/latency probes on one request name (``GET /api/v1/products``) instead of journeys
    aggregate: str = "median"  # latency probes: median | max | mean of per-second values
    threshold: float = 0.95  # time_to_recover_s: success ratio that counts as recovered
    title: str = ""
    min_samples: int = 1  # ratio and latency probes: fewer journeys than this is inconclusive
    profiles: tuple[str, ...] = ()  # the profiles this probe judges (empty: every profile)

    def applies_to(self, profile: str) -> bool:
        """Say whether this probe is part of ``profile``'s hypothesis."""
        return not self.profiles or profile in self.profiles

    @property
    def label(self) -> str:
        """Return a short unique-ish label, e.g. ``p95_ms[checkout]@fault``."""
        if self.title:
            return self.title
        target = self.journey or self.request or self.edge
        text = self.kind.value + (f"[{target}]" if target else "")
        return text + (f"@{self.phase}" if self.phase else "")


@dataclass(frozen=True)
class Guard:
    """An ``abort_if`` guard: a probe over the last ``window_s`` seconds; leaving its tolerance aborts."""

    probe: Probe
    window_s: float = 5.0


@dataclass(frozen=True)
class LoadSettings:
    """The load an experiment runs: shape, users and how fast they arrive."""

    shape: str = "steady"
    users: int = 6
    spawn_rate: float = 6.0
    rate_per_s: float | None = None  # open loop: journeys started per second (users bound the concurrency)
    decline_share: float = 0.0  # share of checkouts paying with the payment simulator's declining card
    order_timeout_s: float = 30.0  # a checkout's patience: how long it waits for its order to settle


@dataclass(frozen=True)
class QuickSettings:
    """How ``--quick`` shortens the phases."""

    phase_scale: float = 0.3
    min_phase_s: float = 5.0


@dataclass(frozen=True)
class Experiment:
    """One experiment: load, phases with faults, profiles to compare and the hypothesis."""

    name: str
    title: str
    description: str
    profiles: tuple[str, ...]
    must_hold: tuple[str, ...]
    load: LoadSettings
    phases: tuple[Phase, ...]
    hypothesis: tuple[Probe, ...]
    seed: int = 0
    settle_s: float = 3.0
    quick: QuickSettings = field(default_factory=QuickSettings)
    source: str = ""
    abort_if: tuple[Guard, ...] = ()
    # Per-profile policy overrides applied with the profile: profile -> ((dependency, key, value), ...).
    overrides: Mapping[str, tuple[tuple[str, str, Any], ...]] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def duration_s(self) -> float:
        """Return the total duration of the phases of one profile."""
        return sum(p.duration_s for p in self.phases)

    def hypothesis_for(self, profile: str) -> tuple[Probe, ...]:
        """Return the probes that judge ``profile`` (those scoped to other profiles left out)."""
        return tuple(p for p in self.hypothesis if p.applies_to(profile))

    def phase(self, name: str) -> Phase:
        """Return the phase called ``name``."""
        for p in self.phases:
            if p.name == name:
                return p
        raise KeyError(name)

    def refuse_vacuous(self) -> None:
        """Raise ExperimentInvalid when the hypothesis could pass without deciding anything."""
        if not self.hypothesis:
            raise ExperimentInvalid(self.source or self.name, "hypothesis: expected at least one probe "
                                    "(an experiment without probes passes whatever happens)")
        if not self.must_hold:
            raise ExperimentInvalid(self.source or self.name, "must_hold: expected at least one profile "
                                    "(with none, the run passes whatever happens)")

    def quickened(self) -> Experiment:
        """Return the experiment with every phase shortened for ``--quick``."""
        q = self.quick
        phases = tuple(
            replace(p, duration_s=max(q.min_phase_s, round(p.duration_s * q.phase_scale, 1))) for p in self.phases
        )
        # the quick form's phases are shorter, so it expects proportionally fewer samples (and says so)
        probes = tuple(replace(p, min_samples=max(1, int(p.min_samples * q.phase_scale))) for p in self.hypothesis)
        return replace(self, phases=phases, hypothesis=probes, settle_s=min(self.settle_s, 2.0))

    def with_profiles(self, profiles: tuple[str, ...]) -> Experiment:
        """Return the experiment restricted to other profiles (``--profiles``)."""
        for p in profiles:
            if p not in PROFILES:
                raise ExperimentInvalid(
                    self.source or self.name, f"--profiles: unknown profile {p!r} (expected one of {', '.join(PROFILES)})"
                )
        must = tuple(p for p in self.must_hold if p in profiles)
        return replace(self, profiles=profiles, must_hold=must)
