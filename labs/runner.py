"""Put the running shop in a lab's state and run a lab's check, composing chaos's public parts.

The chaos runner switches a profile before it measures; a lab check must measure the
configuration the learner set instead, and keep the lab's standing faults (the runner
sweeps every fault first). So this module gives the runner its own seams:

- ``LiveShop``: ``set_profile`` leaves the live settings alone; the audit runs only when
  the check's hypothesis asks for it;
- ``StandingFaults``: chaos's ``ShopFaults``, whose sweep puts the lab's standing faults back;
- ``LabLoad``: chaos's Locust adapter with the lab's load knobs (user classes, buyer mix),
  keeping each run so the lab targets can read Locust's summary afterwards.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from chaos.admin import ShopAdmin
from chaos.experiment import FaultSpec, LoadSettings, ProbeKind, ToxicFaultSpec
from chaos.faults import Fault, ShopFaults
from chaos.load import PerSecondRun
from chaos.metrics import ShopMetrics
from chaos.profiles import Override, build_requests
from chaos.runner import Observer, Runner, RunnerDeps, RunRecord, SystemClock
from chaos.samples import AuditOutcome, ProbeResult
from chaos.toxiproxy import ToxiproxyClient
from chaos.wiring import run_shop_audit
from labs.errors import LabSetupFailed
from labs.model import Lab, Measure, Settings, Target
from loadtests.api import LoadSpec, start_load

DEFAULT_SETTINGS = Settings("resilient", {})


# -- live settings ------------------------------------------------------------------------------
def settings_bodies(topology: Any, settings: Settings) -> dict[str, dict[str, Any]]:
    """Return each service's ``PUT /admin/resilience`` body; an override reaches every caller of its dependency."""
    flat = [(dep, key, value) for dep, values in settings.overrides.items() for key, value in values.items()]
    return build_requests(topology, settings.profile, flat, topology.service_names)


def apply_settings(stack: Any, settings: Settings, *, fresh: bool = True) -> None:
    """Set the profile and overrides on every service; ``fresh`` rebuilds every breaker, bulkhead and budget."""
    topology = stack.topology
    bodies = settings_bodies(topology, settings)
    with httpx.Client(headers=stack.admin_headers(), timeout=5.0) as http:
        for service, body in bodies.items():
            url = topology.service_url(service) + "/admin/resilience"
            if fresh:
                # a policy that does not change keeps its parts (an open breaker too): switch away first
                http.put(url, json={"profile": "naive", "overrides": {}}).raise_for_status()
            http.put(url, json=body).raise_for_status()


def get_live_settings(stack: Any) -> dict[str, dict[str, Any]]:
    """Return each service's live profile and overrides."""
    topology = stack.topology
    out = {}
    with httpx.Client(headers=stack.admin_headers(), timeout=5.0) as http:
        for service in topology.service_names:
            data = http.get(topology.service_url(service) + "/admin/resilience").raise_for_status().json()
            out[service] = {"profile": data.get("profile"), "overrides": data.get("overrides", {})}
    return out


@contextlib.contextmanager
def shop_faults(stack: Any) -> Iterator[ShopFaults]:
    """Yield chaos's fault factory on the running stack, closing its clients afterwards."""
    toxiproxy = ToxiproxyClient(stack.topology.toxiproxy_url)
    admin = ShopAdmin(stack.topology, stack.admin_token)
    try:
        yield ShopFaults(toxiproxy, admin, stack, topology=stack.topology)
    finally:
        admin.close()
        toxiproxy.close()


def apply_faults(factory: ShopFaults, faults: Sequence[FaultSpec]) -> list[Fault]:
    """Apply standing faults; return them applied."""
    applied = []
    for spec in faults:
        fault = factory.build(spec)
        fault.apply()
        applied.append(fault)
    return applied


