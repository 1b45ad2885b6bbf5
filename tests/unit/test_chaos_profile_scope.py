"""Per-profile overrides and probes of an experiment file, and the ``degraded_for_s`` probe (issue 19)."""

from __future__ import annotations

import copy
import json
from typing import Any, cast

import httpx
import pytest

from chaos.admin import ShopAdmin
from chaos.errors import ExperimentInvalid
from chaos.experiment import Probe, ProbeKind, Tolerance, parse_experiment
from chaos.numbers import comparison_rows
from chaos.probes import run_probe
from chaos.profiles import format_override, parse_override
from chaos.runner import Runner
from loadtests.raw_samples import Bucket
from shop.topology import DEFAULT as TOPOLOGY
from tests.unit.test_chaos_parts import _record
from tests.unit.test_chaos_runner import EXPERIMENT, make_world

pytestmark = pytest.mark.unit

SCOPED: dict[str, Any] = {
    **EXPERIMENT,
    "profiles": ["retries", "adaptive"],
    "must_hold": ["adaptive"],
    "overrides": {"retries": ["payments.propagate_deadline=false", "catalog.read_timeout_s=0.3"]},
    "hypothesis": [
        {"probe": "time_to_recover_s", "phase": "fault", "tolerance": {"max": 5}, "profiles": ["adaptive"]},
        {"probe": "degraded_for_s", "phase": "fault", "tolerance": {"min": 60}, "profiles": ["retries"]},
        {"probe": "audit_clean", "tolerance": True},
    ],
}


def refused(**changes: Any) -> str:
    data = copy.deepcopy(SCOPED)
    data.update(changes)
    with pytest.raises(ExperimentInvalid) as info:
        parse_experiment(data, source="bad.yaml")
    return str(info.value)


def test_overrides_are_parsed_per_profile_and_the_probes_keep_their_scope() -> None:
    exp = parse_experiment(SCOPED, source="s.yaml")
    assert exp.overrides == {"retries": (("payments", "propagate_deadline", False), ("catalog", "read_timeout_s", 0.3))}
    assert [p.kind.value for p in exp.hypothesis_for("retries")] == ["degraded_for_s", "audit_clean"]
    assert [p.kind.value for p in exp.hypothesis_for("adaptive")] == ["time_to_recover_s", "audit_clean"]
    assert format_override(parse_override("payments.propagate_deadline=false")) == "payments.propagate_deadline=false"
    assert format_override(parse_override("payments.breaker_fail_max=null")) == "payments.breaker_fail_max=null"


@pytest.mark.parametrize(("changes", "expected"), [
    ({"overrides": {"resilient": ["payments.read_timeout_s=2"]}},
     "overrides.resilient: expected one of the experiment's profiles (retries, adaptive), got 'resilient'"),
    ({"overrides": {"retries": ["payments.read_timeout=2"]}}, "overrides.retries[0]: 'payments.read_timeout=2': "
                                                            "unknown policy key 'read_timeout'"),
    ({"overrides": {"retries": ["payments.read_timeout_s=-1"]}}, "overrides.retries[0]: "),
    ({"overrides": {"retries": ["read_timeout_s=2"]}}, "is not dependency.key=value"),
    ({"overrides": {"retries": ["gateway.read_timeout_s=2"]}}, "no selected service calls 'gateway'"),
    ({"overrides": {"retries": "payments.read_timeout_s=2"}}, "overrides.retries: expected a list"),
    ({"hypothesis": [{"probe": "audit_clean", "tolerance": True, "profiles": ["naive"]}]},
     "hypothesis[0].profiles[0]: expected one of the experiment's profiles (retries, adaptive), got 'naive'"),
    ({"hypothesis": [{"probe": "degraded_for_s", "phase": "fault", "tolerance": {"max": 10}}]},
     "hypothesis[0].tolerance: expected only min for degraded_for_s"),
    ({"hypothesis": [{"probe": "degraded_for_s", "tolerance": {"min": 10}}]}, "hypothesis[0].phase: is required"),
    ({"abort_if": [{"probe": "success_ratio", "tolerance": {"min": 0.5}, "profiles": ["retries"]}]},
     "abort_if[0].profiles: is not used by a guard"),
])
def test_a_bad_override_or_scope_is_refused_naming_the_key(changes: dict[str, Any], expected: str) -> None:
    assert expected in refused(**changes)


