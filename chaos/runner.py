"""Run an experiment: per profile, switch it, load the shop, play the phases, always roll back.

The runner only sees its seams (clock, faults, shop control, metrics, load,
observers), so unit tests drive it with a fake clock and fake faults; the real
adapters are wired in ``chaos.wiring``. For each profile:

1. sweep leftovers, switch the profile on every service, let it settle;
2. start the load, then for each phase apply its faults, sample each second
   (every edge's metrics + Locust's latest second) and roll the faults back, in
   reverse order, when the phase ends;
3. stop the load, drain and audit, evaluate the hypothesis.

While a phase's faults are on, the experiment's ``abort_if`` guards (``chaos.guards``)
are checked after every sample; the first breach rolls back every fault at once and
ends the profile as aborted (not a pass); the next profile still runs.

Rollback always runs: on a failed fault, an exception, Ctrl-C or SIGTERM (the
rollback itself is shielded from further signals). An interruption stops the
remaining profiles but the record is still returned for the report.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from chaos.errors import ChaosError, RunInterrupted
from chaos.experiment import Experiment, LoadSettings
from chaos.faults import Fault, FaultFactory
from chaos.guards import GuardFired, check_guards
from chaos.load_limits import generator_report
from chaos.metrics import MetricsSnapshot
from chaos.probes import evaluate_hypothesis
from chaos.profiles import Override, format_override
from chaos.samples import AuditOutcome, FaultEvent, LoadPoint, PhaseWindow, ProfileRecord, Sample
from chaos.signals import signals_deferred
from loadtests.raw_samples import Bucket

# Seconds a checkout spends before it polls its order (catalog, product page, cart, checkout):
# with the load's order_timeout_s, how long after it was due a journey may still end.
JOURNEY_STEPS_S = 5.0


class Clock(Protocol):
    """Monotonic time and sleeping (fake in unit tests)."""

    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """Return monotonic seconds."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Sleep (the runner paces its samples; this is not a test wait)."""
        if seconds > 0:
            time.sleep(seconds)


class LoadRun(Protocol):
    """A running load (``loadtests.api``'s run)."""

    def latest(self) -> Any: ...
    def stop(self) -> None: ...


class LoadDriver(Protocol):
    """Start load for one profile."""

    def start(self, settings: LoadSettings, *, duration_s: float, seed: int, label: str) -> LoadRun: ...


class MetricsSource(Protocol):
    """Read every edge's resilience counters now."""

    def scrape(self) -> MetricsSnapshot: ...


class ShopControl(Protocol):
    """Switch the shop's resilience profile, and audit it once drained."""

    def set_profile(self, profile: str, overrides: Sequence[Override] = ()) -> None: ...
    def audit(self) -> AuditOutcome: ...


@dataclass(frozen=True)
class RunEvent:
    """Something observers may show: profile/phase started, a sample, a fault event."""

    kind: str  # profile_started | phase_started | sample | fault | profile_done | note
    profile: str
    phase: str = ""
    message: str = ""
    sample: Sample | None = None
    record: ProfileRecord | None = None


Observer = Callable[[RunEvent], None]


@dataclass
class RunnerDeps:
    """The runner's seams."""

    clock: Clock
    faults: FaultFactory
    shop: ShopControl
    metrics: MetricsSource
    load: LoadDriver
    observers: Sequence[Observer] = ()
    sample_interval_s: float = 1.0
    run_audit: bool = True
    load_start_timeout_s: float = 150.0  # Locust's start plus an open-loop warm-up (users sign in first)
    wall_s: Callable[[], float] = time.time  # epoch seconds: the load keys its raw samples by them
    # The machine's 1-minute load average, recorded with every sample: a figure states the machine it came from.
    load_average: Callable[[], float] = lambda: os.getloadavg()[0]  # noqa: E731


@dataclass
class RunRecord:
    """A whole run: every profile's record, and whether it was interrupted."""

    experiment: Experiment
    profiles: list[ProfileRecord] = field(default_factory=list)
    started_at: str = ""
    ended_at: str = ""
    interrupted: str | None = None
    quick: bool = False

    @property
    def passed(self) -> bool:
        """Say whether every profile whose hypothesis must hold ran and held."""
        if self.interrupted or any(p.aborted for p in self.profiles):
            return False
        ran = {p.profile: p for p in self.profiles}
        return all(name in ran and ran[name].held for name in self.experiment.must_hold)


