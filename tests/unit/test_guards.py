"""abort_if guards: parsed in the hypothesis' vocabulary, evaluated each second on a fake clock."""

from __future__ import annotations

import pytest

from chaos.errors import ExperimentInvalid
from chaos.guards import check_guards, window
from chaos.model import Guard, Probe, ProbeKind, Tolerance
from chaos.runner import Runner, exit_code
from chaos.samples import LoadPoint, Sample
from tests.unit.test_chaos_runner import EXPERIMENT, experiment, make_world

pytestmark = pytest.mark.unit

GUARD = {"probe": "success_ratio", "window_s": 5, "tolerance": {"min": 0.8}}


def second(t: float, ok: int, failed: int, phase: str = "fault") -> Sample:
    journeys = {"browse": {"success": float(ok), "degraded": 0.0, "failure": float(failed)}}
    return Sample(t, phase, LoadPoint(t, rps=float(ok + failed), journeys=journeys))


def ratio_guard(minimum: float = 0.8, window_s: float = 5.0) -> Guard:
    return Guard(Probe(ProbeKind.SUCCESS_RATIO, Tolerance(min=minimum)), window_s)


def test_a_guard_fires_only_once_its_window_leaves_the_tolerance() -> None:
    samples = [second(t, 10, 0) for t in range(1, 6)]
    assert check_guards([ratio_guard()], samples, now_t=5, at=0, phase="fault") is None
    samples += [second(6, 5, 5), second(7, 0, 10)]
    # last 5 s at t=6: 45 of 50 ok (0.9) holds; at t=7: 35 of 50 (0.7) fires
    assert check_guards([ratio_guard()], samples[:6], now_t=6, at=0, phase="fault") is None
    breach = check_guards([ratio_guard()], samples, now_t=7, at=123.0, phase="fault")
    assert breach is not None
    assert (breach.guard, breach.value, breach.t, breach.at) == ("success_ratio", 0.7, 7, 123.0)
    assert "over the last 5 s" in breach.describe()


def test_a_window_without_traffic_does_not_fire() -> None:
    samples = [Sample(t, "fault", LoadPoint(t, rps=0.0)) for t in range(1, 8)]
    assert check_guards([ratio_guard()], samples, now_t=7, at=0, phase="fault") is None


def test_the_window_holds_the_last_seconds_plus_one_before_for_counters() -> None:
    samples = [second(t, 1, 0) for t in range(1, 11)]
    assert [s.t for s in window(samples, 10, 3)] == [7, 8, 9, 10]


def test_a_latency_guard_uses_the_hypothesis_aggregates() -> None:
    samples = [Sample(t, "fault", LoadPoint(t, rps=5, p99_ms=100.0 if t < 4 else 4000.0)) for t in range(1, 7)]
    guard = Guard(Probe(ProbeKind.P99_MS, Tolerance(max=3000), aggregate="median"), 5)
    assert check_guards([guard], samples, now_t=5, at=0, phase="fault") is None  # median of 100,100,4000,4000
    assert check_guards([guard], samples, now_t=6, at=0, phase="fault") is not None


def test_a_breach_rolls_back_at_once_aborts_that_profile_and_the_next_one_still_runs() -> None:
    world = make_world()
    exp = experiment(abort_if=[GUARD])
    record = Runner(exp, world.deps).run()
    naive, resilient = record.profiles
    assert naive.aborted is not None and naive.aborted["guard"] == "success_ratio"
    fired = next(e for e in naive.fault_events if e.action == "guard_fired")
    rolled = [e for e in naive.fault_events if e.action == "rolled_back"]
    assert len(rolled) == 2 and all(e.t == fired.t for e in rolled)  # same fake second: no sampling between
    # naive fails half its journeys: the 5 s window drops below 0.8 on the 3rd faulty second at the latest
    fault_window = next(w for w in naive.phases if w.name == "fault")
    assert fault_window.start_s < fired.t <= fault_window.start_s + 3
    assert fault_window.end_s == fired.t  # the window shows when the phase really ended
    assert not any(s.phase == "recovery" for s in naive.samples)
    assert not naive.held and resilient.aborted is None and resilient.held
    assert exit_code(record) == 1  # an aborted profile is not a pass, even outside must_hold
    assert not any(f.active for f in world.factory.built)


def test_guards_are_not_checked_in_phases_without_faults() -> None:
    world = make_world()
    exp = experiment(profiles=["naive"], must_hold=[], abort_if=[{**GUARD, "tolerance": {"min": 1.01}}])
    record = Runner(exp, world.deps).run()
    fired = next(e for e in record.profiles[0].fault_events if e.action == "guard_fired")
    assert fired.phase == "fault"  # the baseline (ratio 1.0 < 1.01) never fired it


@pytest.mark.parametrize("guard, message", [
    ({"probe": "time_to_recover_s", "phase": "fault", "tolerance": {"max": 5}}, "abort_if[0].probe"),
    ({"probe": "success_ratio", "phase": "fault", "tolerance": {"min": 0.5}}, "abort_if[0].phase"),
    ({"probe": "success_ratio", "window_s": 0.5, "tolerance": {"min": 0.5}}, "abort_if[0].window_s"),
    ({"probe": "success_ratio", "tolerance": {"min": 0.5}, "below": 3}, "abort_if[0].below"),
])
def test_bad_guards_are_refused_naming_the_key(guard: dict[str, object], message: str) -> None:
    with pytest.raises(ExperimentInvalid, match=message.replace("[", r"\[").replace("]", r"\]")):
        experiment(abort_if=[guard])


def test_guards_survive_quick_mode_and_keep_the_probe_vocabulary() -> None:
    exp = experiment(abort_if=[GUARD, {"probe": "p99_ms", "journey": "browse", "tolerance": {"max": 3000}}])
    quick = exp.quickened()
    assert quick.abort_if == exp.abort_if
    assert [g.probe.label for g in exp.abort_if] == ["success_ratio", "p99_ms[browse]"]
    assert EXPERIMENT.get("abort_if") is None
