"""Unit tests of the resilient client: retries, budget, breaker, bulkhead, deadline, fallback, profiles."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from shop.kit.errors import DependencyTimeout, DependencyUnavailable
from shop.kit.resilience import DEADLINE_HEADER, PROFILES, ResilienceControl, ResilientClient, deadline_scope
from shop.kit.resilience import client as client_module
from shop.kit.resilience.policy import get_default_profile_name
from tests.support import poll_until

pytestmark = pytest.mark.unit

_callers = itertools.count()
Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that records requests and answers from a script."""

    def __init__(self, answer: Handler) -> None:
        self.requests: list[httpx.Request] = []
        self._answer = answer
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        return self._answer(request)


class Sleeps(list[float]):
    """A fake tenacity sleep: records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def always(status: int, headers: dict[str, str] | None = None) -> Handler:
    return lambda request: httpx.Response(status, json={"status": status}, headers=headers)


def make_client(
    handler: Handler,
    profile: str = "resilient",
    overrides: dict[str, object] | None = None,
    sleeps: Sleeps | None = None,
) -> ResilientClient:
    caller = f"unit{next(_callers)}"
    control = ResilienceControl(caller, profile, ["catalog"])
    if overrides:
        control.switch(overrides={"catalog": overrides})
    return ResilientClient(
        "catalog",
        "http://catalog.test",
        caller=caller,
        control=control,
        transport=httpx.MockTransport(handler),
        sleep=sleeps if sleeps is not None else Sleeps(),
    )


def metric(name: str, client: ResilientClient, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, {"caller": client.caller, "dependency": "catalog", **labels})
    return value or 0.0


# -- profiles ---------------------------------------------------------------------------------


def test_the_five_profiles_exist_and_only_resilient_has_breaker_bulkhead_and_budget() -> None:
    assert list(PROFILES) == ["naive", "timeouts", "retries", "resilient", "adaptive"]
    naive, timeouts, retries, resilient, adaptive = (PROFILES[n].default for n in PROFILES)
    assert naive.retry_max_attempts == 1 and naive.breaker_fail_max is None and naive.bulkhead_limit is None
    assert naive.read_timeout_s > timeouts.read_timeout_s
    assert not naive.propagate_deadline and timeouts.propagate_deadline
    assert timeouts.retry_max_attempts == 1
    assert retries.retry_max_attempts > 1 and retries.retry_budget_ratio is None and retries.breaker_fail_max is None
    assert resilient.retry_budget_ratio is not None and resilient.breaker_fail_max is not None
    assert resilient.bulkhead_limit is not None
    # adaptive: an AIMD limit instead of the fixed bulkhead, hedged reads, decorrelated jitter, shedding.
    assert adaptive.bulkhead_limit is None and adaptive.adaptive_limit_max is not None
    assert adaptive.hedge_budget_ratio is not None and adaptive.retry_decorrelated_jitter
    assert adaptive.retry_budget_ratio is not None and PROFILES["adaptive"].shed_limit is not None
    assert all(PROFILES[n].shed_limit is None for n in ("naive", "timeouts", "retries", "resilient"))


def test_the_default_profile_comes_from_the_environment_and_a_bad_name_fails_fast() -> None:
    assert get_default_profile_name({}) == "resilient"
    assert get_default_profile_name({"SHOPLAB_RESILIENCE_PROFILE": "naive"}) == "naive"
    with pytest.raises(ValueError, match="SHOPLAB_RESILIENCE_PROFILE"):
        get_default_profile_name({"SHOPLAB_RESILIENCE_PROFILE": "bogus"})


# -- retries ------------------------------------------------------------------------------------


def test_a_get_is_retried_on_5xx_until_it_succeeds() -> None:
    answers = iter([503, 502, 200])
    rec = Recorder(lambda r: httpx.Response(next(answers), json={}))
    client = make_client(rec)
    assert client.get("/products/1").status_code == 200
    assert len(rec.requests) == 3
    assert metric("shoplab_dependency_retries_total", client) == 2
    assert metric("shoplab_dependency_attempts_total", client, outcome="server_error") == 2
    assert metric("shoplab_dependency_requests_total", client, outcome="success") == 1


def test_one_call_observes_one_duration_spanning_every_attempt_and_backoff_under_its_outcome(
        monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([503, 200])
    now = [0.0]
    # A fake clock for the client's duration: each attempt of the callee takes 30 ms of it.
    monkeypatch.setattr(client_module.time, "perf_counter", lambda: now[0])

    def slow(request: httpx.Request) -> httpx.Response:
        now[0] += 0.03
        return httpx.Response(next(answers), json={})

    client = make_client(slow, sleeps=Sleeps())
    assert client.get("/products/1").status_code == 200
    name = "shoplab_dependency_duration_seconds"
    assert metric(f"{name}_count", client, outcome="success") == 1
    assert metric(f"{name}_sum", client, outcome="success") >= 0.06  # both attempts, not the last one
    assert metric(f"{name}_bucket", client, outcome="success", le="0.05") == 0
    assert metric(f"{name}_bucket", client, outcome="success", le="30.0") == 1
    failing = make_client(always(503), sleeps=Sleeps())
    with pytest.raises(DependencyUnavailable):
        failing.get("/products/1")
    assert metric(f"{name}_count", failing, outcome="server_error") == 1  # one call, however many attempts
    assert metric(f"{name}_count", failing, outcome="success") == 0


def test_a_post_without_idempotency_key_is_never_retried() -> None:
    rec = Recorder(always(503))
    client = make_client(rec, profile="retries")
    with pytest.raises(DependencyUnavailable):
        client.post("/reservations", json={})
    assert len(rec.requests) == 1


def test_a_post_with_an_idempotency_key_is_retried_and_carries_the_key() -> None:
    rec = Recorder(always(503))
    client = make_client(rec, profile="retries")
    with pytest.raises(DependencyUnavailable):
        client.post("/charges", json={}, idempotency_key="ord_1")
    assert len(rec.requests) == PROFILES["retries"].default.retry_max_attempts
    assert {r.headers["Idempotency-Key"] for r in rec.requests} == {"ord_1"}


def test_a_4xx_answer_comes_back_and_is_not_retried() -> None:
    rec = Recorder(always(404))
    client = make_client(rec)
    assert client.get("/products/9").status_code == 404
    assert len(rec.requests) == 1
    assert metric("shoplab_dependency_requests_total", client, outcome="client_error") == 1


def test_transport_errors_are_retried_and_end_as_dependency_unavailable_with_the_cause() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    rec = Recorder(refuse)
    client = make_client(rec, profile="retries")
    with pytest.raises(DependencyUnavailable) as info:
        client.get("/products")
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert info.value.details["reason"] == "unreachable"
    assert len(rec.requests) == 4


def test_a_timeout_ends_as_dependency_timeout_and_an_upstream_504_too() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(DependencyTimeout) as info:
        make_client(Recorder(slow), profile="timeouts").get("/products")
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    with pytest.raises(DependencyTimeout):
        make_client(Recorder(always(504)), profile="timeouts").get("/products")


def test_retry_after_is_honoured_as_the_minimum_wait() -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": "1"}), httpx.Response(200)])
    sleeps = Sleeps()
    client = make_client(lambda r: next(answers), sleeps=sleeps)
    assert client.get("/products").status_code == 200
    assert sleeps == [1.0]


def test_a_retry_after_longer_than_the_policy_allows_ends_the_call_without_retry() -> None:
    rec = Recorder(always(503, {"Retry-After": "30"}))
    client = make_client(rec, sleeps=Sleeps())
    with pytest.raises(DependencyUnavailable):
        client.get("/products")
    assert len(rec.requests) == 1


def test_backoff_uses_full_jitter_within_the_exponential_cap() -> None:
    sleeps = Sleeps()
    client = make_client(Recorder(always(503)), profile="retries", sleeps=sleeps)
    with pytest.raises(DependencyUnavailable):
        client.get("/products")
    policy = PROFILES["retries"].default
    assert len(sleeps) == policy.retry_max_attempts - 1
    for n, wait in enumerate(sleeps, start=1):
        assert 0 <= wait <= min(policy.retry_backoff_max_s, policy.retry_backoff_s * 2**n)


# -- retry budget -----------------------------------------------------------------------------


def test_the_retry_budget_bounds_retries_to_the_ratio_of_requests_under_total_failure() -> None:
    rec = Recorder(always(503))
    # Breaker off, so every request reaches the transport and only the budget limits retries.
    client = make_client(rec, overrides={"breaker_fail_max": None, "retry_max_attempts": 4})
    policy = client.control.runtime("catalog").policy
    requests = 200
    for _ in range(requests):
        with pytest.raises(DependencyUnavailable):
            client.get("/products")
    retries = len(rec.requests) - requests
    assert policy.retry_budget_ratio is not None
    assert retries <= policy.retry_budget_initial_tokens + policy.retry_budget_ratio * requests
    assert retries >= policy.retry_budget_ratio * requests - 1  # the budget is spent, not hoarded
    assert metric("shoplab_retry_budget_exhausted_total", client) > 0


def test_without_a_budget_every_request_makes_the_full_retry_count() -> None:
    rec = Recorder(always(503))
    client = make_client(rec, profile="retries")
    for _ in range(20):
        with pytest.raises(DependencyUnavailable):
            client.get("/products")
    assert len(rec.requests) == 20 * PROFILES["retries"].default.retry_max_attempts


# -- breaker ----------------------------------------------------------------------------------


def test_circuit_breaker_error_is_never_retried() -> None:
    rec = Recorder(always(503))
    client = make_client(rec, overrides={"breaker_fail_max": 1, "breaker_reset_timeout_s": 60})
    with pytest.raises(DependencyUnavailable) as first:
        client.get("/products")
    # The first attempt tripped the breaker; its one retry met the open breaker and stopped there.
    assert len(rec.requests) == 1
    assert first.value.details["reason"] == "breaker_open"
    assert metric("shoplab_dependency_attempts_total", client, outcome="breaker_open") == 1
    with pytest.raises(DependencyUnavailable) as second:
        client.get("/products")
    assert len(rec.requests) == 1
    assert second.value.details == {"dependency": "catalog", "reason": "breaker_open", "attempts": 1}


def test_the_breaker_opens_after_fail_max_consecutive_failures_and_logs_and_counts_the_transition() -> None:
    rec = Recorder(always(503))
    client = make_client(rec, overrides={"breaker_fail_max": 3, "retry_max_attempts": 1})
    with capture_logs() as logs:
        for _ in range(3):
            with pytest.raises(DependencyUnavailable):
                client.get("/products")
    assert client.control.runtime("catalog").breaker.current_state == "open"  # type: ignore[union-attr]
    assert metric("shoplab_breaker_state", client) == 2
    transitions = metric("shoplab_breaker_transitions_total", client, from_state="closed", to_state="open")
    assert transitions == 1
    events = [e for e in logs if e["event"] == "breaker_state_change"]
    assert [(e["from_state"], e["to_state"]) for e in events] == [("closed", "open")]


def test_concurrent_calls_through_one_breaker_run_at_the_same_time() -> None:
    # calling(), not call(): with call() the breaker's lock lets one call in at a time,
    # so the barrier below would never see four parties and would break.
    barrier = threading.Barrier(4, timeout=5)

    def meet(request: httpx.Request) -> httpx.Response:
        barrier.wait()
        return httpx.Response(200)

    client = make_client(Recorder(meet))
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: client.get("/products").status_code, range(4)))
    assert statuses == [200] * 4


# -- bulkhead ---------------------------------------------------------------------------------


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def test_a_bulkhead_of_n_rejects_call_n_plus_one_immediately_while_n_are_in_flight(gate: threading.Event) -> None:
    limit = 3

    def held(request: httpx.Request) -> httpx.Response:
        gate.wait(10)
        return httpx.Response(200)

    rec = Recorder(held)
    client = make_client(rec, overrides={"bulkhead_limit": limit})
    bulkhead = client.control.runtime("catalog").bulkhead
    assert bulkhead is not None
    with ThreadPoolExecutor(limit) as pool:
        futures = [pool.submit(client.get, "/products") for _ in range(limit)]
        poll_until(lambda: bulkhead.in_flight == limit, timeout_s=5, message="N calls in flight")
        with pytest.raises(DependencyUnavailable) as info:
            client.get("/products")
        assert info.value.details["reason"] == "bulkhead_full"
        assert len(rec.requests) == limit  # the rejected call never reached the transport
        gate.set()
        assert [f.result().status_code for f in futures] == [200] * limit
    assert metric("shoplab_bulkhead_rejections_total", client) == 1
    assert bulkhead.in_flight == 0
    assert client.get("/products").status_code == 200


# -- deadline ---------------------------------------------------------------------------------


def test_the_remaining_deadline_is_sent_downstream_and_caps_the_timeout() -> None:
    rec = Recorder(always(200))
    client = make_client(rec)
    with deadline_scope(0.25):
        client.get("/products")
    sent = int(rec.requests[0].headers[DEADLINE_HEADER])
    assert 0 < sent <= 250
    assert rec.requests[0].extensions["timeout"]["read"] <= 0.25


def test_a_spent_deadline_fails_with_dependency_timeout_without_calling() -> None:
    rec = Recorder(always(200))
    client = make_client(rec)
    with deadline_scope(0.0), pytest.raises(DependencyTimeout) as info:
        client.get("/products")
    assert rec.requests == []
    assert info.value.details["reason"] == "deadline_spent"


def test_naive_neither_sends_nor_obeys_a_deadline() -> None:
    rec = Recorder(always(200))
    client = make_client(rec, profile="naive")
    with deadline_scope(0.0):
        assert client.get("/products").status_code == 200
    assert DEADLINE_HEADER not in rec.requests[0].headers
    assert rec.requests[0].extensions["timeout"]["read"] == PROFILES["naive"].default.read_timeout_s


# -- fallback ----------------------------------------------------------------------------------


def test_a_fallback_answers_instead_of_the_error_and_is_counted() -> None:
    client = make_client(Recorder(always(503)), sleeps=Sleeps())
    seen: list[Exception] = []

    def popular(exc: Exception) -> list[str]:
        seen.append(exc)
        return ["popular"]

    assert client.get("/recommendations/1", fallback=popular) == ["popular"]
    assert isinstance(seen[0], DependencyUnavailable)
    assert metric("shoplab_dependency_fallbacks_total", client) == 1


# -- switching ---------------------------------------------------------------------------------


def test_switching_the_profile_changes_the_next_call() -> None:
    rec = Recorder(always(503))
    client = make_client(rec, profile="naive")
    with pytest.raises(DependencyUnavailable):
        client.get("/products")
    assert len(rec.requests) == 1
    client.control.switch("retries")
    with pytest.raises(DependencyUnavailable):
        client.get("/products")
    assert len(rec.requests) == 1 + PROFILES["retries"].default.retry_max_attempts
    client.control.switch("retries", {"catalog": {"retry_max_attempts": 2}})
    with pytest.raises(DependencyUnavailable):
        client.get("/products")
    assert len(rec.requests) == 1 + PROFILES["retries"].default.retry_max_attempts + 2


def test_switching_starts_fresh_parts_with_the_new_policy() -> None:
    client = make_client(Recorder(always(503)), overrides={"breaker_fail_max": 1, "retry_max_attempts": 1})
    with pytest.raises(DependencyUnavailable):
        client.get("/products")
    tripped = client.control.runtime("catalog").breaker
    assert tripped is not None and tripped.current_state == "open"
    client.control.switch("resilient", {"catalog": {"breaker_fail_max": 9}})
    rebuilt = client.control.runtime("catalog").breaker
    assert rebuilt is not tripped and rebuilt is not None
    assert (rebuilt.current_state, rebuilt.fail_max) == ("closed", 9)
    assert metric("shoplab_breaker_state", client) == 0
    client.control.switch("naive")
    assert client.control.runtime("catalog").breaker is None


def test_a_standalone_client_keeps_the_old_constructor() -> None:
    client = ResilientClient("catalog", "http://catalog.test", caller="cart", timeout_s=0.7)
    assert client.control.runtime("catalog").policy.read_timeout_s == 0.7
    client.close()


# -- traces -----------------------------------------------------------------------------------


def test_each_attempt_is_a_span_with_its_number_and_each_retry_a_span_event() -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    answers = iter([503, 503, 200])
    client = make_client(lambda r: httpx.Response(next(answers)))
    client._tracer = provider.get_tracer("test")  # the global provider is the SDK's to set, once
    with trace.use_span(provider.get_tracer("test").start_span("incoming"), end_on_exit=True):
        assert client.get("/products").status_code == 200
    spans = {s.name: s for s in exporter.get_finished_spans()}
    attempts = sorted(
        (s for s in spans.values() if "attempt" in s.name), key=lambda s: s.attributes["shoplab.attempt"]
    )
    assert [s.attributes["shoplab.attempt"] for s in attempts] == [1, 2, 3]
    assert [s.attributes["http.response.status_code"] for s in attempts] == [503, 503, 200]
    assert all(s.parent is not None and s.parent.span_id == spans["incoming"].context.span_id for s in attempts)
    retries = [e for e in spans["incoming"].events if e.name == "retry"]
    assert [e.attributes["shoplab.attempt"] for e in retries] == [1, 2]


def test_a_breaker_rejection_is_a_span_event() -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = make_client(Recorder(always(200)))
    client._tracer = provider.get_tracer("test")
    breaker = client.control.runtime("catalog").breaker
    assert breaker is not None
    breaker.reset_timeout = 60
    breaker.open()
    with trace.use_span(provider.get_tracer("test").start_span("incoming"), end_on_exit=True):
        with pytest.raises(DependencyUnavailable):
            client.get("/products")
    incoming = next(s for s in exporter.get_finished_spans() if s.name == "incoming")
    assert [e.name for e in incoming.events] == ["breaker_rejected"]
