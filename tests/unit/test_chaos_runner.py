"""The chaos runner, driven by a fake clock, fake faults, fake load and fake metrics."""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from chaos.errors import FaultError, RunInterrupted
from chaos.experiment import Experiment, FaultSpec, LoadSettings, parse_experiment
from chaos.metrics import EdgeCounters, MetricsSnapshot
from chaos.runner import Runner, RunnerDeps, exit_code
from chaos.samples import AuditOutcome
from loadtests.outcomes import Outcome
from loadtests.raw_samples import Bucket, RawRecorder, merge_lines

pytestmark = pytest.mark.unit


class FakeClock:
    """Time moves only when the runner sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.on_sleep: list[Any] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        for hook in list(self.on_sleep):
            hook(self.now)


@dataclass
class Log:
    events: list[tuple[float, str, str]] = field(default_factory=list)


class FakeFault:
    def __init__(self, spec: FaultSpec, log: Log, clock: FakeClock, *, fail_apply: bool = False,
                 fail_rollback: bool = False) -> None:
        self.spec, self.log, self.clock = spec, log, clock
        self.fail_apply, self.fail_rollback = fail_apply, fail_rollback
        self.active = False

    @property
    def description(self) -> str:
        return self.spec.describe()

    def apply(self) -> None:
        self.log.events.append((self.clock.now, "apply", self.description))
        if self.fail_apply:
            raise FaultError("refused")
        self.active = True

    def rollback(self) -> None:
        self.log.events.append((self.clock.now, "rollback", self.description))
        if self.fail_rollback:
            raise FaultError("cannot")
        self.active = False


class FakeFactory:
    def __init__(self, log: Log, clock: FakeClock, **fault_kwargs: Any) -> None:
        self.log, self.clock, self.kwargs = log, clock, fault_kwargs
        self.built: list[FakeFault] = []
        self.sweeps = 0

    def build(self, spec: FaultSpec) -> FakeFault:
        fault = FakeFault(spec, self.log, self.clock, **self.kwargs)
        self.built.append(fault)
        return fault

    def sweep(self) -> list[str]:
        self.sweeps += 1
        self.log.events.append((self.clock.now, "sweep", ""))
        return []


class FakeShop:
    def __init__(self, log: Log, clock: FakeClock, *, clean: bool = True) -> None:
        self.log, self.clock, self.clean = log, clock, clean
        self.profiles: list[str] = []
        self.overrides: dict[str, tuple[object, ...]] = {}

    def set_profile(self, profile: str, overrides: Sequence[object] = ()) -> None:
        self.profiles.append(profile)
        self.overrides[profile] = tuple(overrides)
        self.log.events.append((self.clock.now, "profile", profile))

    def audit(self) -> AuditOutcome:
        self.log.events.append((self.clock.now, "audit", ""))
        return AuditOutcome(self.clean, () if self.clean else ("order o1 paid twice",))


class FakeLoadRun:
    """Per-second stats: journeys fail while any fault is active (worse for 'naive')."""

    def __init__(self, clock: FakeClock, factory: FakeFactory, profile: str) -> None:
        self.clock, self.factory, self.profile = clock, factory, profile
        self.started = clock.now
        self.stopped = False
        self.recorder = RawRecorder()  # raw samples keyed by the fake clock, which is also the runner's wall clock

    def latest(self) -> dict[str, Any]:
        faulty = any(f.active for f in self.factory.built)
        failures = (5 if self.profile == "naive" else 0) if faulty else 0
        latency = 900.0 if faulty and self.profile == "naive" else 50.0
        for i in range(10):  # the second just ended: 10 journeys, `failures` of them failed
            outcome = Outcome.FAILURE if i < failures else Outcome.SUCCESS
            self.recorder.record(self.clock.now - 0.5, "browse", outcome, latency * (0.5 + i / 18))
        return {
            "t": self.clock.now - self.started, "rps": 10.0, "fail_ratio": failures / 10,
            "p50_ms": latency / 2, "p95_ms": latency, "p99_ms": latency * 1.5,
            "journeys": {"browse": {"success": 10 - failures, "degraded": 0, "failure": failures}},
        }

    def stop(self) -> None:
        self.stopped = True

    def raw(self) -> dict[tuple[int, str], Bucket]:
        return merge_lines(self.recorder.take())


class FakeLoad:
    def __init__(self, clock: FakeClock, factory: FakeFactory, log: Log) -> None:
        self.clock, self.factory, self.log = clock, factory, log
        self.runs: list[FakeLoadRun] = []

    def start(self, settings: LoadSettings, *, duration_s: float, seed: int, label: str) -> FakeLoadRun:
        self.log.events.append((self.clock.now, "load_start", label))
        run = FakeLoadRun(self.clock, self.factory, label)
        self.runs.append(run)
        return run


class FakeMetrics:
    """gateway__catalog: 10 requests a second; 'retries' makes 3 attempts each while faulty."""

    def __init__(self, clock: FakeClock, factory: FakeFactory, shop: FakeShop) -> None:
        self.clock, self.factory, self.shop = clock, factory, shop
        self.requests = self.attempts = 0.0
        self.last = clock.now

    def scrape(self) -> MetricsSnapshot:
        elapsed = self.clock.now - self.last
        self.last = self.clock.now
        faulty = any(f.active for f in self.factory.built)
        per_request = 3.0 if faulty and self.shop.profiles[-1] == "retries" else 1.0
        self.requests += 10 * elapsed
        self.attempts += 10 * elapsed * per_request
        breaker = "open" if faulty and self.shop.profiles[-1] == "resilient" else "closed"
        return MetricsSnapshot({"gateway__catalog": EdgeCounters(self.requests, self.attempts, breaker)})


EXPERIMENT = {
    "title": "catalog resets",
    "profiles": ["naive", "resilient"],
    "must_hold": ["resilient"],
    "settle_s": 2,
    "phases": [
        {"name": "baseline", "duration_s": 10},
        {"name": "fault", "duration_s": 20, "faults": [
            {"kind": "toxic", "edge": "gateway__catalog", "type": "reset_peer", "toxicity": 0.3},
            {"kind": "app", "service": "payments", "route": "/charges", "method": "POST", "error_rate": 0.5},
        ]},
        {"name": "recovery", "duration_s": 10},
    ],
    "hypothesis": [
        {"probe": "success_ratio", "phase": "fault", "tolerance": {"min": 0.95}},
        {"probe": "p95_ms", "phase": "fault", "tolerance": {"max": 500}},
        {"probe": "breaker_opened", "edge": "gateway__catalog", "phase": "fault", "tolerance": True},
        {"probe": "time_to_recover_s", "phase": "fault", "tolerance": {"max": 5}},
        {"probe": "audit_clean", "tolerance": True},
    ],
}


@dataclass
class World:
    clock: FakeClock
    log: Log
    factory: FakeFactory
    shop: FakeShop
    load: FakeLoad
    deps: RunnerDeps


def make_world(*, clean: bool = True, **fault_kwargs: Any) -> World:
    clock, log = FakeClock(), Log()
    factory = FakeFactory(log, clock, **fault_kwargs)
    shop = FakeShop(log, clock, clean=clean)
    load = FakeLoad(clock, factory, log)
    deps = RunnerDeps(clock=clock, faults=factory, shop=shop, metrics=FakeMetrics(clock, factory, shop), load=load,
                      wall_s=clock.monotonic)
    return World(clock, log, factory, shop, load, deps)


def experiment(**changes: Any) -> Experiment:
    return parse_experiment({**EXPERIMENT, **changes}, source="test.yaml", name="test")


def test_phases_run_in_order_with_faults_applied_at_start_and_rolled_back_at_end_in_reverse() -> None:
    world = make_world()
    record = Runner(experiment(profiles=["resilient"]), world.deps).run()

    pr = record.profiles[0]
    assert [w.name for w in pr.phases] == ["baseline", "fault", "recovery"]
    assert [(round(w.start_s), round(w.end_s)) for w in pr.phases] == [(0, 10), (10, 30), (30, 40)]
    kinds = [(e[1], e[2].split(" ")[0]) for e in world.log.events if e[1] in ("apply", "rollback")]
    assert kinds == [("apply", "reset_peer(timeout=0)"), ("apply", "app"),
                     ("rollback", "app"), ("rollback", "reset_peer(timeout=0)")]
    start = world.load.runs[0].started
    applied_at = [e[0] - start for e in world.log.events if e[1] == "apply"]
    rolled_at = [e[0] - start for e in world.log.events if e[1] == "rollback"]
    assert applied_at == [10.0, 10.0] and rolled_at == [30.0, 30.0]
    assert all(not f.active for f in world.factory.built)


def test_every_second_is_sampled_with_its_phase() -> None:
    world = make_world()
    pr = Runner(experiment(profiles=["resilient"]), world.deps).run().profiles[0]
    by_phase = {name: sum(1 for s in pr.samples if s.phase == name) for name in ("baseline", "fault", "recovery")}
    assert by_phase == {"baseline": 9, "fault": 19, "recovery": 10}  # + the closing sample
    assert all(s.load is not None and "gateway__catalog" in s.edges for s in pr.samples)


def test_resilient_holds_and_naive_misses_so_the_exit_code_follows_the_must_hold_profile() -> None:
    world = make_world()
    record = Runner(experiment(), world.deps).run()

    naive, resilient = record.profiles
    assert world.shop.profiles == ["naive", "resilient"]
    assert resilient.held, [p for p in resilient.probes if not p.met]
    assert not naive.held
    missed = {p.kind for p in naive.probes if not p.met}
    assert missed == {"success_ratio", "p95_ms", "breaker_opened"}
    success = next(p for p in naive.probes if p.kind == "success_ratio")
    assert success.value == pytest.approx(0.5, abs=0.03)
    assert record.passed and exit_code(record) == 0


def test_a_must_hold_profile_that_misses_sets_a_non_zero_exit_code() -> None:
    world = make_world()
    record = Runner(experiment(must_hold=["naive", "resilient"]), world.deps).run()
    assert not record.passed and exit_code(record) == 1


def test_a_dirty_audit_fails_the_hypothesis() -> None:
    world = make_world(clean=False)
    pr = Runner(experiment(profiles=["resilient"]), world.deps).run().profiles[0]
    audit = next(p for p in pr.probes if p.kind == "audit_clean")
    assert audit.met is False and "paid twice" in audit.detail
    assert not pr.held


def test_the_audit_runs_after_every_fault_is_rolled_back_and_the_load_stopped() -> None:
    world = make_world()
    Runner(experiment(profiles=["resilient"]), world.deps).run()
    names = [e[1] for e in world.log.events]
    assert names.index("audit") > max(i for i, n in enumerate(names) if n == "rollback")
    assert world.load.runs[0].stopped


def test_a_fault_that_fails_to_apply_is_still_rolled_back_and_the_profile_records_the_error() -> None:
    world = make_world(fail_apply=True)
    record = Runner(experiment(), world.deps).run()

    naive = record.profiles[0]
    assert naive.error is not None and "refused" in naive.error
    assert [e[1] for e in world.log.events if e[1] in ("apply", "rollback")][:2] == ["apply", "rollback"]
    assert any(e.action == "sweep" for e in naive.fault_events[1:])  # the safety net ran
    assert world.load.runs[0].stopped
    assert len(record.profiles) == 2  # an error in one profile does not stop the next
    assert exit_code(record) == 1


def test_a_rollback_failure_keeps_rolling_back_the_others_and_sweeps() -> None:
    world = make_world(fail_rollback=True)
    pr = Runner(experiment(profiles=["resilient"]), world.deps).run().profiles[0]
    failed = [e for e in pr.fault_events if e.action == "rollback_failed"]
    assert len(failed) == 2
    assert pr.fault_events[-1].action == "sweep"
    assert not pr.rollback_clean


def test_an_interruption_mid_fault_phase_rolls_back_stops_the_load_and_skips_the_remaining_profiles() -> None:
    world = make_world()
    start = world.clock.now

    def interrupt(now: float) -> None:
        if world.factory.built and now - start > 20:
            world.clock.on_sleep.clear()
            raise RunInterrupted("SIGTERM")

    world.clock.on_sleep.append(interrupt)
    record = Runner(experiment(), world.deps).run()

    assert record.interrupted == "SIGTERM" and exit_code(record) == 143
    assert len(record.profiles) == 1 and record.profiles[0].interrupted == "SIGTERM"
    assert all(not f.active for f in world.factory.built)
    assert world.load.runs[0].stopped
    assert "audit" not in [e[1] for e in world.log.events]


def test_a_real_sigterm_to_this_process_is_turned_into_a_rollback() -> None:
    from chaos.signals import raise_on_sigterm

    world = make_world()

    def send(now: float) -> None:
        if any(f.active for f in world.factory.built):
            world.clock.on_sleep.clear()
            os.kill(os.getpid(), signal.SIGTERM)

    world.clock.on_sleep.append(send)
    with raise_on_sigterm():
        record = Runner(experiment(), world.deps).run()
    assert record.interrupted == "SIGTERM"
    assert world.factory.built and all(not f.active for f in world.factory.built)


def test_a_broken_observer_never_breaks_the_run() -> None:
    world = make_world()

    def broken(event: Any) -> None:
        raise RuntimeError("observer bug")

    world.deps.observers = [broken]
    record = Runner(experiment(profiles=["resilient"]), world.deps).run()
    assert record.profiles[0].held


def test_retry_amplification_is_attempts_over_requests_within_the_phase() -> None:
    world = make_world()
    exp = experiment(profiles=["retries"], must_hold=[], hypothesis=[
        {"probe": "retry_amplification", "edge": "gateway__catalog", "phase": "fault", "tolerance": {"max": 1.5}},
        {"probe": "retry_amplification", "edge": "gateway__catalog", "phase": "baseline", "tolerance": {"max": 1.5}},
    ])
    pr = Runner(exp, world.deps).run().profiles[0]
    fault, baseline = pr.probes
    assert fault.value == pytest.approx(3.0, abs=0.15) and not fault.met
    assert baseline.value == pytest.approx(1.0) and baseline.met


def test_ctrl_c_mid_fault_phase_rolls_back_and_exits_130() -> None:
    world = make_world()

    def press_ctrl_c(now: float) -> None:
        if any(f.active for f in world.factory.built):
            world.clock.on_sleep.clear()
            raise KeyboardInterrupt

    world.clock.on_sleep.append(press_ctrl_c)
    record = Runner(experiment(), world.deps).run()
    assert record.interrupted == "SIGINT" and exit_code(record) == 130
    assert world.factory.built and all(not f.active for f in world.factory.built)
    assert world.load.runs[0].stopped


def test_phases_start_only_once_the_load_reports_its_first_second() -> None:
    world = make_world()
    original_start = world.load.start

    def slow_start(*args: Any, **kwargs: Any) -> FakeLoadRun:
        run = original_start(*args, **kwargs)
        ready_at = world.clock.now + 4.0
        real_latest = run.latest
        run.latest = lambda: real_latest() if world.clock.now >= ready_at else None  # type: ignore[method-assign]
        return run

    world.deps.load = type("SlowLoad", (), {"start": staticmethod(slow_start)})()
    pr = Runner(experiment(profiles=["resilient"]), world.deps).run().profiles[0]
    first_apply = next(e[0] for e in world.log.events if e[1] == "apply")
    load_start = next(e[0] for e in world.log.events if e[1] == "load_start")
    assert first_apply - load_start == pytest.approx(4.0 + 10.0, abs=0.3)  # waited for Locust, then baseline
    assert all(s.load is not None for s in pr.samples)


def test_a_load_that_never_reports_fails_the_profile_without_faulting_anything() -> None:
    world = make_world()
    world.deps.load_start_timeout_s = 5
    original_start = world.load.start

    def silent_start(*args: Any, **kwargs: Any) -> FakeLoadRun:
        run = original_start(*args, **kwargs)
        run.latest = lambda: None  # type: ignore[method-assign]
        return run

    world.deps.load = type("SilentLoad", (), {"start": staticmethod(silent_start)})()
    pr = Runner(experiment(profiles=["resilient"]), world.deps).run().profiles[0]
    assert pr.error is not None and "reported nothing within 5 s" in pr.error
    assert world.factory.built == [] and world.load.runs[0].stopped