def put_in_state(stack: Any, settings: Settings, faults: Sequence[FaultSpec] = ()) -> list[str]:
    """Sweep every fault, set ``settings``, apply ``faults``; return what was done, one line each."""
    done = []
    with shop_faults(stack) as factory:
        problems = factory.sweep()
        if problems:
            raise LabSetupFailed("could not clear the faults: " + "; ".join(problems))
        done.append("removed every toxic and app-level fault, enabled every edge")
        apply_settings(stack, settings)
        done.append(f"profile {settings.profile} on every service"
                    + (f", overrides {' '.join(a.split()[1] for a in settings.override_args())}"
                       if settings.overrides else ", no overrides"))
        for fault in apply_faults(factory, faults):
            done.append(f"fault: {fault.description}")
    return done


def start_lab(stack: Any, lab: Lab) -> list[str]:
    """Put the shop in the lab's starting state."""
    return put_in_state(stack, lab.start, lab.faults)


def reset_shop(stack: Any) -> list[str]:
    """Return the shop to its default: profile resilient, no overrides, no toxics, no app faults."""
    return put_in_state(stack, DEFAULT_SETTINGS, ())


# -- the runner's seams ---------------------------------------------------------------------------
class LiveShop:
    """Keep the live settings (the learner's) and audit only when asked."""

    def __init__(self, stack: Any, *, audit: bool) -> None:
        self.stack = stack
        self.audit_wanted = audit

    def set_profile(self, profile: str, overrides: Sequence[Override] = ()) -> None:
        """Leave the live settings alone: the check measures what the learner set."""

    def audit(self) -> AuditOutcome:
        """Drain and audit through ``chaos.wiring`` when the hypothesis needs it."""
        if not self.audit_wanted:
            return AuditOutcome(True, (), "not audited (the check does not need it)")
        return run_shop_audit(self.stack)


class StandingFaults:
    """chaos's fault factory whose sweep re-applies the lab's standing faults (but not ``healed`` ones)."""

    def __init__(self, inner: ShopFaults, standing: Sequence[FaultSpec]) -> None:
        self.inner = inner
        self.standing = tuple(standing)

    def build(self, spec: FaultSpec) -> Fault:
        """Return the live fault for one spec."""
        return self.inner.build(spec)

    def sweep(self) -> list[str]:
        """Remove every fault, then put the standing ones back; return problems."""
        problems = self.inner.sweep()
        for spec in self.standing:
            try:
                self.inner.build(spec).apply()
            except Exception as exc:  # a sweep reports, it does not raise
                problems.append(f"re-applying {spec.describe()} failed: {exc}")
        return problems


class LabLoad:
    """Start Locust against the gateway with the lab's knobs; keep each run for its summary."""

    def __init__(self, gateway_url: str, out_root: Path, knobs: Mapping[str, Any]) -> None:
        self.gateway_url = gateway_url
        self.out_root = Path(out_root)
        self.knobs = dict(knobs)
        self.out_dirs: list[Path] = []

    def start(self, settings: LoadSettings, *, duration_s: float, seed: int, label: str) -> PerSecondRun:
        """Start a bounded run (it stops by itself after ``duration_s``)."""
        spec = LoadSpec(host=self.gateway_url, shape=settings.shape, users=settings.users,
                        spawn_rate=settings.spawn_rate, duration_s=duration_s, seed=seed or 1, **self.knobs)
        out = self.out_root / f"locust-{label}"
        self.out_dirs.append(out)
        return PerSecondRun(start_load(spec, out_dir=out))

    def summary(self) -> dict[str, Any] | None:
        """Return Locust's summary of the last run (None when it wrote none)."""
        if not self.out_dirs:
            return None
        path = self.out_dirs[-1] / "summary.json"
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return data


# -- lab targets -------------------------------------------------------------------------------------
_ROUTE_KEYS = {Measure.ROUTE_P50_MS: "p50_ms", Measure.ROUTE_P95_MS: "p95_ms", Measure.ROUTE_FAIL_RATIO: "fail_ratio"}


