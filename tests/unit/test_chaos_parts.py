"""The chaos parts without sockets: Toxiproxy client errors, metrics parsing, probes and the report files."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from chaos.charts import Series, line_chart
from chaos.errors import ToxiproxyError
from chaos.experiment import Probe, ProbeKind, Tolerance
from chaos.load import PerSecondRun
from chaos.metrics import EdgeCounters, merge_edges, parse_edges
from chaos.probes import run_probe
from chaos.report import write_report
from chaos.runner import Runner
from chaos.samples import LoadPoint, PhaseWindow, ProfileRecord, Sample
from chaos.toxiproxy import Latency, ResetPeer, Slicer, ToxiproxyClient
from tests.unit.test_chaos_runner import experiment, make_world

pytestmark = pytest.mark.unit


def test_a_toxic_spec_becomes_the_api_body_with_toxiproxy_attribute_names() -> None:
    assert Latency(latency_ms=300, jitter_ms=20, toxicity=0.5).to_api() == {
        "name": "latency_downstream", "type": "latency", "stream": "downstream", "toxicity": 0.5,
        "attributes": {"latency": 300, "jitter": 20},
    }
    assert Slicer(average_size=64, delay_us=10, stream="upstream").to_api()["attributes"] == {
        "average_size": 64, "size_variation": 0, "delay": 10}
    with pytest.raises(ValueError, match="toxicity"):
        ResetPeer(toxicity=2.0)


def test_an_api_error_becomes_one_toxiproxy_error_with_the_status_and_the_cause_kept() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(409, json={"error": "toxic already exists", "status": 409})

    client = ToxiproxyClient("http://toxiproxy.test", transport=httpx.MockTransport(handler))
    with pytest.raises(ToxiproxyError) as info:
        client.add_toxic("gateway__catalog", Latency(latency_ms=1))
    assert info.value.status_code == 409 and "toxic already exists" in str(info.value)
    assert isinstance(info.value.__cause__, httpx.HTTPStatusError)


def test_an_unreachable_server_becomes_a_toxiproxy_error_saying_where() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = ToxiproxyClient("http://toxiproxy.test", transport=httpx.MockTransport(handler))
    with pytest.raises(ToxiproxyError, match="is it running at http://toxiproxy.test") as info:
        client.reset()
    assert isinstance(info.value.__cause__, httpx.ConnectError)


METRICS = """
# HELP shoplab_dependency_requests_total Logical calls
# TYPE shoplab_dependency_requests_total counter
shoplab_dependency_requests_total{caller="gateway",dependency="catalog",outcome="success"} 90.0
shoplab_dependency_requests_total{caller="gateway",dependency="catalog",outcome="unavailable"} 10.0
# TYPE shoplab_dependency_attempts_total counter
shoplab_dependency_attempts_total{caller="gateway",dependency="catalog",outcome="success"} 90.0
shoplab_dependency_attempts_total{caller="gateway",dependency="catalog",outcome="transport_error"} 40.0
# TYPE shoplab_breaker_state gauge
shoplab_breaker_state{caller="gateway",dependency="catalog"} 2.0
shoplab_breaker_state{caller="gateway",dependency="cart"} 0.0
"""


def test_metrics_give_requests_attempts_and_breaker_state_per_edge() -> None:
    edges = parse_edges(METRICS)
    assert edges["gateway__catalog"] == EdgeCounters(100.0, 130.0, "open")
    assert edges["gateway__cart"].breaker == "closed"


def test_the_orders_service_and_its_worker_add_up_on_one_edge() -> None:
    merged = merge_edges([{"orders__payments": EdgeCounters(3, 4, "closed")},
                          {"orders__payments": EdgeCounters(5, 9, "open")}])
    assert merged["orders__payments"] == EdgeCounters(8, 13, "open")


class _Run:
    def __init__(self, points: list[dict]) -> None:
        self.points = points

    def latest(self) -> dict | None:
        return self.points.pop(0) if self.points else None

    def stop(self) -> None:
        pass


def test_cumulative_journey_counts_from_locust_become_per_second_counts() -> None:
    base = {"rps": 5, "fail_ratio": 0, "p50_ms": 1, "p95_ms": 2, "p99_ms": 3}
    run = PerSecondRun(_Run([
        {**base, "t": 1, "journeys": {"browse": {"success": 4, "degraded": 0, "failure": 1}}},
        {**base, "t": 1, "journeys": {"browse": {"success": 4, "degraded": 0, "failure": 1}}},
        {**base, "t": 2, "journeys": {"browse": {"success": 10, "degraded": 1, "failure": 1}}},
    ]))
    first, same, second = run.latest(), run.latest(), run.latest()
    assert first is not None and first.journeys["browse"] == {"success": 4, "degraded": 0, "failure": 1}
    assert same is not None and same.journeys == {}
    assert second is not None and second.journeys["browse"] == {"success": 6, "degraded": 1, "failure": 0}


def test_the_report_folder_has_a_self_contained_page_a_journal_junit_and_the_samples(tmp_path: Path) -> None:
    world = make_world()
    record = Runner(experiment(), world.deps).run()
    index = write_report(tmp_path, record, settings={"quick": True}, versions={"python": "3"})

    assert {p.name for p in tmp_path.iterdir()} >= {"index.html", "summary.md", "journal.json", "junit.xml",
                                                    "samples.csv", "samples.jsonl"}
    page = index.read_text()
    # offline: no script, style, image or link fetched from anywhere
    assert not re.search(r'(src|href)=["\']?(https?:)?//', page)
    assert len(re.findall(r'<svg class="chart"', page)) == 2 + 3 * len(record.profiles)
    assert page.count('class="fault-window"') >= 2
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["seed"] == record.experiment.seed and journal["experiment"]["definition"]["title"]
    assert [p["profile"] for p in journal["profiles"]] == ["naive", "resilient"]
    suites = ET.parse(tmp_path / "junit.xml").getroot().findall("testsuite")
    # naive misses its probes, but only the must-hold profile's misses are failures
    assert [(s.get("name"), s.get("failures")) for s in suites] == [("test.naive", "0"), ("test.resilient", "0")]
    summary = (tmp_path / "summary.md").read_text()
    assert "| success ratio (fault phases) |" in summary and "PASSED" in summary
    # per probe: value, interval, sample count and verdict, in the summary and the page
    assert "| resilient | success_ratio@fault | 1 | 0.98 – 1 | 190 | >= 0.95 | met |" in summary
    assert "<th>95% interval</th><th>samples</th>" in page and "✘ not met" in page
    rows = (tmp_path / "samples.csv").read_text().splitlines()
    assert rows[0].startswith("profile,t,phase,rps") and len(rows) == 1 + sum(len(p.samples) for p in record.profiles)


def test_the_journal_and_summary_state_the_machine_and_its_load_in_every_phase(tmp_path: Path) -> None:
    loads = iter(float(n % 7) for n in range(10_000))
    deps = dataclasses.replace(make_world().deps, load_average=lambda: next(loads))
    record = Runner(experiment(), deps).run()
    write_report(tmp_path, record, settings={}, versions={})
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["machine"]["cores"] == os.cpu_count()
    phases = [p["name"] for p in journal["experiment"]["phases_as_run"]]
    for profile in journal["profiles"]:
        spans = profile["loadavg_1m_by_phase"]
        assert set(spans) == set(phases)
        assert all(0 <= low <= high <= 6 for low, high in spans.values())
    assert any(low < high for p in journal["profiles"] for low, high in p["loadavg_1m_by_phase"].values())
    summary = (tmp_path / "summary.md").read_text()
    assert "1-minute load average per phase" in summary and f"- naive: {phases[0]} " in summary



def test_a_gap_in_a_series_splits_its_line_and_a_lone_value_is_a_dot() -> None:
    chart = line_chart("c", "c", [Series("s", "#000", [(0, 1.0), (1, 2.0), (2, None), (3, 1.0), (4, None)])],
                       t_max=4, windows=[(1.0, 3.0, "fault")])
    assert [len(line.points) for line in chart.lines] == [2, 1]
    assert chart.grid[-1].label == "2" and chart.windows[0].label == "fault"
    assert chart.left < chart.windows[0].x < chart.width - chart.right


def test_the_report_page_escapes_what_the_experiment_file_wrote(tmp_path: Path) -> None:
    record = Runner(experiment(title="<script>alert(1)</script> & co"), make_world().deps).run()
    page = write_report(tmp_path, record, settings={}, versions={}).read_text()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page


def _record(ratios: list[float | None], *, breaker: list[str | None] | None = None,
            latency: list[float] | None = None) -> ProfileRecord:
    """One sample per second: phases baseline 0-3 s, fault 3-6 s, recovery after."""
    samples = []
    for t, ratio in enumerate(ratios):
        phase = "baseline" if t < 3 else ("fault" if t < 6 else "recovery")
        load = None
        if ratio is not None:
            ok = round(ratio * 10)
            load = LoadPoint(float(t), rps=10, p95_ms=(latency[t] if latency else 50.0),
                             journeys={"browse": {"success": ok - 1 if ok else 0, "degraded": 1 if ok else 0,
                                                  "failure": 10 - ok}})
        state = breaker[t] if breaker else None
        samples.append(Sample(float(t), phase, load, {"gateway__catalog": EdgeCounters(t * 10, t * 10, state)}))
    return ProfileRecord("resilient", True, samples=samples,
                         phases=[PhaseWindow("baseline", 0, 3), PhaseWindow("fault", 3, 6, ("x",)),
                                 PhaseWindow("recovery", 6, len(ratios))])


def _probe(kind: str, **kw: object) -> Probe:
    tolerance = Tolerance(equals=True) if kind.startswith(("breaker", "audit")) else Tolerance(min=0)
    return Probe(ProbeKind(kind), tolerance, **kw)  # type: ignore[arg-type]


def test_time_to_recover_counts_from_the_end_of_the_phase_to_three_good_seconds_in_a_row() -> None:
    record = _record([1, 1, 1, 0.2, 0.2, 0.2, 0.5, 1, 0.4, 1, 1, 1, 1])
    result = run_probe(_probe("time_to_recover_s", phase="fault", threshold=0.9), record)
    assert result.value == 3.0  # t=7 is good but t=8 is not; from t=9 on it stays good
    never = run_probe(_probe("time_to_recover_s", phase="fault"), _record([1, 1, 1, 0, 0, 0, 0.5, 0.5]))
    assert never.value is None and not never.met


def test_success_counts_degraded_journeys_as_answered_and_degraded_ratio_counts_them_alone() -> None:
    record = _record([1, 1, 1, 0.5, 0.5, 0.5])
    success = run_probe(_probe("success_ratio", phase="fault"), record)
    degraded = run_probe(_probe("degraded_ratio", phase="fault"), record)
    assert success.value == 0.5 and degraded.value == pytest.approx(0.1)


def test_breaker_probes_read_the_state_seen_in_the_phase() -> None:
    states = ["closed"] * 3 + ["closed", "open", "half_open"] + ["closed"] * 2
    record = _record([1] * 8, breaker=states)
    assert run_probe(_probe("breaker_opened", edge="gateway__catalog", phase="fault"), record).value is True
    assert run_probe(_probe("breaker_opened", edge="gateway__catalog", phase="baseline"), record).value is False
    assert run_probe(_probe("breaker_closed", edge="gateway__catalog", phase="recovery"), record).value is True
    unknown = run_probe(_probe("breaker_opened", edge="gateway__catalog"), _record([1] * 4))
    assert unknown.value is None and not unknown.met


def test_latency_probes_aggregate_the_per_second_percentiles() -> None:
    record = _record([1] * 6, latency=[10, 10, 10, 100, 300, 200])
    assert run_probe(_probe("p95_ms", phase="fault"), record).value == 200
    assert run_probe(_probe("p95_ms", phase="fault", aggregate="max"), record).value == 300


def test_tolerances_check_bounds_and_booleans_and_never_accept_a_missing_value() -> None:
    assert Tolerance(min=0.9).is_met(0.95) and not Tolerance(min=0.9).is_met(0.85)
    assert Tolerance(max=2).is_met(2) and not Tolerance(max=2).is_met(2.01)
    assert Tolerance(equals=False).is_met(False) and not Tolerance(equals=False).is_met(True)
    assert not Tolerance(min=0).is_met(None) and not Tolerance(equals=True).is_met(None)


def test_the_terminal_table_shows_probe_labels_with_their_brackets_side_by_side() -> None:
    from rich.console import Console

    from chaos.console import print_comparison

    exp = experiment(hypothesis=[
        {"probe": "retry_amplification", "edge": "gateway__catalog", "phase": "fault", "tolerance": {"max": 1.5}}])
    record = Runner(exp, make_world().deps).run()
    console = Console(record=True, width=160)
    print_comparison(record, console)
    text = console.export_text()
    assert "retry_amplification[gateway__catalog]@fault (<= 1.5)" in text
    assert "NOT HELD" not in text and "HELD (must hold)" in text and "naive" in text
