"""Experiment files: the shipped ones load, and a bad file is refused naming the key and the expectation."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from chaos.errors import ExperimentInvalid
from chaos.experiment import (
    EXPERIMENTS_DIR,
    AppFaultSpec,
    DownFaultSpec,
    ProcessAction,
    ProcessFaultSpec,
    ToxicFaultSpec,
    load_experiment,
    parse_experiment,
)
from chaos.toxiproxy import Latency
from shop.kit.faults import FaultSpec

pytestmark = pytest.mark.unit

GOOD: dict[str, Any] = {
    "title": "t",
    "profiles": ["naive", "resilient"],
    "phases": [
        {"name": "baseline", "duration_s": 10},
        {"name": "fault", "duration_s": 20, "faults": [
            {"kind": "toxic", "edge": "orders__payments", "type": "latency", "attributes": {"latency_ms": 800}},
            {"kind": "down", "edge": "gateway__recommendations"},
            {"kind": "app", "service": "payments", "route": "/charges", "method": "POST", "error_rate": 0.3},
            {"kind": "app", "service": "payments", "route": "/refunds", "latency_ms": 100},
            {"kind": "process", "process": "orders-worker", "action": "pause"},
        ]},
    ],
    "hypothesis": [{"probe": "p95_ms", "journey": "checkout", "phase": "fault", "tolerance": {"max": 900}}],
}


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(ExperimentInvalid) as info:
        parse_experiment(data, source="bad.yaml")
    return str(info.value)


def changed(path: list[Any], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


def test_every_shipped_experiment_loads() -> None:
    files = sorted(EXPERIMENTS_DIR.glob("*.yaml"))
    names = {f.stem for f in files}
    assert {"flagship", "catalog-reset-peer", "payments-slow", "recommendations-down", "cart-timeout",
            "gateway-catalog-bandwidth", "payments-503-burst", "orders-worker-killed", "retry-storm"} <= names
    for f in files:
        exp = load_experiment(f)
        assert exp.hypothesis and exp.must_hold and any(p.faults for p in exp.phases), f


def test_a_good_document_becomes_typed_faults_with_app_faults_merged_per_service() -> None:
    exp = parse_experiment(GOOD, source="good.yaml", name="good")
    faults = exp.phase("fault").faults
    assert isinstance(faults[0], ToxicFaultSpec) and faults[0].toxic == Latency(latency_ms=800)
    assert isinstance(faults[1], DownFaultSpec)
    assert isinstance(faults[2], AppFaultSpec) and [r.route for r in faults[2].rules] == ["/charges", "/refunds"]
    assert isinstance(faults[3], ProcessFaultSpec) and faults[3].action is ProcessAction.PAUSE
    assert exp.must_hold == ("naive", "resilient")


def test_quick_shortens_every_phase_but_keeps_a_floor() -> None:
    exp = parse_experiment({**GOOD, "quick": {"phase_scale": 0.1, "min_phase_s": 4}}, source="q.yaml")
    assert [p.duration_s for p in exp.quickened().phases] == [4.0, 4.0]


@pytest.mark.parametrize(("path", "value", "expected"), [
    (["title"], KeyError, "title: is required"),
    (["profiles"], ["naive", "sturdy"], "profiles[1]: expected one of naive, timeouts, retries, resilient, adaptive, got 'sturdy'"),
    (["must_hold"], ["retries"], "must_hold[0]: expected one of the experiment's profiles"),
    (["phases", 0, "duration_s"], "ten", "phases[0].duration_s: expected a number, got str 'ten'"),
    (["phases", 1, "name"], "baseline", "phases[1].name: expected a unique phase name"),
    (["phases", 1, "faults", 0, "edge"], "gateway__payments", "phases[1].faults[0].edge: expected one of"),
    (["phases", 1, "faults", 0, "type"], "jitter", "phases[1].faults[0].type: expected one of"),
    (["phases", 1, "faults", 0, "attributes"], {}, "phases[1].faults[0].attributes.latency_ms: is required"),
    (["phases", 1, "faults", 0, "toxicity"], 1.5, "phases[1].faults[0].toxicity: expected a number within 0..1"),
    (["phases", 1, "faults", 2, "error_rate"], -1, "phases[1].faults[2].error_rate: expected a number within 0..1"),
    (["phases", 1, "faults", 4, "action"], "explode", "phases[1].faults[4].action: expected one of kill, stop, pause"),
    (["phases", 1, "faults", 1, "colour"], "red", "phases[1].faults[1].colour: unknown key"),
    (["hypothesis", 0, "phase"], "later", "hypothesis[0].phase: expected one of baseline, fault"),
    (["hypothesis", 0, "tolerance"], {"max": 1, "min": 2}, "hypothesis[0].tolerance: expected min <= max"),
    (["hypothesis", 0, "probe"], "vibes", "hypothesis[0].probe: expected one of success_ratio"),
    (["load"], {"users": 0}, "load.users: expected an integer within 1..200, got 0"),
])
def test_a_bad_file_is_refused_naming_the_key_and_what_was_expected(path: list[Any], value: Any,
                                                                     expected: str) -> None:
    message = refused(changed(path, value))
    assert message.startswith("bad.yaml: ")
    assert expected in message


def test_an_edge_probe_needs_its_edge_and_a_boolean_probe_a_boolean() -> None:
    assert "hypothesis[0].edge: is required" in refused(
        changed(["hypothesis", 0], {"probe": "retry_amplification", "tolerance": {"max": 2}}))
    assert "expected true or false" in refused(changed(["hypothesis", 0], {
        "probe": "breaker_opened", "edge": "gateway__catalog", "tolerance": {"min": 1}}))
    # Every edge into a service: retry amplification only, and only a service something calls.
    assert "for retry_amplification only" in refused(changed(["hypothesis", 0], {
        "probe": "breaker_opened", "edge": "*__catalog", "tolerance": True}))
    assert "expected one of" in refused(changed(["hypothesis", 0], {
        "probe": "retry_amplification", "edge": "*__gateway", "tolerance": {"max": 2}}))


def test_a_file_that_is_not_yaml_or_not_there_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("title: [unclosed\n")
    with pytest.raises(ExperimentInvalid, match="is not valid YAML"):
        load_experiment(bad)
    with pytest.raises(ExperimentInvalid, match="cannot read the file"):
        load_experiment(tmp_path / "missing.yaml")


def test_an_app_fault_of_a_file_is_the_admin_apis_own_fault_with_retry_after() -> None:
    exp = parse_experiment(changed(["phases", 1, "faults", 2, "retry_after_s"], 2), source="good.yaml")
    fault = exp.phase("fault").faults[2]
    assert isinstance(fault, AppFaultSpec)
    sent = [rule.to_json() for rule in fault.rules]
    # what ShopAdmin sends is what the service validates, field for field
    assert [FaultSpec.from_json(body, i) for i, body in enumerate(sent)] == list(fault.rules)
    assert sent[0]["retry_after_s"] == 2 and "retry_after_s=2" in fault.describe()
