"""The adaptive profile's parts on fakes: AIMD limit, hedged reads, decorrelated jitter, priority shedding."""

from __future__ import annotations

import threading

import httpx
import pytest
from flask import Flask

from shop.gateway.model import classify_request
from shop.kit.errors import DependencyUnavailable
from shop.kit.resilience import PROFILES
from shop.kit.resilience.adaptive import (
    MIN_HEDGE_SAMPLES,
    AimdLimit,
    Hedger,
    LatencyWindow,
    decorrelated_jitter,
    wait_decorrelated_jitter,
)
from shop.kit.resilience.shedding import PRIORITIES, PriorityShedder
from tests.unit.test_resilience_client import Recorder, Sleeps, always, make_client, metric

pytestmark = pytest.mark.unit


# -- AIMD limit ---------------------------------------------------------------------------------


def test_the_aimd_limit_halves_on_a_drop_and_grows_about_one_per_round_of_good_calls() -> None:
    limit = AimdLimit(initial=16, min_limit=2, max_limit=32, backoff=0.5, latency_s=0.5)
    assert limit.try_acquire()
    limit.release(0.01, dropped=True)
    assert limit.limit == 8
    assert limit.try_acquire()
    limit.release(0.9, dropped=False)  # slower than latency_s counts as a drop too
    assert limit.limit == 4
    for _ in range(3):
        limit.try_acquire()
        limit.release(0.9, dropped=False)
    assert limit.limit == 2  # never below min
    for _ in range(2 + 3 + 4):  # one round of `limit` good calls adds about one
        assert limit.try_acquire()
        limit.release(0.01, dropped=False)
    assert limit.limit == 4
    for _ in range(2000):
        limit.try_acquire()
        limit.release(0.01, dropped=False)
    assert limit.limit == 32  # never above max


def test_the_aimd_limit_refuses_the_call_past_it_without_waiting() -> None:
    limit = AimdLimit(initial=3, min_limit=1, max_limit=8)
    assert [limit.try_acquire() for _ in range(4)] == [True, True, True, False]
    assert limit.in_flight == 3


def test_the_client_refuses_past_the_adaptive_limit_and_shrinks_it_on_failures() -> None:
    release = threading.Event()
    entered = threading.Semaphore(0)

    def held(request: httpx.Request) -> httpx.Response:
        entered.release()
        release.wait(5)
        return httpx.Response(200, json={})

    client = make_client(Recorder(held), profile="adaptive",
                         overrides={"adaptive_limit_initial": 2, "adaptive_limit_min": 1, "hedge_budget_ratio": None})
    threads = [threading.Thread(target=client.get, args=("/products/1",)) for _ in range(2)]
    for t in threads:
        t.start()
    assert entered.acquire(timeout=5) and entered.acquire(timeout=5)
    with pytest.raises(DependencyUnavailable) as refused:
        client.get("/products/1")
    assert refused.value.details["reason"] == "limit_reached"
    release.set()
    for t in threads:
        t.join(5)
    assert metric("shoplab_adaptive_limit_rejections_total", client) == 1

    failing = make_client(Recorder(always(503)), profile="adaptive",
                          overrides={"adaptive_limit_initial": 16, "hedge_budget_ratio": None})
    before = failing.control.runtime("catalog").limiter
    assert before is not None and before.limit == 16
    with pytest.raises(DependencyUnavailable):
        failing.get("/products/1")
    assert before.limit == 8
    assert metric("shoplab_adaptive_limit", failing) == 8


# -- hedging ------------------------------------------------------------------------------------


def test_the_latency_window_quantile_is_the_nearest_rank() -> None:
    window = LatencyWindow(size=100)
    assert window.quantile(0.95) is None
    for ms in range(1, 101):
        window.observe(ms / 1000)
    assert window.quantile(0.95) == pytest.approx(0.095)
    assert window.quantile(0.5) == pytest.approx(0.050)


