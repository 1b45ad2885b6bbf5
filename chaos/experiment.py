"""Load an experiment from YAML into frozen dataclasses, refusing a bad file up front.

Every problem is reported as ``ExperimentInvalid`` naming the key path (e.g.
``phases[1].faults[0].toxicity``) and what was expected, before anything starts.
The schema, by example::

    title: Catalog resets a share of its connections
    description: ...
    seed: 7
    profiles: [naive, resilient]
    must_hold: [resilient]            # default: every profile
    load: {shape: steady, users: 6, spawn_rate: 6}
    quick: {phase_scale: 0.3, min_phase_s: 5}
    phases:
      - {name: baseline, duration_s: 15}
      - name: fault
        duration_s: 30
        faults:
          - {kind: toxic, edge: gateway__catalog, type: reset_peer, toxicity: 0.3}
          - {kind: down, edge: gateway__recommendations}
          - {kind: app, service: payments, route: /charges, method: POST, error_rate: 0.5, status: 503}
          - {kind: process, process: orders-worker, action: kill}
      - {name: recovery, duration_s: 15}
    hypothesis:
      - {probe: success_ratio, phase: fault, tolerance: {min: 0.95}}
      - {probe: retry_amplification, edge: cart__catalog, phase: fault, tolerance: {max: 1.3}}
      - {probe: breaker_opened, edge: gateway__catalog, phase: fault, tolerance: true}
      - {probe: audit_clean, tolerance: true}
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from chaos.admin import PROFILES, AppFaultRule
from chaos.errors import ExperimentInvalid
from chaos.toxiproxy import TOXIC_TYPES, Stream, ToxicSpec, make_toxic, toxic_fields
from shop.topology import DEFAULT as DEFAULT_TOPOLOGY
from shop.topology import Topology

LOAD_SHAPES = ("steady", "step", "spike", "soak")
WORKER_PROCESS = "orders-worker"


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


BOOLEAN_PROBES = {ProbeKind.BREAKER_OPENED, ProbeKind.BREAKER_CLOSED, ProbeKind.AUDIT_CLEAN}
EDGE_PROBES = {ProbeKind.RETRY_AMPLIFICATION, ProbeKind.BREAKER_OPENED, ProbeKind.BREAKER_CLOSED}
LATENCY_PROBES = {ProbeKind.P50_MS, ProbeKind.P95_MS, ProbeKind.P99_MS}


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
    rules: tuple[AppFaultRule, ...]

    def describe(self) -> str:
        """Say what this fault does in a few words."""
        parts = [
            f"{r.method or 'any'} {r.route} error_rate={r.error_rate:g} status={r.status} latency_ms={r.latency_ms}"
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
    aggregate: str = "median"  # latency probes: median | max | mean of per-second values
    threshold: float = 0.95  # time_to_recover_s: success ratio that counts as recovered
    title: str = ""

    @property
    def label(self) -> str:
        """Return a short unique-ish label, e.g. ``p95_ms[checkout]@fault``."""
        if self.title:
            return self.title
        target = self.journey or self.edge
        text = self.kind.value + (f"[{target}]" if target else "")
        return text + (f"@{self.phase}" if self.phase else "")


@dataclass(frozen=True)
class LoadSettings:
    """The load an experiment runs: shape, users and how fast they arrive."""

    shape: str = "steady"
    users: int = 6
    spawn_rate: float = 6.0


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
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def duration_s(self) -> float:
        """Return the total duration of the phases of one profile."""
        return sum(p.duration_s for p in self.phases)

    def phase(self, name: str) -> Phase:
        """Return the phase called ``name``."""
        for p in self.phases:
            if p.name == name:
                return p
        raise KeyError(name)

    def quickened(self) -> Experiment:
        """Return the experiment with every phase shortened for ``--quick``."""
        q = self.quick
        phases = tuple(
            replace(p, duration_s=max(q.min_phase_s, round(p.duration_s * q.phase_scale, 1))) for p in self.phases
        )
        return replace(self, phases=phases, settle_s=min(self.settle_s, 2.0))

    def with_profiles(self, profiles: tuple[str, ...]) -> Experiment:
        """Return the experiment restricted to other profiles (``--profiles``)."""
        for p in profiles:
            if p not in PROFILES:
                raise ExperimentInvalid(self.source or self.name, f"--profiles: unknown profile {p!r} (expected one of {', '.join(PROFILES)})")
        must = tuple(p for p in self.must_hold if p in profiles)
        return replace(self, profiles=profiles, must_hold=must)


# -- validation ---------------------------------------------------------------------------
class _Reader:
    """Read one mapping of the YAML, naming the key path in every complaint."""

    def __init__(self, source: str, data: Any, path: str) -> None:
        self.source = source
        self.path = path
        if not isinstance(data, Mapping):
            self.fail(path or "(top level)", f"expected a mapping, got {_kind(data)}")
        self.data: Mapping[str, Any] = data
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, key: str, message: str) -> None:
        raise ExperimentInvalid(self.source, f"{key}: {message}")

    def has(self, name: str) -> bool:
        return name in self.data

    def get(self, name: str, default: Any = ..., *, required: bool = False) -> Any:
        self.used.add(name)
        if name not in self.data:
            if required or default is ...:
                self.fail(self.key(name), "is required")
            return default
        return self.data[name]

    def string(self, name: str, default: Any = ..., *, choices: tuple[str, ...] | None = None) -> Any:
        value = self.get(name, default)
        if value is default and default is not ...:
            return value
        if not isinstance(value, str) or not value.strip():
            self.fail(self.key(name), f"expected a non-empty string, got {_kind(value)}")
        if choices is not None and value not in choices:
            self.fail(self.key(name), f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def number(self, name: str, default: Any = ..., *, low: float | None = None, high: float | None = None,
               integer: bool = False) -> Any:
        value = self.get(name, default)
        if value is default and default is not ...:
            return value
        want = "an integer" if integer else "a number"
        if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
            self.fail(self.key(name), f"expected {want}, got {_kind(value)}")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"within {low:g}..{high:g}" if low is not None and high is not None else (
                f">= {low:g}" if low is not None else f"<= {high:g}")
            self.fail(self.key(name), f"expected {want} {bounds}, got {value!r}")
        return value

    def seq(self, name: str, default: Any = ...) -> Any:
        value = self.get(name, default)
        if value is default and default is not ...:
            return value
        if not isinstance(value, list):
            self.fail(self.key(name), f"expected a list, got {_kind(value)}")
        return value

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            self.fail(self.key(unknown[0]), f"unknown key (expected one of {', '.join(sorted(self.used))})")


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _parse_fault(source: str, data: Any, path: str, topology: Topology) -> FaultSpec:
    r = _Reader(source, data, path)
    kind = r.string("kind", choices=("toxic", "down", "app", "process"))
    edges = tuple(e.proxy_name for e in topology.edges)
    spec: FaultSpec
    if kind in ("toxic", "down"):
        edge = r.string("edge", choices=edges)
        if kind == "down":
            spec = DownFaultSpec(edge)
        else:
            toxic_type = r.string("type", choices=tuple(TOXIC_TYPES))
            stream = r.string("stream", "downstream", choices=tuple(s.value for s in Stream))
            toxicity = r.number("toxicity", 1.0, low=0.0, high=1.0)
            attrs_r = _Reader(source, r.get("attributes", {}), r.key("attributes"))
            kwargs: dict[str, Any] = {}
            for fname, required in toxic_fields(toxic_type).items():
                if required or attrs_r.has(fname):
                    kwargs[fname] = attrs_r.number(fname, low=0, integer=True)
            attrs_r.done()
            toxic_name = r.string("name", None)
            spec = ToxicFaultSpec(edge, make_toxic(toxic_type, stream=Stream(stream), toxicity=float(toxicity),
                                                    name=toxic_name, **kwargs))
    elif kind == "app":
        service = r.string("service", choices=topology.service_names)
        rule = AppFaultRule(
            route=r.string("route"),
            method=r.string("method", None, choices=("GET", "POST", "PUT", "DELETE", "PATCH")),
            error_rate=float(r.number("error_rate", 0.0, low=0.0, high=1.0)),
            status=int(r.number("status", 503, low=400, high=599, integer=True)),
            latency_ms=int(r.number("latency_ms", 0, low=0, integer=True)),
        )
        spec = AppFaultSpec(service, (rule,))
    else:
        process = r.string("process", choices=(*topology.service_names, WORKER_PROCESS))
        action = r.string("action", choices=tuple(a.value for a in ProcessAction))
        spec = ProcessFaultSpec(process, ProcessAction(action))
    r.done()
    return spec


def _merge_app_faults(faults: list[FaultSpec]) -> tuple[FaultSpec, ...]:
    """Merge app faults on one service: the admin API replaces a service's whole list."""
    merged: list[FaultSpec] = []
    by_service: dict[str, int] = {}
    for f in faults:
        if isinstance(f, AppFaultSpec) and f.service in by_service:
            i = by_service[f.service]
            prev = merged[i]
            assert isinstance(prev, AppFaultSpec)
            merged[i] = AppFaultSpec(f.service, prev.rules + f.rules)
            continue
        if isinstance(f, AppFaultSpec):
            by_service[f.service] = len(merged)
        merged.append(f)
    return tuple(merged)


