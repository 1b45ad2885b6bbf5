"""Who was the limit (generator vs shop), the warm-up apart, and repeats' spread and verdict agreement."""

from __future__ import annotations

import pytest

from chaos.experiment import LoadSettings, parse_experiment
from chaos.load_limits import describe_warmup, generator_report
from chaos.repeats import repeat_json, run_order
from chaos.runner import RunRecord
from chaos.samples import LoadPoint, PhaseWindow, ProbeResult, ProfileRecord, Sample
from loadtests.outcomes import Outcome
from loadtests.raw_samples import RawRecorder, merge_lines

pytestmark = pytest.mark.unit

EXP = parse_experiment({"title": "t", "profiles": ["naive", "resilient"], "must_hold": ["resilient"],
                        "phases": [{"name": "fault", "duration_s": 10}],
                        "hypothesis": [{"probe": "success_ratio", "phase": "fault", "tolerance": {"min": 0.85}}]})


def profile(*, dropped: int, cpu: float) -> ProfileRecord:
    """Ten seconds at 10 arrivals a second, ``dropped`` of them dropped."""
    samples = [Sample(float(t), "fault", LoadPoint(float(t), arrivals={
        "scheduled": 10 * t, "late": t, "dropped": dropped * t // 10}, cpu_percent=cpu)) for t in range(11)]
    return ProfileRecord("naive", False, samples=samples)


def test_a_generator_that_kept_its_schedule_is_reported_and_not_refused() -> None:
    report = generator_report(profile(dropped=0, cpu=40.0), LoadSettings(rate_per_s=10.0))
    assert (report.scheduled, report.late, report.dropped, report.achieved_rate) == (100, 10, 0, 10.0)
    assert report.behind is None
    assert report.describe() == ("intended 10/s, achieved 10.00/s; 100 scheduled, 10 late, 0 dropped; "
                                 "generator CPU max 40%")


@pytest.mark.parametrize(("dropped", "cpu", "why"), [(5, 40.0, "5 of 100 arrivals dropped"),
                                                     (0, 95.0, "its CPU reached 95%")])
def test_a_generator_that_fell_behind_refuses_the_comparison(dropped: int, cpu: float, why: str) -> None:
    behind = generator_report(profile(dropped=dropped, cpu=cpu), LoadSettings(rate_per_s=10.0)).behind
    assert behind is not None and why in behind


def test_drops_once_a_fault_is_on_are_the_shops_saturation_not_a_refusal() -> None:
    """Ten healthy seconds without a drop, then a fault during which 30 of 100 arrivals found every user busy."""
    samples = [Sample(float(t), "baseline", LoadPoint(float(t), arrivals={"scheduled": 10 * t, "late": 0, "dropped": 0},
                                                      cpu_percent=30.0)) for t in range(11)]
    samples += [Sample(float(t), "fault", LoadPoint(float(t), arrivals={
        "scheduled": 10 * t, "late": 0, "dropped": 3 * (t - 10)}, cpu_percent=30.0)) for t in range(11, 21)]
    pr = ProfileRecord("naive", False, samples=samples,
                       phases=[PhaseWindow("baseline", 0.0, 10.0), PhaseWindow("fault", 10.0, 20.0, ("reset_peer",))])
    report = generator_report(pr, LoadSettings(rate_per_s=10.0))
    assert (report.healthy_scheduled, report.healthy_dropped, report.dropped) == (100, 0, 30)
    assert report.behind is None
    assert report.describe().endswith("the shop saturated: 30 arrivals found every user waiting on it and count "
                                      "as failed 'unserved' journeys")
    # the same drops before any fault are the generator's: too few users, refused
    healthy = ProfileRecord("naive", False, samples=samples, phases=[PhaseWindow("fault", 0.0, 20.0)])
    behind = generator_report(healthy, LoadSettings(rate_per_s=10.0)).behind
    assert behind is not None and "30 of 200 arrivals dropped before any fault" in behind


def test_the_warm_up_is_reported_apart_from_the_phases() -> None:
    rec = RawRecorder()
    for i in range(4):
        rec.record(995.2, "signup", Outcome.SUCCESS, 1000.0 + i)
    rec.record(1001.2, "browse", Outcome.SUCCESS, 10.0)
    pr = ProfileRecord("naive", False, wall_t0=1000.0)
    pr.raw = merge_lines(rec.take())
    assert describe_warmup(pr) == "4 journeys, 0 failed, p95 1003 ms"


def test_repeats_alternate_the_profile_order_and_report_spread_and_agreement() -> None:
    assert [run_order(EXP, i).profiles for i in range(3)] == [("naive", "resilient"), ("resilient", "naive"),
                                                              ("naive", "resilient")]
    records = []
    for value, verdict in ((0.90, "met"), (0.92, "met"), (0.88, "inconclusive")):
        pr = ProfileRecord("resilient", True, probes=[ProbeResult(
            "success_ratio@fault", "success_ratio", value, ">= 0.85", verdict == "met", "", verdict=verdict,
            low=value - 0.03, high=value + 0.03, samples=1000)])
        records.append(RunRecord(EXP, profiles=[pr]))
    summary = repeat_json(EXP, records, [None, None, None])
    (series,) = summary["series"]
    assert series["values"] == [0.90, 0.92, 0.88] and series["samples"] == [1000] * 3
    assert series["spread_pct"] == pytest.approx(2.22, abs=0.01)  # (0.92 - 0.88) / 2 / 0.90
    assert series["verdicts_agree"] is False and summary["verdicts_agree"] is False
    # 0.88 lies outside 0.92's interval [0.89, 0.95]
    assert series["values_inside_each_others_interval"] is False