def test_the_hedger_waits_for_enough_samples_and_never_hedges_faster_than_its_floor() -> None:
    hedger = Hedger(ratio=0.05, quantile=0.95, min_delay_s=0.02)
    for _ in range(MIN_HEDGE_SAMPLES - 1):
        hedger.latencies.observe(0.001)
    assert hedger.delay_s() is None
    hedger.latencies.observe(0.001)
    assert hedger.delay_s() == 0.02
    for _ in range(200):
        hedger.latencies.observe(0.3)
    assert hedger.delay_s() == pytest.approx(0.3)


def test_the_hedge_delay_is_the_observed_quantile_clamped_to_floor_and_cap() -> None:
    hedger = Hedger(ratio=0.05, quantile=0.95, min_delay_s=0.2, max_delay_s=0.3)
    for _ in range(MIN_HEDGE_SAMPLES * 10):  # fast reads: their p95 is below the floor
        hedger.latencies.observe(0.03)
    assert hedger.delay_s() == 0.2
    for _ in range(11):  # 5.5 % of the window in between: the p95 itself
        hedger.latencies.observe(0.25)
    assert hedger.delay_s() == pytest.approx(0.25)
    for _ in range(20):  # a slow mode of 800 ms past the p95 cannot drag the delay up to itself
        hedger.latencies.observe(0.8)
    assert hedger.latencies.quantile(0.95) == pytest.approx(0.8)
    assert hedger.delay_s() == 0.3
    crossed = Hedger(ratio=0.05, quantile=0.95, min_delay_s=0.4, max_delay_s=0.3)
    for _ in range(MIN_HEDGE_SAMPLES):
        crossed.latencies.observe(0.8)
    assert crossed.delay_s() == 0.4  # floor and cap crossed: the floor wins
    assert crossed.snapshot()["max_delay_s"] == 0.3


def test_the_hedge_floor_follows_the_median_read_only_above_min_delay() -> None:
    hedger = Hedger(ratio=0.05, quantile=0.95, min_delay_s=0.2, max_delay_s=0.3, floor_median_factor=10.0)
    for _ in range(MIN_HEDGE_SAMPLES * 10):  # a quiet machine: fast reads of 10 ms, 10 x median = 0.1 s
        hedger.latencies.observe(0.01)
    assert hedger.floor_s() == 0.2
    assert hedger.delay_s() == 0.2
    for _ in range(200):  # a busy one: the whole window now 40 ms, the floor 0.4 s, past the cap
        hedger.latencies.observe(0.04)
    assert hedger.floor_s() == pytest.approx(0.4)
    assert hedger.delay_s() == pytest.approx(0.4)  # floor and cap crossed: the floor wins
    for _ in range(12):  # a slow mode in the window moves the p95, not the median (6 % of 200)
        hedger.latencies.observe(0.8)
    assert hedger.latencies.quantile(0.95) == pytest.approx(0.8)
    assert hedger.delay_s() == pytest.approx(0.4)
    state = hedger.snapshot()
    assert (state["median_s"], state["floor_s"], state["floor_median_factor"]) == (0.04, 0.4, 10.0)
    fixed = Hedger(ratio=0.05, quantile=0.95, min_delay_s=0.2, max_delay_s=0.3)
    for _ in range(MIN_HEDGE_SAMPLES):
        fixed.latencies.observe(0.04)
    assert fixed.delay_s() == 0.2  # without a factor the floor stays put


def test_the_hedge_budget_starts_empty_and_allows_ratio_times_requests() -> None:
    hedger = Hedger(ratio=0.05, quantile=0.95, min_delay_s=0.02)
    assert not hedger.budget.try_withdraw()
    granted = 0
    for _ in range(200):
        hedger.budget.deposit()
        granted += hedger.budget.try_withdraw()
    assert granted <= 0.05 * 200
    assert granted >= 0.05 * 200 - 1


def test_saved_hedge_tokens_pay_for_a_burst_up_to_max_tokens() -> None:
    burst = []
    for max_tokens in (1.0, 10.0, 25.0):
        hedger = Hedger(ratio=0.05, quantile=0.95, min_delay_s=0.02, max_tokens=max_tokens)
        for _ in range(600):  # 600 reads while all is well: 30 tokens fed, max_tokens kept
            hedger.budget.deposit()
        burst.append(sum(hedger.budget.try_withdraw() for _ in range(30)))  # then 30 slow reads at once
    assert burst == [1, 10, 25]


