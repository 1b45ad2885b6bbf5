"""Thresholds: failure ratios and per-journey percentiles decide a load run's exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.sampling import Snapshot, make_sample
from loadtests.settings import LoadSettings
from loadtests.thresholds import ThresholdError, Thresholds, evaluate_thresholds, parse_journey_limit

pytestmark = pytest.mark.unit

JOURNEYS = {
    "checkout": {"success": 9, "degraded": 0, "failure": 1, "total": 10, "failure_ratio": 0.1, "p95_ms": 900.0, "p99_ms": 1500.0},
    "browse": {"success": 20, "degraded": 5, "failure": 0, "total": 25, "failure_ratio": 0.0, "p95_ms": 80.0, "p99_ms": 90.0},
}


def _failed(checks: list) -> list[str]:
    return [c.name for c in checks if not c.passed]


def test_the_default_thresholds_fail_a_run_with_failed_journeys() -> None:
    checks = evaluate_thresholds(Thresholds(), requests=200, failures=1, journeys=JOURNEYS)
    assert _failed(checks) == ["journey failure ratio"]


def test_degraded_journeys_do_not_fail_the_default_thresholds() -> None:
    journeys = {"browse": JOURNEYS["browse"]}
    assert _failed(evaluate_thresholds(Thresholds(), requests=100, failures=0, journeys=journeys)) == []


def test_per_journey_percentile_limits_are_checked() -> None:
    thresholds = Thresholds(max_journey_failure_ratio=None).with_journey_limit("checkout", p95_ms=1000, p99_ms=1000)
    assert _failed(evaluate_thresholds(thresholds, requests=10, failures=0, journeys=JOURNEYS)) == ["checkout p99 ms"]


def test_a_limit_on_a_journey_that_never_ran_fails() -> None:
    thresholds = Thresholds().with_journey_limit("login", p95_ms=1000)
    assert "login p95 ms" in _failed(evaluate_thresholds(thresholds, requests=10, failures=0, journeys={}))


def test_a_run_without_any_journey_fails() -> None:
    assert "journeys run (min)" in _failed(evaluate_thresholds(Thresholds(), requests=0, failures=0, journeys={}))


def test_a_thresholds_file_sets_every_limit(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("max_fail_ratio: 0.05\njourneys:\n  checkout: {p95_ms: 800, max_failure_ratio: 0}\n")
    thresholds = Thresholds.from_file(path)
    assert thresholds.max_fail_ratio == 0.05
    assert thresholds.journeys["checkout"].p95_ms == 800
    assert _failed(evaluate_thresholds(thresholds, requests=100, failures=1, journeys=JOURNEYS)) == [
        "journey failure ratio",
        "checkout p95 ms",
        "checkout failure ratio",
    ]


def test_a_thresholds_file_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"max_p95": 3}')
    with pytest.raises(ThresholdError, match="unknown threshold keys"):
        Thresholds.from_file(path)


def test_journey_limit_flags_parse_name_and_milliseconds() -> None:
    assert parse_journey_limit("checkout=2500") == ("checkout", 2500.0)
    with pytest.raises(ThresholdError):
        parse_journey_limit("2500")


def test_a_sample_reports_rate_failures_and_latency_of_its_own_second() -> None:
    first = Snapshot(t=1.0, requests=100, failures=0, histogram={10: 100})
    second = Snapshot(t=2.0, requests=150, failures=5, histogram={10: 100, 500: 50}, journeys={"browse": {"success": 3}})
    sample = make_sample(first, second)
    assert sample["rps"] == 50.0
    assert sample["fail_ratio"] == 0.1
    assert sample["p50_ms"] == 500.0  # only this second's requests, all slow
    assert sample["requests"] == 150
    assert sample["journeys"] == {"browse": {"success": 3}}


def test_settings_round_trip_through_the_environment() -> None:
    settings = LoadSettings(shape="spike", users=7, rate_per_s=2.5, workers=2, out_dir="/tmp/x")
    assert LoadSettings.from_env(settings.to_env()) == settings
    with pytest.raises(ValueError, match="SHOPLAB_LOAD_USERS"):
        LoadSettings.from_env({"SHOPLAB_LOAD_USERS": "many"})


def test_a_buyer_mix_overrides_the_journey_weights_and_names_unknown_journeys() -> None:
    default = {"checkout": 4, "cart": 1, "login": 1}
    assert LoadSettings().buyer_weights(default) == default
    assert LoadSettings(buyer_mix="checkout=1").buyer_weights(default) == {"checkout": 1}
    with pytest.raises(ValueError, match="unknown journey 'pay'"):
        LoadSettings(buyer_mix="pay=1").buyer_weights(default)