def _parse_tolerance(source: str, kind: ProbeKind, data: Any, key: str) -> Tolerance:
    if kind in BOOLEAN_PROBES:
        if not isinstance(data, bool):
            raise ExperimentInvalid(source, f"{key}: expected true or false for probe {kind.value}, got {_kind(data)}")
        return Tolerance(equals=data)
    r = _Reader(source, data, key)
    low = r.number("min", None)
    high = r.number("max", None)
    r.done()
    if low is None and high is None:
        r.fail(key, "expected min and/or max")
    if low is not None and high is not None and low > high:
        r.fail(key, f"expected min <= max, got {low} > {high}")
    return Tolerance(min=None if low is None else float(low), max=None if high is None else float(high))


def _parse_probe(source: str, data: Any, path: str, phases: tuple[str, ...], topology: Topology) -> Probe:
    r = _Reader(source, data, path)
    kind = ProbeKind(r.string("probe", choices=tuple(k.value for k in ProbeKind)))
    phase = r.string("phase", None, choices=phases)
    journey = r.string("journey", None)
    if journey is not None and kind not in (ProbeKind.SUCCESS_RATIO, ProbeKind.DEGRADED_RATIO, *LATENCY_PROBES):
        r.fail(r.key("journey"), f"is not used by probe {kind.value}")
    edge = None
    if kind in EDGE_PROBES:
        edge = r.string("edge", choices=tuple(e.proxy_name for e in topology.edges))
    aggregate = "median"
    if kind in LATENCY_PROBES:
        aggregate = r.string("aggregate", "median", choices=("median", "max", "mean"))
    threshold = 0.95
    if kind == ProbeKind.TIME_TO_RECOVER_S:
        threshold = float(r.number("threshold", 0.95, low=0.0, high=1.0))
        if phase is None:
            r.fail(r.key("phase"), "is required for time_to_recover_s (the fault phase to recover from)")
    tolerance = _parse_tolerance(source, kind, r.get("tolerance", required=True), r.key("tolerance"))
    title = r.string("title", "")
    r.done()
    return Probe(kind, tolerance, phase=phase, journey=journey, edge=edge, aggregate=aggregate,
                 threshold=threshold, title=title)