def test_the_adaptive_profile_hedges_within_5_percent_with_a_capped_delay() -> None:
    policy = PROFILES["adaptive"].default
    assert policy.hedge_budget_ratio is not None and policy.hedge_budget_ratio <= 0.05
    assert policy.hedge_max_delay_s is not None and policy.hedge_min_delay_s <= policy.hedge_max_delay_s < 0.8
    hedger = make_client(Recorder(always(200)), profile="adaptive").control.runtime("catalog").hedger
    assert hedger is not None and hedger.budget.max_tokens == policy.hedge_budget_max_tokens
    assert hedger.max_delay_s == policy.hedge_max_delay_s
    assert hedger.floor_median_factor == policy.hedge_floor_median_factor


def test_a_late_read_is_hedged_and_the_copy_answers_while_the_first_is_stuck() -> None:
    stuck = threading.Event()
    calls: list[int] = []
    lock = threading.Lock()

    def answer(request: httpx.Request) -> httpx.Response:
        with lock:
            calls.append(1)
            n = len(calls)
        if n == MIN_HEDGE_SAMPLES + 1:
            stuck.wait(5)  # the slow primary: held until the test ends
            return httpx.Response(200, json={"who": "primary"})
        return httpx.Response(200, json={"who": "copy" if n > MIN_HEDGE_SAMPLES else "warm-up"})

    client = make_client(Recorder(answer), profile="adaptive")
    for _ in range(MIN_HEDGE_SAMPLES):
        assert client.get("/products/1").json()["who"] == "warm-up"
    try:
        resp = client.get("/products/1")
    finally:
        stuck.set()
    assert resp.json()["who"] == "copy"
    assert metric("shoplab_hedges_total", client, result="sent") == 1
    assert metric("shoplab_hedges_total", client, result="won") == 1
    assert metric("shoplab_dependency_attempts_total", client, outcome="hedge") == 1
    assert metric("shoplab_dependency_requests_total", client, outcome="success") == MIN_HEDGE_SAMPLES + 1


def test_a_post_is_never_hedged() -> None:
    client = make_client(Recorder(always(201)), profile="adaptive")
    for _ in range(MIN_HEDGE_SAMPLES + 5):
        client.post("/work", json={})
    assert metric("shoplab_hedges_total", client, result="sent") == 0
    assert client.control.runtime("catalog").hedger is not None
    assert len(client.control.runtime("catalog").hedger.latencies) == 0  # type: ignore[union-attr]


# -- decorrelated jitter ------------------------------------------------------------------------


def test_decorrelated_jitter_draws_between_base_and_three_times_the_last_sleep_capped() -> None:
    lows = lambda a, b: a  # noqa: E731 - the rng's extremes
    highs = lambda a, b: b  # noqa: E731
    assert decorrelated_jitter(0.05, base_s=0.05, cap_s=1.0, rng=highs) == pytest.approx(0.15)
    assert decorrelated_jitter(0.15, base_s=0.05, cap_s=1.0, rng=highs) == pytest.approx(0.45)
    assert decorrelated_jitter(0.45, base_s=0.05, cap_s=1.0, rng=highs) == 1.0
    assert decorrelated_jitter(0.45, base_s=0.05, cap_s=1.0, rng=lows) == 0.05


def test_the_adaptive_profile_retries_with_decorrelated_jitter_under_its_budget() -> None:
    sleeps = Sleeps()
    seen: list[tuple[float, float]] = []

    def rng(a: float, b: float) -> float:
        seen.append((a, b))
        return b

    wait = wait_decorrelated_jitter(0.05, 1.0, rng=rng)

    class State:  # what tenacity hands a wait strategy, enough of it
        pass

    state = State()
    assert [wait(state) for _ in range(3)] == pytest.approx([0.15, 0.45, 1.0])  # type: ignore[arg-type]
    assert seen[1] == pytest.approx((0.05, 0.45))
    answers = iter([503, 503, 200])
    client = make_client(Recorder(lambda r: httpx.Response(next(answers), json={})), profile="adaptive",
                         overrides={"hedge_budget_ratio": None, "retry_budget_initial_tokens": 2.0,
                                    "retry_budget_max_tokens": 2.0}, sleeps=sleeps)
    assert client.get("/products/1").status_code == 200
    assert len(sleeps) == 2
    policy = client.control.runtime("catalog").policy
    assert all(policy.retry_backoff_s <= s <= policy.retry_backoff_max_s for s in sleeps)


