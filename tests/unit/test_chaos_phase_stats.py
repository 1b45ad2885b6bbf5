"""Experiment-level verdicts on raw samples: straddles are inconclusive, too few never pass, vacuity is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from chaos.errors import ExperimentInvalid
from chaos.experiment import load_experiment, parse_experiment
from chaos.metrics import EdgeCounters
from chaos.numbers import request_rows
from chaos.probes import evaluate_hypothesis
from chaos.runner import RunRecord
from chaos.samples import PhaseWindow, ProfileRecord, Sample
from loadtests.outcomes import Outcome
from loadtests.raw_samples import RawRecorder, merge_lines, to_line

pytestmark = pytest.mark.unit

BASE: dict[str, Any] = {
    "title": "t", "profiles": ["resilient"],
    "phases": [{"name": "fault", "duration_s": 10}],
    "hypothesis": [{"probe": "success_ratio", "phase": "fault", "tolerance": {"min": 0.85}}],
}


def record_with(ok: int, failed: int, *, latencies_ms: tuple[float, ...] = (10.0,)) -> ProfileRecord:
    """A profile whose fault phase (wall seconds 1000..1010) ended ``ok`` journeys well and ``failed`` badly."""
    rec = RawRecorder()
    for i in range(ok + failed):
        outcome = Outcome.SUCCESS if i < ok else Outcome.FAILURE
        rec.record(1000 + (i % 10) + 0.5, "browse", outcome, latencies_ms[i % len(latencies_ms)])
    pr = ProfileRecord("resilient", True, phases=[PhaseWindow("fault", 0.0, 10.0)], wall_t0=1000.0)
    pr.raw = merge_lines(rec.take())
    return pr


def probes(*docs: dict[str, Any]) -> tuple[Any, ...]:
    return parse_experiment({**BASE, "hypothesis": list(docs)}).hypothesis


def test_17_of_23_straddles_085_so_it_is_inconclusive_and_says_how_many_more_would_decide() -> None:
    # Wilson 95%, by hand: p = 17/23 = 0.73913, z^2/n = 0.16702, centre = (p + z^2/2n) / 1.16702 = 0.70488,
    # half-width = z * sqrt(p(1-p)/n + z^2/4n^2) / 1.16702 = 0.16955, so 0.5353..0.8744: it straddles 0.85
    (result,) = evaluate_hypothesis(probes(BASE["hypothesis"][0]), record_with(17, 6))
    assert result.verdict == "inconclusive" and not result.met
    assert (result.low, result.high, result.samples) == (0.5353, pytest.approx(0.8744, abs=2e-4), 23)
    assert result.more_samples is not None and "about" in result.detail and "more" in result.detail


def test_a_decided_ratio_is_met_or_not_met_on_its_interval() -> None:
    (met,) = evaluate_hypothesis(probes(BASE["hypothesis"][0]), record_with(990, 10))
    (missed,) = evaluate_hypothesis(probes(BASE["hypothesis"][0]), record_with(500, 500))
    assert (met.verdict, met.met, met.samples) == ("met", True, 1000)
    assert (missed.verdict, missed.met) == ("not met", False)


def test_too_few_samples_is_inconclusive_never_a_pass_even_when_all_succeeded() -> None:
    doc = {"probe": "success_ratio", "phase": "fault", "tolerance": {"min": 0.5}, "min_samples": 100}
    (result,) = evaluate_hypothesis(probes(doc), record_with(60, 0))
    assert result.verdict == "inconclusive" and not result.met and "needs at least 100" in result.detail
    pr = record_with(60, 0)
    pr.probes = [result]
    assert not pr.held


def test_a_latency_probe_reads_the_percentile_of_every_sample_in_the_phase() -> None:
    # 200 journeys: 196 at 10 ms and 4 stalled at 3000 ms; p99 is the 198th = 3000 ms
    latencies = (10.0,) * 49 + (3000.0,)
    doc = {"probe": "p99_ms", "phase": "fault", "tolerance": {"max": 2500}}
    (result,) = evaluate_hypothesis(probes(doc), record_with(200, 0, latencies_ms=latencies))
    assert result.value is not None and abs(result.value - 3000.0) <= 3.1
    assert result.samples == 200 and result.verdict != "met"


@pytest.mark.parametrize(("change", "message"), [
    ({"hypothesis": []}, "hypothesis: expected at least one probe"),
    ({"must_hold": []}, "must_hold: expected at least one profile"),
])
def test_a_vacuous_hypothesis_is_refused_when_the_experiment_loads(tmp_path: Path, change: dict[str, Any],
                                                                    message: str) -> None:
    path = tmp_path / "vacuous.yaml"
    path.write_text(yaml.safe_dump({**BASE, **change}))
    with pytest.raises(ExperimentInvalid, match=message):
        load_experiment(path)


def test_min_samples_is_refused_on_a_probe_that_does_not_count_journeys() -> None:
    with pytest.raises(ExperimentInvalid, match="min_samples: is not used by probe audit_clean"):
        probes({"probe": "audit_clean", "tolerance": True, "min_samples": 5})


def test_every_shipped_experiment_still_loads() -> None:
    from chaos.experiment import EXPERIMENTS_DIR

    for path in sorted(EXPERIMENTS_DIR.glob("*.yaml")):
        assert load_experiment(path).hypothesis


def with_requests(pr: ProfileRecord) -> ProfileRecord:
    """Add 100 ``GET /api/v1/products`` requests to the fault phase: 90 ok at 20 ms, 10 failed after 1,000 ms."""
    rec = RawRecorder()
    for i in range(100):
        rec.record_request(1000 + (i % 10) + 0.2, "GET /api/v1/products", i < 90, 20.0 if i < 90 else 1000.0)
    pr.raw = merge_lines([*(to_line(s, j, b) for (s, j), b in pr.raw.items()), *rec.take()])
    return pr


def test_a_request_probe_reads_that_requests_samples_and_journey_probes_never_count_requests() -> None:
    pr = with_requests(record_with(30, 0))
    ratio, p99, journeys = evaluate_hypothesis(probes(
        {"probe": "success_ratio", "phase": "fault", "request": "GET /api/v1/products", "tolerance": {"min": 0.5}},
        {"probe": "p99_ms", "phase": "fault", "request": "GET /api/v1/products", "tolerance": {"max": 500}},
        {"probe": "success_ratio", "phase": "fault", "tolerance": {"min": 0.99}},
    ), pr)
    # 90 of 100 requests ok; a failed request's 1,000 ms counts in the latency (the 99th of 100 is one of them)
    assert (ratio.value, ratio.samples, ratio.label) == (0.9, 100, "success_ratio[GET /api/v1/products]@fault")
    assert p99.samples == 100 and p99.value is not None and abs(p99.value - 1000.0) <= 1.1
    assert p99.verdict == "not met"
    # the journeys' probe still sees its 30 journeys only
    assert (journeys.value, journeys.samples) == (1.0, 30)


def test_the_report_rows_give_each_request_per_phase_with_intervals() -> None:
    pr = with_requests(record_with(30, 0))
    exp = parse_experiment(BASE)
    (row,) = request_rows(RunRecord(exp, profiles=[pr]))
    assert (row.profile, row.phase, row.request, row.requests) == ("resilient", "fault", "GET /api/v1/products", 100)
    assert row.failure_ratio == 0.1 and row.failure_low is not None and row.failure_low < 0.1 < (row.failure_high or 0)
    assert row.p50_ms is not None and abs(row.p50_ms - 20.0) <= 0.1
    assert row.p95_low is not None and row.p95_low <= (row.p95_ms or 0.0) <= (row.p95_high or 0.0)


@pytest.mark.parametrize(("doc", "message"), [
    ({"probe": "breaker_opened", "edge": "gateway__catalog", "request": "GET /api/v1/products", "tolerance": True},
     "request: is not used by probe breaker_opened"),
    ({"probe": "p95_ms", "journey": "browse", "request": "GET /api/v1/products", "tolerance": {"max": 1}},
     "request: takes a journey or a request, not both"),
    ({"probe": "p95_ms", "request": "/api/products", "tolerance": {"max": 1}},
     "request: expected 'METHOD /route'"),
])
def test_a_request_probe_that_cannot_mean_anything_is_refused(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ExperimentInvalid, match=message):
        probes(doc)


def test_broker_probes_read_the_consumers_gauges_per_second_and_say_when_there_are_none() -> None:
    from chaos.metrics import BrokerGauges, parse_broker
    from chaos.samples import Sample

    text = ('# TYPE shoplab_broker_queue_depth gauge\n'
            'shoplab_broker_queue_depth{queue="notifications.order-events"} 7.0\n'
            'shoplab_broker_queue_depth{queue="notifications.order-events.dead"} 1.0\n'
            '# TYPE shoplab_notifications_consumer_last_delivery_lag_seconds gauge\n'
            'shoplab_notifications_consumer_last_delivery_lag_seconds 2.5\n')
    assert parse_broker(text) == BrokerGauges(7.0, 2.5)  # the dead-letter queue is not the backlog
    depths, lags = (0, 3, 9, 4, 0), (0.1, 2.1, 4.0, 2.2, 0.3)
    pr = ProfileRecord("resilient", True, phases=[PhaseWindow("fault", 0.0, 5.0)], samples=[
        Sample(float(t), "fault", None, broker=BrokerGauges(d, lag)) for t, (d, lag) in enumerate(zip(depths, lags, strict=True))])
    most, last, lag = evaluate_hypothesis(probes(
        {"probe": "queue_depth_max", "phase": "fault", "tolerance": {"min": 1}},
        {"probe": "queue_depth_last", "phase": "fault", "tolerance": {"max": 0}},
        {"probe": "delivery_lag_max_s", "phase": "fault", "tolerance": {"min": 2}},
    ), pr)
    assert (most.value, most.verdict) == (9.0, "met")
    assert (last.value, last.verdict) == (0.0, "met")
    assert (lag.value, lag.verdict, lag.detail) == (4.0, "met", "5 of 5 seconds read")
    # a stack without the broker has no such series: never a pass
    (none,) = evaluate_hypothesis(probes({"probe": "queue_depth_max", "phase": "fault", "tolerance": {"min": 1}}),
                                  record_with(10, 0))
    assert none.value is None and not none.met and none.verdict == "inconclusive"


def test_a_broker_probe_is_not_a_guard_and_takes_no_edge() -> None:
    with pytest.raises(ExperimentInvalid, match="edge: is not used by probe queue_depth_max"):
        probes({"probe": "queue_depth_max", "edge": "gateway__catalog", "tolerance": {"min": 1}})
    with pytest.raises(ExperimentInvalid, match="in a guard"):
        parse_experiment({**BASE, "abort_if": [{"probe": "queue_depth_max", "tolerance": {"max": 10}}]})


def test_the_scrape_reads_the_consumer_only_on_a_stack_with_the_broker_and_names_it_when_it_is_silent() -> None:
    import httpx

    from chaos.metrics import ShopMetrics
    from shop.topology import Topology

    topo = Topology()
    consumer = f"{topo.host}:{topo.consumer_metrics_port}"
    answers = {"up": True}

    def handler(request: httpx.Request) -> httpx.Response:
        if f"{request.url.host}:{request.url.port}" == consumer:
            if not answers["up"]:
                raise httpx.ConnectError("refused", request=request)
            return httpx.Response(200, text='shoplab_broker_queue_depth{queue="notifications.order-events"} 3\n')
        return httpx.Response(200, text="")

    transport = httpx.MockTransport(handler)
    with_broker = ShopMetrics(topo, broker=True, transport=transport)
    without = ShopMetrics(topo, transport=transport)
    try:
        snap = with_broker.scrape()
        assert snap.broker is not None and snap.broker.queue_depth == 3.0 and snap.unreachable == ()
        assert without.scrape().broker is None
        answers["up"] = False
        silent = with_broker.scrape()
        assert silent.broker is None and silent.unreachable == ("notifications-consumer",)
    finally:
        with_broker.close()
        without.close()


def test_retry_amplification_into_a_service_sums_every_edge_into_it() -> None:
    def at(t: float, phase: str, gateway: tuple[float, float], cart: tuple[float, float]) -> Sample:
        return Sample(t, phase, None, {"gateway__catalog": EdgeCounters(*gateway), "cart__catalog": EdgeCounters(*cart),
                                       "gateway__cart": EdgeCounters(100.0, 900.0)})
    record = ProfileRecord("adaptive", True, samples=[
        at(1, "baseline", (10, 10), (5, 5)), at(2, "fault", (60, 66), (55, 57)), at(3, "fault", (110, 116), (105, 107))])
    probe = probes({"probe": "retry_amplification", "edge": "*__catalog", "phase": "fault", "tolerance": {"max": 1.05}})
    (result,) = evaluate_hypothesis(probe, record)
    # (106 + 102) attempts over (100 + 100) requests: gateway→catalog alone is 1.06, into catalog 1.04
    assert result.value == pytest.approx(1.04) and result.met
    assert "on 2 edges" in result.detail and result.label == "retry_amplification[*__catalog]@fault"