def parse_experiment(data: Any, *, source: str = "<experiment>", name: str | None = None,
                     topology: Topology = DEFAULT_TOPOLOGY) -> Experiment:
    """Validate a parsed YAML document and return the experiment; raise ExperimentInvalid."""
    r = _Reader(source, data, "")
    exp_name = r.string("name", name or "experiment")
    title = r.string("title")
    description = r.string("description", "")
    seed = int(r.number("seed", 0, integer=True))
    settle_s = float(r.number("settle_s", 3.0, low=0.0))

    profiles_raw = r.seq("profiles")
    if not profiles_raw:
        r.fail("profiles", f"expected at least one of {', '.join(PROFILES)}")
    for i, p in enumerate(profiles_raw):
        if p not in PROFILES:
            r.fail(f"profiles[{i}]", f"expected one of {', '.join(PROFILES)}, got {p!r}")
    if len(set(profiles_raw)) != len(profiles_raw):
        r.fail("profiles", "expected each profile once")
    profiles = tuple(profiles_raw)
    must_raw = r.seq("must_hold", list(profiles))
    for i, p in enumerate(must_raw):
        if p not in profiles:
            r.fail(f"must_hold[{i}]", f"expected one of the experiment's profiles ({', '.join(profiles)}), got {p!r}")
    must_hold = tuple(must_raw)

    lr = _Reader(source, r.get("load", {}), "load")
    load = LoadSettings(
        shape=lr.string("shape", "steady", choices=LOAD_SHAPES),
        users=int(lr.number("users", 6, low=1, high=200, integer=True)),
        spawn_rate=float(lr.number("spawn_rate", 6.0, low=0.1)),
    )
    lr.done()
    qr = _Reader(source, r.get("quick", {}), "quick")
    quick = QuickSettings(
        phase_scale=float(qr.number("phase_scale", 0.3, low=0.01, high=1.0)),
        min_phase_s=float(qr.number("min_phase_s", 5.0, low=1.0)),
    )
    qr.done()

    phases_raw = r.seq("phases")
    if not phases_raw:
        r.fail("phases", "expected at least one phase")
    phases: list[Phase] = []
    for i, raw in enumerate(phases_raw):
        pr = _Reader(source, raw, f"phases[{i}]")
        pname = pr.string("name")
        if any(p.name == pname for p in phases):
            pr.fail(pr.key("name"), f"expected a unique phase name, {pname!r} is used twice")
        duration = float(pr.number("duration_s", low=1.0, high=3600.0))
        faults_raw = pr.seq("faults", [])
        faults = [_parse_fault(source, f, f"phases[{i}].faults[{j}]", topology) for j, f in enumerate(faults_raw)]
        pr.done()
        phases.append(Phase(pname, duration, _merge_app_faults(faults)))
    phase_names = tuple(p.name for p in phases)

    hyp_raw = r.seq("hypothesis", [])
    hypothesis = tuple(
        _parse_probe(source, h, f"hypothesis[{i}]", phase_names, topology) for i, h in enumerate(hyp_raw)
    )
    r.done()
    return Experiment(
        name=exp_name, title=title, description=description.strip(), profiles=profiles, must_hold=must_hold,
        load=load, phases=tuple(phases), hypothesis=hypothesis, seed=seed, settle_s=settle_s, quick=quick,
        source=source, raw=dict(data),
    )


def load_experiment(path: str | Path, *, topology: Topology = DEFAULT_TOPOLOGY) -> Experiment:
    """Read and validate one experiment file; raise ExperimentInvalid naming the key at fault."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ExperimentInvalid(str(p), f"cannot read the file: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ExperimentInvalid(str(p), f"is not valid YAML: {exc}") from exc
    return parse_experiment(data, source=str(p), name=p.stem, topology=topology)


EXPERIMENTS_DIR = Path(__file__).resolve().parent / "experiments"


def resolve_experiment_path(name_or_path: str) -> Path:
    """Return the file for a path or a shipped experiment's name (``catalog-reset-peer``)."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    shipped = EXPERIMENTS_DIR / f"{name_or_path.removesuffix('.yaml')}.yaml"
    if shipped.is_file():
        return shipped
    known = ", ".join(sorted(f.stem for f in EXPERIMENTS_DIR.glob("*.yaml")))
    raise ExperimentInvalid(name_or_path, f"no such file, and no shipped experiment of that name (shipped: {known})")