# -- priority shedding ------------------------------------------------------------------------------


def test_shedding_keeps_the_last_slots_for_checkout() -> None:
    shedder = PriorityShedder(10)
    assert [shedder.allowed(p) for p in PRIORITIES] == [10, 9, 7, 5]
    for _ in range(7):
        assert shedder.try_enter("checkout")
    assert not shedder.try_enter("browse") and not shedder.try_enter("recommendations")
    assert shedder.try_enter("cart") and shedder.try_enter("cart")
    assert shedder.try_enter("checkout")
    assert not shedder.try_enter("cart")
    shedder.leave()
    shedder.leave()
    assert shedder.try_enter("cart")


def test_the_gateway_ranks_checkout_over_cart_over_browse_and_never_sheds_probes() -> None:
    assert classify_request("POST", "/api/v1/checkout") == "checkout"
    assert classify_request("POST", "/api/v1/cart/items") == "cart"
    assert classify_request("GET", "/api/v1/orders") == "cart"
    assert classify_request("POST", "/api/v1/auth/login") == "cart"
    assert classify_request("GET", "/api/v1/products/3") == "browse"
    # the deprecated unversioned paths rank like their successors
    assert classify_request("POST", "/api/checkout") == "checkout"
    assert classify_request("GET", "/api/products/3") == "browse"
    assert classify_request("GET", "/healthz") is None
    assert classify_request("GET", "/metrics") is None


def test_a_shed_request_is_a_json_503_with_retry_after() -> None:
    from shop.kit.app import create_service_app
    from shop.kit.resilience.shedding import set_priority_classifier

    gate = threading.Event()
    inside = threading.Semaphore(0)

    def setup(app: Flask, settings: object) -> None:
        set_priority_classifier(app, lambda method, path: "browse" if path == "/slow" else None)

        @app.get("/slow")
        def slow() -> dict[str, bool]:
            inside.release()
            gate.wait(5)
            return {"ok": True}

    app = create_service_app("catalog", setup=setup, env={"SHOPLAB_RESILIENCE_PROFILE": "adaptive",
                                                          "SHOPLAB_TELEMETRY": "off", "SHOPLAB_ADMIN_TOKEN": "t"})
    limit = PROFILES["adaptive"].shed_limit
    assert limit is not None
    allowed = PriorityShedder(limit).allowed("browse")
    threads = [threading.Thread(target=app.test_client().get, args=("/slow",)) for _ in range(allowed)]
    for t in threads:
        t.start()
    try:
        for _ in range(allowed):
            assert inside.acquire(timeout=5)
        resp = app.test_client().get("/slow")
    finally:
        gate.set()
        for t in threads:
            t.join(5)
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "1"
    assert resp.get_json()["error"]["code"] == "overloaded"
    assert resp.get_json()["error"]["details"]["priority"] == "browse"


def test_an_app_fault_delays_only_its_latency_rate_of_requests() -> None:
    import random

    from shop.kit.faults import FaultSet, FaultSpec

    faults = FaultSet(rng=random.Random(7))
    some = FaultSpec(route="/products", latency_ms=800, latency_rate=0.05)
    delayed = sum(faults.should_delay(some) for _ in range(4000))
    assert 150 <= delayed <= 250  # 5 % of 4000 is 200; the seeded draw stays well inside
    assert all(faults.should_delay(FaultSpec(route="/p", latency_ms=1)) for _ in range(50))
    assert not any(faults.should_delay(FaultSpec(route="/p", latency_ms=0)) for _ in range(50))