def test_the_runner_switches_each_profile_with_its_own_overrides_and_judges_it_by_its_own_probes() -> None:
    world = make_world()
    record = Runner(parse_experiment(SCOPED, source="s.yaml"), world.deps).run()
    assert world.shop.overrides == {"retries": (("payments", "propagate_deadline", False),
                                                ("catalog", "read_timeout_s", 0.3)), "adaptive": ()}
    retries, adaptive = record.profiles
    assert [p.kind for p in retries.probes] == ["degraded_for_s", "audit_clean"]
    assert [p.kind for p in adaptive.probes] == ["time_to_recover_s", "audit_clean"]
    table = dict(comparison_rows(record))
    assert table["degraded_for_s@fault (>= 60)"][1] == "—" and table["time_to_recover_s@fault (<= 5)"][0] == "—"
    assert table["audit_clean (true)"][0] != "—" and table["audit_clean (true)"][1] != "—"


def test_the_admin_sends_an_override_only_to_the_callers_of_its_dependency() -> None:
    bodies: dict[str, Any] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        bodies[request.url.port] = json.loads(request.read())
        return httpx.Response(200, json={})

    with ShopAdmin(TOPOLOGY, "t", transport=httpx.MockTransport(answer)) as admin:
        admin.set_profile("retries", overrides=[parse_override("payments.propagate_deadline=false")])
    by_service = {s: bodies[TOPOLOGY.service(s).port] for s in TOPOLOGY.service_names}
    assert by_service["orders"] == {"profile": "retries", "overrides": {"payments": {"propagate_deadline": False}}}
    assert all(body == {"profile": "retries", "overrides": {}} for s, body in by_service.items() if s != "orders")


def _degraded(record_ratios: list[float | None]) -> Any:
    return run_probe(Probe(ProbeKind.DEGRADED_FOR_S, Tolerance(min=4), phase="fault", threshold=0.9),
                     _record(record_ratios))


def test_degraded_for_is_the_time_to_recover_or_at_least_every_second_observed_when_it_never_recovered() -> None:
    recovered = _degraded([1, 1, 1, 0, 0, 0, 0.5, 0.5, 0.5, 1, 1, 1, 1])
    assert recovered.value == 3.0 and not recovered.met  # back 3 s after the phase: not degraded for >= 4 s
    never = _degraded([1, 1, 1, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 1, 0.2])
    assert never.value == 5.0 and never.met and "lower bound" in never.detail
    short = _degraded([1, 1, 1, 0, 0, 0, 0.5, 0.5])  # never recovered, but seen for 1 s only: no proof of 4 s
    assert short.value == 1.0 and not short.met
    nothing = _degraded([1, 1, 1, 0, 0, 0, None, None])
    assert nothing.value is None and nothing.verdict == "inconclusive"


def test_a_recovery_probe_can_follow_one_journey_skipping_seconds_when_none_of_it_ended() -> None:
    # Every second: 10 browse journeys (the ratio) and, on some seconds, one checkout that fails (0) or succeeds (1).
    ratios: list[float | None] = [1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]
    checkout: list[int | None] = [1, 1, 1, 0, 0, 0, 0, None, None, 0, None, 1, 1, 1]
    record = _record(ratios)
    for sample, outcome in zip(record.samples, checkout, strict=True):
        if outcome is not None and sample.load is not None:
            journeys = cast(dict[str, Any], sample.load.journeys)
            journeys["checkout"] = {"success": outcome, "degraded": 0, "failure": 1 - outcome}
    every = run_probe(Probe(ProbeKind.TIME_TO_RECOVER_S, Tolerance(max=10), phase="fault", threshold=0.9), record)
    assert every.value == 0.0  # 10 of 11 journeys good: the browse-heavy mix hides the failed checkouts
    scoped = Probe(ProbeKind.TIME_TO_RECOVER_S, Tolerance(max=10), phase="fault", threshold=0.9, journey="checkout")
    assert run_probe(scoped, record).value == 5.0  # t=9 still failed; t=11, 12, 13 are three good checkout seconds
    degraded = Probe(ProbeKind.DEGRADED_FOR_S, Tolerance(min=4), phase="fault", threshold=0.9, journey="checkout")
    assert run_probe(degraded, record).value == 5.0