def utc_now() -> str:
    """Return the current UTC time in ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class Runner:
    """Play one experiment through its seams."""

    def __init__(self, experiment: Experiment, deps: RunnerDeps) -> None:
        self.experiment = experiment
        self.deps = deps

    def _emit(self, event: RunEvent) -> None:
        for observer in self.deps.observers:
            try:
                observer(event)
            except Exception:  # an observer never breaks a run
                pass

    def run(self) -> RunRecord:
        """Run every profile in turn and return the record (also when interrupted)."""
        record = RunRecord(self.experiment, started_at=utc_now())
        try:
            for profile in self.experiment.profiles:
                record.profiles.append(ProfileRecord(profile, profile in self.experiment.must_hold))
                self.run_profile(record.profiles[-1])
        except (RunInterrupted, KeyboardInterrupt) as exc:
            record.interrupted = exc.signal_name if isinstance(exc, RunInterrupted) else "SIGINT"
        record.ended_at = utc_now()
        return record

    def run_profile(self, pr: ProfileRecord) -> None:
        """Run one profile into ``pr``; re-raise an interruption after rolling back."""
        exp, deps, clock = self.experiment, self.deps, self.deps.clock
        pr.started_at = utc_now()
        applied: list[tuple[str, Fault]] = []
        load_run: LoadRun | None = None
        t0 = clock.monotonic()
        tuned = ", ".join(format_override(o) for o in exp.overrides.get(pr.profile, ()))
        self._emit(RunEvent("profile_started", pr.profile, message=f"profile {pr.profile}"
                            + (f" with {tuned}" if tuned else "")))
        try:
            self._sweep(pr, t0, "before")
            deps.shop.set_profile(pr.profile, exp.overrides.get(pr.profile, ()))
            clock.sleep(exp.settle_s)
            load_run = deps.load.start(exp.load, duration_s=exp.duration_s + 10, seed=exp.seed, label=pr.profile)
            self._wait_for_load(load_run)
            t0 = clock.monotonic()
            pr.wall_t0 = deps.wall_s()
            pr.journey_horizon_s = exp.load.order_timeout_s + JOURNEY_STEPS_S
            for phase in exp.phases:
                start = clock.monotonic() - t0
                window = PhaseWindow(phase.name, start, start + phase.duration_s,
                                     tuple(f.describe() for f in phase.faults))
                pr.phases.append(window)
                self._emit(RunEvent("phase_started", pr.profile, phase.name,
                                    message=", ".join(window.faults) or "no faults"))
                phase_faults: list[tuple[str, Fault]] = []
                for spec in phase.faults:
                    fault = deps.faults.build(spec)
                    # Registered before apply: a half-applied fault is rolled back too.
                    applied.append((phase.name, fault))
                    phase_faults.append((phase.name, fault))
                    fault.apply()
                    self._fault_event(pr, t0, phase.name, "applied", fault.description)
                self._sample_until(pr, load_run, t0, phase.name, t0 + window.end_s, guarded=bool(phase_faults))
                self._rollback(pr, t0, phase_faults, applied)
                window.end_s = clock.monotonic() - t0
            self._take_sample(pr, load_run, t0, exp.phases[-1].name)
            load_run.stop()
            pr.raw = read_raw_samples(load_run)
            # profiles are compared on the same offered load only: refuse one whose generator fell behind
            pr.error = pr.error or generator_report(pr, exp.load).behind
            load_run = None
            if deps.run_audit:
                self._emit(RunEvent("note", pr.profile, message="draining and auditing"))
                pr.audit = deps.shop.audit()
        except (RunInterrupted, KeyboardInterrupt) as exc:
            pr.interrupted = exc.signal_name if isinstance(exc, RunInterrupted) else "SIGINT"
            raise
        except GuardFired as exc:  # the finally below rolls every fault back at once
            pr.aborted = asdict(exc.breach)
            pr.phases[-1].end_s = clock.monotonic() - t0  # the phase ended here, not when planned
            self._fault_event(pr, t0, exc.breach.phase, "guard_fired", exc.breach.guard, exc.breach.describe())
        except Exception as exc:
            pr.error = f"{type(exc).__name__}: {exc}"
            self._emit(RunEvent("note", pr.profile, message=f"error: {pr.error}"))
        finally:
            with signals_deferred():
                self._rollback(pr, t0, list(applied), applied)
                if not pr.rollback_clean or pr.error or pr.interrupted:
                    self._sweep(pr, t0, "after")
                if load_run is not None:
                    try:
                        load_run.stop()
                    except Exception as exc:  # the rollback goes on; the failure is recorded
                        pr.error = pr.error or f"stopping the load failed: {exc!r}"
            pr.probes = evaluate_hypothesis(exp.hypothesis_for(pr.profile), pr)
            pr.ended_at = utc_now()
            self._emit(RunEvent("profile_done", pr.profile, record=pr))

    # -- helpers ------------------------------------------------------------------------------
    def _wait_for_load(self, load_run: LoadRun) -> None:
        """Start the phases once Locust reports its first second after its warm-up (users spawned and signed in)."""
        clock = self.deps.clock
        deadline = clock.monotonic() + self.deps.load_start_timeout_s
        while (point := load_run.latest()) is None or getattr(point, "warming_up", False):
            if clock.monotonic() >= deadline:
                what = "nothing" if point is None else "the end of its warm-up"
                raise ChaosError(f"the load reported {what} within {self.deps.load_start_timeout_s:.0f} s")
            clock.sleep(0.25)

    def _fault_event(self, pr: ProfileRecord, t0: float, phase: str, action: str, fault: str,
                     error: str | None = None) -> None:
        event = FaultEvent(round(self.deps.clock.monotonic() - t0, 3), phase, action, fault, error)
        pr.fault_events.append(event)
        self._emit(RunEvent("fault", pr.profile, phase, message=f"{action}: {fault}" + (f" ({error})" if error else "")))

    def _rollback(self, pr: ProfileRecord, t0: float, faults: list[tuple[str, Fault]],
                  applied: list[tuple[str, Fault]]) -> int:
        """Roll back ``faults`` in reverse order, removing each from ``applied``; return failures."""
        failed = 0
        for phase, fault in reversed(faults):
            try:
                fault.rollback()
                self._fault_event(pr, t0, phase, "rolled_back", fault.description)
            except Exception as exc:  # keep rolling back the others
                failed += 1
                self._fault_event(pr, t0, phase, "rollback_failed", fault.description, repr(exc))
            if (phase, fault) in applied:
                applied.remove((phase, fault))
        return failed

    def _sweep(self, pr: ProfileRecord, t0: float, when: str) -> None:
        try:
            problems = self.deps.faults.sweep()
        except Exception as exc:  # a sweep is a safety net; record and go on
            problems = [repr(exc)]
        self._fault_event(pr, t0, "", "sweep", f"sweep {when}", "; ".join(problems) or None)

    def _take_sample(self, pr: ProfileRecord, load_run: LoadRun, t0: float, phase: str) -> Sample:
        t = round(self.deps.clock.monotonic() - t0, 3)
        try:
            snapshot = self.deps.metrics.scrape()
        except Exception:  # a failed scrape is a gap in the chart, not a failed run
            snapshot = MetricsSnapshot()
        try:
            raw = load_run.latest()
            point = None if raw is None else LoadPoint.from_any(raw)
        except Exception:
            point = None
        sample = Sample(t, phase, point, dict(snapshot.edges), tuple(snapshot.unreachable), snapshot.broker,
                        round(self.deps.load_average(), 2))
        pr.samples.append(sample)
        self._emit(RunEvent("sample", pr.profile, phase, sample=sample))
        return sample

    def _sample_until(self, pr: ProfileRecord, load_run: LoadRun, t0: float, phase: str, end: float,
                      guarded: bool = False) -> None:
        clock, interval = self.deps.clock, self.deps.sample_interval_s
        next_tick = clock.monotonic() + interval
        while clock.monotonic() < end:
            clock.sleep(max(0.0, min(next_tick, end) - clock.monotonic()))
            if clock.monotonic() >= end:
                break
            sample = self._take_sample(pr, load_run, t0, phase)
            if guarded and self.experiment.abort_if:
                breach = check_guards(self.experiment.abort_if, pr.samples, now_t=sample.t, at=time.time(),
                                      phase=phase, profile=pr.profile)
                if breach is not None:
                    raise GuardFired(breach)
            next_tick += interval
            if next_tick <= clock.monotonic():  # fell behind: skip ticks instead of bursting
                next_tick = clock.monotonic() + interval


def read_raw_samples(load_run: LoadRun) -> dict[tuple[int, str], Bucket]:
    """Return a stopped load's raw samples (a load that keeps none has an empty mapping)."""
    raw = getattr(load_run, "raw", None)
    return dict(raw()) if callable(raw) else {}


def exit_code(record: RunRecord) -> int:
    """Return 0 when every must-hold hypothesis held, 130/143 when interrupted, else 1."""
    if record.interrupted:
        return 143 if record.interrupted == "SIGTERM" else 130
    return 0 if record.passed else 1