def measure_target(target: Target, summary: Mapping[str, Any] | None, answer: str | None) -> ProbeResult:
    """Measure one lab target on Locust's summary (or the answer) and compare it."""
    value: float | str | None = None
    detail = ""
    if target.measure is Measure.ANSWER:
        value = answer
        detail = "no answer given (--answer EDGE)" if answer is None else (
            "right" if answer == target.expected else "not the slow edge")
    elif summary is None:
        detail = "Locust wrote no summary"
    elif target.measure in _ROUTE_KEYS:
        assert target.route is not None
        method, _, name = target.route.partition(" ")
        entry = next((r for r in summary.get("routes", []) if r.get("method") == method and r.get("name") == name),
                     None)
        if entry is None or not entry.get("requests"):
            detail = f"no {target.route} requests in the load"
        else:
            value = float(entry[_ROUTE_KEYS[target.measure]])
            detail = (f"{entry['requests']} requests, {entry['failures']} failed, "
                      f"p50 {entry['p50_ms']} ms, p95 {entry['p95_ms']} ms")
    else:
        assert target.journey is not None
        j = summary.get("journeys", {}).get(target.journey)
        if not j or not j.get("total"):
            detail = f"no {target.journey} journeys in the load"
        elif target.measure is Measure.JOURNEY_P95_MS:
            value = float(j["p95_ms"])
            detail = f"{j['total']:g} journeys, p50 {j['p50_ms']:g} ms"
        else:
            value = (float(j["success"]) + float(j["degraded"])) / float(j["total"])
            detail = f"{j['success'] + j['degraded']:g} of {j['total']:g} not failed ({j['degraded']:g} degraded)"
    if isinstance(value, float):
        value = round(value, 4)
    met = target.is_met(value)
    shown: float | bool | None = value if not isinstance(value, str) else None
    if isinstance(value, str):
        detail = f"{value}: {detail}"
    return ProbeResult(target.label, target.measure.value, shown, target.describe(), met, detail)


@dataclass
class CheckResult:
    """A lab check: the run record, each measured result and the verdict."""

    lab: Lab
    record: RunRecord
    results: list[ProbeResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Say whether every probe and target was met and the run had no error."""
        return not self.problems and bool(self.results) and all(r.met for r in self.results)


def check_stack_ready(stack: Any) -> list[str]:
    """Return the processes that are not up (a check on a broken shop measures nothing useful)."""
    return [f"{s.name} is {s.state.lower()}" for s in stack.status() if not s.is_up]


def run_check(stack: Any, lab: Lab, *, quick: bool, out_dir: Path, answer: str | None = None,
              observers: Sequence[Observer] = ()) -> CheckResult:
    """Run the lab's check experiment on the live settings and measure every target."""
    exp = lab.quick_experiment() if quick else lab.check.experiment
    needs_audit = any(p.kind is ProbeKind.AUDIT_CLEAN for p in exp.hypothesis)
    standing = list(lab.faults)
    if answer is not None:
        # lab 01's measured confirmation: the edge the learner named is healed for the check
        standing = [f for f in standing if not (isinstance(f, ToxicFaultSpec) and f.edge == answer)]
    topology = stack.topology
    load = LabLoad(topology.service_url("gateway"), out_dir / "load", lab.check.load)
    metrics = ShopMetrics(topology)
    with shop_faults(stack) as factory:
        deps = RunnerDeps(clock=SystemClock(), faults=StandingFaults(factory, standing),
                          shop=LiveShop(stack, audit=needs_audit), metrics=metrics, load=load,
                          observers=observers, run_audit=True)
        try:
            record = Runner(exp, deps).run()
        finally:
            metrics.close()
            if answer is not None:
                # put the lab back as it stood: healing was only for the measurement
                with contextlib.suppress(Exception):
                    StandingFaults(factory, lab.faults).sweep()
    record.quick = quick
    result = CheckResult(lab, record)
    pr = record.profiles[0] if record.profiles else None
    if pr is None:
        result.problems.append("the check did not run")
    else:
        if pr.error:
            result.problems.append(pr.error)
        result.results.extend(pr.probes)
    if record.interrupted:
        result.problems.append(f"interrupted by {record.interrupted}")
    summary = load.summary()
    measured = [measure_target(t, summary, answer) for t in lab.check.targets]
    result.results.extend(measured)
    if pr is not None:
        pr.probes.extend(measured)  # the report, journal and junit show the lab targets too
    return result
