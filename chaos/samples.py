"""Hold what a run measured: per-second samples, phase windows and fault events per profile."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chaos.metrics import BrokerGauges, EdgeCounters
from loadtests.raw_samples import Bucket

OUTCOMES = ("success", "degraded", "failure")


@dataclass(frozen=True)
class LoadPoint:
    """Locust's statistics for one second of load (counts are for that second)."""

    t: float
    rps: float = 0.0
    fail_ratio: float = 0.0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    journeys: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    warming_up: bool = False  # open loop: users still spawning and signing in, no arrival due yet
    arrivals: Mapping[str, float] | None = None  # open loop: cumulative scheduled/on_time/late/dropped
    cpu_percent: float | None = None  # the busiest load process's CPU use

    @classmethod
    def from_any(cls, obj: Any) -> LoadPoint:
        """Read a load sample given as a mapping or an object with the same names."""
        if isinstance(obj, LoadPoint):
            return obj

        def get(name: str, default: Any = None) -> Any:
            if isinstance(obj, Mapping):
                return obj.get(name, default)
            return getattr(obj, name, default)

        def opt(name: str) -> float | None:
            value = get(name)
            return None if value is None else float(value)

        journeys_raw = get("journeys") or {}
        journeys: dict[str, dict[str, float]] = {}
        for name, counts in journeys_raw.items():
            if isinstance(counts, Mapping):
                journeys[str(name)] = {k: float(v) for k, v in counts.items() if isinstance(v, int | float)}
            else:
                journeys[str(name)] = {
                    k: float(getattr(counts, k)) for k in (*OUTCOMES, "p50_ms", "p95_ms", "p99_ms")
                    if isinstance(getattr(counts, k, None), int | float)
                }
        return cls(
            t=float(get("t", 0.0) or 0.0),
            rps=float(get("rps", 0.0) or 0.0),
            fail_ratio=float(get("fail_ratio", 0.0) or 0.0),
            p50_ms=opt("p50_ms"),
            p95_ms=opt("p95_ms"),
            p99_ms=opt("p99_ms"),
            journeys=journeys,
            warming_up=bool(get("warming_up", False)),
            arrivals=_arrivals(get("arrivals")),
            cpu_percent=opt("cpu_percent"),
        )

    def outcome_counts(self, journey: str | None = None) -> dict[str, float]:
        """Return success/degraded/failure counts of one journey (or all) in this second."""
        totals = dict.fromkeys(OUTCOMES, 0.0)
        for name, counts in self.journeys.items():
            if journey is None or name == journey:
                for k in OUTCOMES:
                    totals[k] += float(counts.get(k, 0.0))
        return totals

    def to_json(self) -> dict[str, Any]:
        """Return this point as plain JSON."""
        return {
            "t": self.t, "rps": self.rps, "fail_ratio": self.fail_ratio, "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms, "p99_ms": self.p99_ms,
            "journeys": {k: dict(v) for k, v in self.journeys.items()},
            "warming_up": self.warming_up, "arrivals": None if self.arrivals is None else dict(self.arrivals),
            "cpu_percent": self.cpu_percent,
        }


def _arrivals(value: Any) -> dict[str, float] | None:
    if not isinstance(value, Mapping):
        return None
    return {str(k): float(v) for k, v in value.items() if isinstance(v, int | float)}


@dataclass(frozen=True)
class Sample:
    """One second of a profile's run: the phase, Locust's stats and every edge's counters."""

    t: float
    phase: str
    load: LoadPoint | None
    edges: Mapping[str, EdgeCounters] = field(default_factory=dict)
    unreachable: tuple[str, ...] = ()
    broker: BrokerGauges | None = None  # with the broker: the order-event queue's depth and delivery lag
    loadavg_1m: float | None = None  # the machine's 1-minute load average when the sample was taken


@dataclass
class PhaseWindow:
    """When a phase ran (seconds since the profile's load started) and its faults."""

    name: str
    start_s: float
    end_s: float
    faults: tuple[str, ...] = ()


@dataclass(frozen=True)
class FaultEvent:
    """A fault applied or rolled back (or failing to be), at ``t`` seconds."""

    t: float
    phase: str
    action: str  # applied | rolled_back | apply_failed | rollback_failed | sweep | guard_fired
    fault: str
    error: str | None = None


@dataclass(frozen=True)
class AuditOutcome:
    """What the consistency audit said after the run drained."""

    clean: bool
    violations: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class ProbeResult:
    """One probe's value against its tolerance."""

    label: str
    kind: str
    value: float | bool | None
    tolerance: str
    met: bool
    detail: str = ""
    verdict: str = ""  # met | not met | inconclusive ("" : read ``met``)
    low: float | None = None  # the value's 95% interval, when it has one
    high: float | None = None
    samples: int | None = None  # how many journeys the value rests on
    more_samples: int | None = None  # about how many more would decide an inconclusive probe

    @property
    def outcome(self) -> str:
        """Return the three-valued verdict (a probe without one is met or not met)."""
        return self.verdict or ("met" if self.met else "not met")


@dataclass
class ProfileRecord:
    """Everything measured while one resilience profile ran."""

    profile: str
    must_hold: bool
    samples: list[Sample] = field(default_factory=list)
    phases: list[PhaseWindow] = field(default_factory=list)
    fault_events: list[FaultEvent] = field(default_factory=list)
    audit: AuditOutcome | None = None
    probes: list[ProbeResult] = field(default_factory=list)
    error: str | None = None
    interrupted: str | None = None
    aborted: dict[str, Any] | None = None  # the guard that fired (chaos.guards.GuardBreach as a dict)
    started_at: str = ""
    ended_at: str = ""
    wall_t0: float = 0.0  # epoch seconds when the phases' clock read 0 (raw samples are keyed by wall seconds)
    raw: dict[tuple[int, str], Bucket] = field(default_factory=dict)  # (second of intended start, journey)
    # How long a journey may still run after it was due (a checkout's patience and its steps): a
    # journey due this close to the last sample may not have ended, so judging its second by
    # start would count only the quick (successful) ones.
    journey_horizon_s: float = 0.0

    @property
    def held(self) -> bool:
        """Say whether the hypothesis held: every probe met, no error, not interrupted."""
        return self.error is None and self.interrupted is None and self.aborted is None and all(p.met for p in self.probes)

    def load_by_phase(self) -> dict[str, tuple[float, float]]:
        """Return each phase's lowest and highest 1-minute load average over its samples."""
        seen: dict[str, list[float]] = {}
        for sample in self.samples:
            if sample.loadavg_1m is not None:
                seen.setdefault(sample.phase, []).append(sample.loadavg_1m)
        return {phase: (round(min(v), 2), round(max(v), 2)) for phase, v in seen.items()}

    @property
    def rollback_clean(self) -> bool:
        """Say whether every fault was rolled back without an error."""
        return not any(e.action in ("rollback_failed",) for e in self.fault_events)