def test_a_recovery_probe_takes_a_journey_but_not_a_request() -> None:
    probe = {"probe": "time_to_recover_s", "phase": "fault", "threshold": 0.95, "tolerance": {"max": 10}}
    assert "is not used by probe time_to_recover_s" in refused(hypothesis=[{**probe, "request": "GET /api/v1/x"}])
    exp = parse_experiment({**SCOPED, "hypothesis": [{**probe, "journey": "checkout"}]}, source="s.yaml")
    assert exp.hypothesis[0].journey == "checkout"


def test_an_experiment_can_set_a_checkouts_patience_and_a_bad_one_is_refused() -> None:
    exp = parse_experiment({**SCOPED, "load": {"rate": 3.6, "users": 40, "order_timeout_s": 15}}, source="s.yaml")
    assert exp.load.order_timeout_s == 15
    assert parse_experiment(SCOPED, source="s.yaml").load.order_timeout_s == 30
    assert "load.order_timeout_s" in refused(load={"order_timeout_s": 0})


def test_a_journey_recovery_counts_journeys_by_their_start_when_raw_samples_exist() -> None:
    # Checkouts due in the fault phase (3-6 s) that end after it tell nothing about the shop after it: by the second
    # they were due, the ones due at t=6 and 7 failed, and those due from t=8 on succeed.
    record = _record([1.0] * 14)
    record.wall_t0 = 1000.0
    due = {3: (0, 1), 5: (1, 1), 6: (0, 1), 7: (0, 2), 8: (1, 1), 10: (2, 2), 11: (1, 1), 13: (1, 1)}
    for second, (ok, total) in due.items():
        record.raw[(1000 + second, "checkout")] = Bucket(
            counts={"success": ok, "degraded": 0, "failure": total - ok})
    probe = Probe(ProbeKind.TIME_TO_RECOVER_S, Tolerance(max=10), phase="fault", threshold=0.95, journey="checkout")
    result = run_probe(probe, record)
    assert result.value == pytest.approx(2.5) and "due to start" in result.detail  # t=8.5 (mid-second) - 6
    never = _record([1.0] * 14)
    never.wall_t0 = 1000.0
    for second in (7, 9, 12):
        never.raw[(1000 + second, "checkout")] = Bucket(counts={"success": 0, "degraded": 0, "failure": 1})
    degraded = Probe(ProbeKind.DEGRADED_FOR_S, Tolerance(min=4), phase="fault", threshold=0.95, journey="checkout")
    assert run_probe(degraded, never).value == pytest.approx(6.5)  # last judged start t=12.5, a lower bound


def test_the_seconds_whose_slow_journeys_may_not_have_ended_are_not_judged_by_start() -> None:
    record = _record([1.0] * 14)  # samples up to t=13
    record.wall_t0 = 1000.0
    for second in (7, 8):
        record.raw[(1000 + second, "checkout")] = Bucket(counts={"success": 0, "degraded": 0, "failure": 1})
    for second in (10, 11, 12):  # quick successes; their failures (15 s of patience) would still be running
        record.raw[(1000 + second, "checkout")] = Bucket(counts={"success": 1, "degraded": 0, "failure": 0})
    probe = Probe(ProbeKind.TIME_TO_RECOVER_S, Tolerance(max=10), phase="fault", threshold=0.95, journey="checkout")
    assert run_probe(probe, record).value == pytest.approx(4.5)  # no horizon: "recovered" at t=10.5
    record.journey_horizon_s = 4.0  # only seconds due by t=9 are judged
    assert run_probe(probe, record).value is None


def test_by_start_one_good_second_at_the_end_is_not_a_recovery() -> None:
    record = _record([1.0] * 14)
    record.wall_t0 = 1000.0
    for second, ok in ((7, 0), (9, 0), (11, 0), (12, 1)):
        record.raw[(1000 + second, "checkout")] = Bucket(counts={"success": ok, "degraded": 0, "failure": 1 - ok})
    probe = Probe(ProbeKind.TIME_TO_RECOVER_S, Tolerance(max=10), phase="fault", threshold=0.95, journey="checkout")
    assert run_probe(probe, record).value is None
