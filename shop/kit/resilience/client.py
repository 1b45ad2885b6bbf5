"""Call one dependency through adaptive limit → bulkhead → tenacity retries (budgeted) → pybreaker breaker → httpx.

Order of the layers, outermost first, and why:

1. bulkhead: one slot per logical call, taken without waiting (full → 503 at once);
2. tenacity retry: only idempotent methods or calls with an ``Idempotency-Key``; full-jitter
   exponential backoff; ``Retry-After`` honoured; stops at the attempt cap, when the
   deadline is spent, or when the retry budget has no token; ``CircuitBreakerError`` is
   never retried (the breaker sits *inside* the retry, so an open breaker ends the call);
3. breaker: counts transport errors, timeouts and 5xx answers (raised as
   ``UpstreamStatusError`` since httpx does not raise on 5xx);
4. httpx with connect/read timeouts capped by the remaining deadline, which is also sent
   downstream in ``X-Shoplab-Deadline-Ms``.

Under ``adaptive``, an AIMD limit (``adaptive.py``) sits outside the bulkhead, and a GET is
hedged inside the breaker: sent on a pool thread, and sent again if unanswered after the
observed p95, the first answer winning (the loser is read to its end and dropped).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar, overload

import httpx
import pybreaker
from flask import has_request_context
from opentelemetry import propagate, trace

from shop.kit.errors import DependencyError, DependencyUnavailable, get_request_id
from shop.kit.plants import is_planted
from shop.kit.resilience.adaptive import Hedger
from shop.kit.resilience.control import ResilienceControl
from shop.kit.resilience.deadline import DEADLINE_HEADER, deadline_scope, format_header, get_remaining_s
from shop.kit.resilience.instruments import get_instruments
from shop.kit.resilience.policy import get_default_profile_name
from shop.kit.resilience.retrying import MIN_USEFUL_S, Call, RetryHooks, make_retrying
from shop.kit.resilience.upstream import DeadlineSpent, UpstreamStatusError, to_kit_error

Fallback = Callable[[Exception], Any]
T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
REQUEST_OUTCOMES = (
    "success",
    "client_error",
    "server_error",
    "timeout",
    "unavailable",
    "breaker_open",
    "bulkhead_full",
    "deadline_spent",
    "limit_reached",
)
# "hedge": the second copy of a hedged read (so attempts / requests counts hedges as extra load).
ATTEMPT_OUTCOMES = ("success", "client_error", "server_error", "timeout", "transport_error", "breaker_open", "hedge")
HEDGE_THREADS = 64
# Every call names its caller, so an app fault can hit one edge (shop.kit.faults matches on it).
CALLER_HEADER = "X-Shoplab-Caller"
# The planted bug ``inner_timeout_over_budget``: a call with a fallback waits this long, deadline or not.
PLANTED_INNER_TIMEOUT_S = 5.0
@contextlib.contextmanager
def _ended(span: trace.Span) -> Iterator[None]:
    try:
        yield
    finally:
        span.end()


class ResilientClient:
    """A client for one dependency of one caller; the policy comes from its ``ResilienceControl``."""

    def __init__(
        self,
        dependency: str,
        base_url: str,
        *,
        caller: str,
        control: ResilienceControl | None = None,
        profile: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.dependency = dependency
        self.caller = caller
        if control is None:
            control = ResilienceControl(caller, profile or get_default_profile_name(), [dependency])
            if timeout_s is not None:
                control.switch(
                    overrides={dependency: {"connect_timeout_s": timeout_s, "read_timeout_s": timeout_s}}
                )
        self.control = control
        control.runtime(dependency)  # register, so the admin API knows this dependency
        self._http = httpx.Client(base_url=base_url, transport=transport)
        self._tracer = trace.get_tracer(__name__)
        inst = get_instruments()
        self._retrying = make_retrying(
            RetryHooks(
                dependency,
                retries=inst.retries.labels(caller, dependency),
                budget_exhausted=inst.budget_exhausted.labels(caller, dependency),
            ),
            sleep=sleep,
        )
        # Bind label children once: cheaper per call, and every series exists (at 0) from the start.
        self._requests = {o: inst.requests.labels(caller, dependency, o) for o in REQUEST_OUTCOMES}
        self._durations = {o: inst.duration.labels(caller, dependency, o) for o in REQUEST_OUTCOMES}
        self._attempts = {o: inst.attempts.labels(caller, dependency, o) for o in ATTEMPT_OUTCOMES}
        self._bulkhead_rejections = inst.bulkhead_rejections.labels(caller, dependency)
        self._bulkhead_in_flight = inst.bulkhead_in_flight.labels(caller, dependency)
        self._fallbacks = inst.fallbacks.labels(caller, dependency)
        self._hedges = {r: inst.hedges.labels(caller, dependency, r) for r in ("sent", "won", "skipped")}
        self._limit_gauge = inst.adaptive_limit.labels(caller, dependency)
        self._limit_rejections = inst.limit_rejections.labels(caller, dependency)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # -- public interface -----------------------------------------------------------------
    @overload
    def request(
        self, method: str, path: str, *, idempotency_key: str | None = None, fallback: None = None, **kwargs: Any
    ) -> httpx.Response: ...

    @overload
    def request(
        self,
        method: str,
        path: str,
        *,
        idempotency_key: str | None = None,
        fallback: Callable[[DependencyError], T],
        **kwargs: Any,
    ) -> httpx.Response | T: ...

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotency_key: str | None = None,
        fallback: Callable[[DependencyError], T] | None = None,
        **kwargs: Any,
    ) -> httpx.Response | T:
        """Send one logical request; return the response (2xx-4xx) or ``fallback(error)``.

        Raises DependencyUnavailable (503: refused, reset, 5xx, breaker open, bulkhead
        full) or DependencyTimeout (504: timed out, deadline spent), cause kept.
        """
        rt = self.control.runtime(self.dependency)
        method = method.upper()
        headers = dict(kwargs.pop("headers", None) or {})
        headers[CALLER_HEADER] = self.caller  # lets an app fault hit one edge (shop.kit.faults)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if has_request_context():
            headers.setdefault("X-Request-ID", get_request_id())
        # Decisions (retry, fallback, bulkhead, budget) are events on the span the caller is in;
        # only attempts get spans of their own (one more span per call would cost more than it shows).
        call = Call(method, path, headers, kwargs, rt, started=time.perf_counter(), span=trace.get_current_span())
        budget_s = rt.policy.fallback_budget_s if fallback is not None else None
        call.max_attempts = (
            rt.policy.retry_max_attempts if budget_s is None
            else min(rt.policy.retry_max_attempts, rt.policy.fallback_max_attempts)
        )
        retryable = call.max_attempts > 1 and (method in IDEMPOTENT_METHODS or idempotency_key is not None
                                               or is_planted("retry_post_without_key"))  # PLANTED BUG
        if fallback is not None and is_planted("inner_timeout_over_budget"):  # PLANTED BUG
            budget_s, call.planted_timeout_s = None, PLANTED_INNER_TIMEOUT_S
        # A call the caller can do without gets a short deadline of its own (never later than the
        # request's): its timeouts, backoff and retries all fit in it, then the fallback answers.
        with deadline_scope(budget_s):
            result = self._run(call, retryable)
        if isinstance(result, httpx.Response):
            return result
        if fallback is None:
            raise result
        self._fallbacks.inc()
        call.span.add_event("fallback", {"shoplab.dependency": self.dependency, "shoplab.reason": result.code})
        return fallback(result)

    @overload
    def get(self, path: str, *, fallback: None = None, **kwargs: Any) -> httpx.Response: ...

    @overload
    def get(self, path: str, *, fallback: Callable[[DependencyError], T], **kwargs: Any) -> httpx.Response | T: ...

    def get(
        self, path: str, *, fallback: Callable[[DependencyError], T] | None = None, **kwargs: Any
    ) -> httpx.Response | T:
        """GET (idempotent, so retryable)."""
        return self.request("GET", path, fallback=fallback, **kwargs)

    @overload
    def post(self, path: str, *, fallback: None = None, **kwargs: Any) -> httpx.Response: ...

    @overload
    def post(self, path: str, *, fallback: Callable[[DependencyError], T], **kwargs: Any) -> httpx.Response | T: ...

    def post(
        self, path: str, *, fallback: Callable[[DependencyError], T] | None = None, **kwargs: Any
    ) -> httpx.Response | T:
        """POST (retried only with an idempotency key)."""
        return self.request("POST", path, fallback=fallback, **kwargs)

    @overload
    def put(self, path: str, *, fallback: None = None, **kwargs: Any) -> httpx.Response: ...

    @overload
    def put(self, path: str, *, fallback: Callable[[DependencyError], T], **kwargs: Any) -> httpx.Response | T: ...

    def put(
        self, path: str, *, fallback: Callable[[DependencyError], T] | None = None, **kwargs: Any
    ) -> httpx.Response | T:
        """PUT (idempotent)."""
        return self.request("PUT", path, fallback=fallback, **kwargs)

    @overload
    def delete(self, path: str, *, fallback: None = None, **kwargs: Any) -> httpx.Response: ...

    @overload
    def delete(self, path: str, *, fallback: Callable[[DependencyError], T], **kwargs: Any) -> httpx.Response | T: ...

    def delete(
        self, path: str, *, fallback: Callable[[DependencyError], T] | None = None, **kwargs: Any
    ) -> httpx.Response | T:
        """DELETE (idempotent)."""
        return self.request("DELETE", path, fallback=fallback, **kwargs)

    def close(self) -> None:
        """Close the underlying connection pool (and the hedging threads, if any ran)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        self._http.close()

    def __enter__(self) -> ResilientClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the layers ---------------------------------------------------------------------------
    def _run(self, call: Call, retryable: bool) -> httpx.Response | DependencyError:
        """Run the call through the adaptive limit (when on); see ``_run_bulkheaded``."""
        limiter = call.rt.limiter
        if limiter is None:
            return self._run_bulkheaded(call, retryable)
        if not limiter.try_acquire():
            self._limit_rejections.inc()
            return self._refuse(call, "limit_reached", "adaptive_limit_rejected", limiter.limit,
                                f"adaptive limit reached ({limiter.limit} calls in flight)")
        result: httpx.Response | DependencyError | None = None
        try:
            result = self._run_bulkheaded(call, retryable)
        finally:
            before = limiter.limit
            dropped = not isinstance(result, httpx.Response) or result.status_code >= 500
            if isinstance(result, DependencyError):
                dropped = (result.details or {}).get("reason") != "bulkhead_full"
            limiter.release(time.perf_counter() - call.started, dropped=dropped)
            after = limiter.limit
            if after != before:
                self._limit_gauge.set(after)
                call.span.add_event(
                    "adaptive_limit_changed",
                    {"shoplab.dependency": self.dependency, "shoplab.limit": after, "shoplab.previous_limit": before},
                )
        return result

    def _run_bulkheaded(self, call: Call, retryable: bool) -> httpx.Response | DependencyError:
        """Run the call through bulkhead and retries; return the response or the kit error."""
        rt = call.rt
        bulkhead = rt.bulkhead
        if bulkhead is not None:
            if not bulkhead.try_acquire():
                self._bulkhead_rejections.inc()
                return self._refuse(call, "bulkhead_full", "bulkhead_rejected", bulkhead.limit,
                                    f"bulkhead full ({bulkhead.limit} calls in flight)")
            self._bulkhead_in_flight.inc()
        try:
            if rt.budget is not None:
                rt.budget.deposit()
            try:
                try:
                    resp = self._attempt(call)
                except (httpx.TransportError, UpstreamStatusError) as first:
                    if not retryable:
                        raise
                    # tenacity decides every retry; it starts from the first attempt's failure,
                    # replayed, so a call that succeeds at once does not pay for its machinery.
                    resp = self._retrying(self._replay_then_attempt, call, first)
            except (httpx.TransportError, UpstreamStatusError, pybreaker.CircuitBreakerError, DeadlineSpent) as exc:
                return self._to_kit_error(exc, call)
        finally:
            if bulkhead is not None:
                bulkhead.release()
                self._bulkhead_in_flight.dec()
        self._count(call, "success" if resp.status_code < 400 else "client_error")
        return resp

    def _refuse(self, call: Call, reason: str, event: str, limit: int, why: str) -> DependencyUnavailable:
        """Count a call refused at once by a limit (``reason`` is its outcome) and say so on the span."""
        self._count(call, reason)
        call.span.add_event(event, {"shoplab.dependency": self.dependency, "shoplab.limit": limit})
        return DependencyUnavailable(
            f"{self.dependency}: {why}",
            dependency=self.dependency,
            details={"dependency": self.dependency, "reason": reason},
        )

    def _count(self, call: Call, outcome: str) -> None:
        """Count the finished logical call and observe its duration as this caller saw it."""
        self._requests[outcome].inc()
        self._durations[outcome].observe(time.perf_counter() - call.started)

    def _replay_then_attempt(self, call: Call, first: BaseException) -> httpx.Response:
        """Raise the first attempt's failure on tenacity's attempt 1, then make real attempts."""
        if call.attempt == 1 and not call.replayed:
            call.replayed = True
            raise first
        return self._attempt(call)

    def _attempt(self, call: Call) -> httpx.Response:
        """Make one attempt through the breaker, with timeouts capped by the deadline."""
        call.attempt += 1
        timeout = self._get_timeout(call)
        span = self._tracer.start_span(
            f"{self.dependency} {call.method} attempt {call.attempt}",
            # The attempt is the call's one client span: it carries the context to the callee
            # (see _send), so no httpx instrumentation wraps it in a second span.
            kind=trace.SpanKind.CLIENT,
            attributes={
                "shoplab.dependency": self.dependency,
                "shoplab.attempt": call.attempt,
                "http.request.method": call.method,
                "url.path": call.path,
                "http.request.resend_count": call.attempt - 1,
            },
        )
        # Only a recorded span needs to become the current one (the callee's parent);
        # attaching a no-op span to the context costs more than the rest of the attempt's bookkeeping.
        with trace.use_span(span, end_on_exit=True) if span.is_recording() else _ended(span):
            breaker = call.rt.breaker
            try:
                if breaker is None:
                    resp = self._send_maybe_hedged(call, timeout)
                else:
                    # Trap: CircuitBreaker.call() holds the breaker's one RLock for the whole
                    # call, so all calls through a breaker would run one at a time. calling()
                    # takes the lock only to check the state, never during the body (so in
                    # half-open, concurrent calls may all go through as trials: the lesser evil).
                    with breaker.calling():
                        resp = self._send_maybe_hedged(call, timeout)
            except pybreaker.CircuitBreakerError:
                self._attempts["breaker_open"].inc()
                span.add_event("breaker_rejected", {"shoplab.dependency": self.dependency})
                call.span.add_event(
                    "breaker_rejected", {"shoplab.dependency": self.dependency, "shoplab.attempt": call.attempt}
                )
                raise
            except httpx.TimeoutException:
                self._attempts["timeout"].inc()
                raise
            except httpx.TransportError:
                self._attempts["transport_error"].inc()
                raise
            except UpstreamStatusError as exc:
                self._attempts["server_error"].inc()
                span.set_attribute("http.response.status_code", exc.response.status_code)
                raise
            span.set_attribute("http.response.status_code", resp.status_code)
            self._attempts["success" if resp.status_code < 400 else "client_error"].inc()
            return resp

    def _send_maybe_hedged(self, call: Call, timeout: httpx.Timeout) -> httpx.Response:
        hedger = call.rt.hedger
        if hedger is None or call.method != "GET":
            return self._send(call, timeout)
        hedger.budget.deposit()
        delay = hedger.delay_s()
        if delay is None:  # too few latencies known yet to say what "late" is
            resp, elapsed = self._timed_send(call, timeout)
            hedger.latencies.observe(elapsed)
            return resp
        return self._send_hedged(call, timeout, hedger, delay)

    def _send_hedged(self, call: Call, timeout: httpx.Timeout, hedger: Hedger, delay: float) -> httpx.Response:
        """Send the read; if it has not answered after ``delay`` and the budget allows, send a copy; first answer wins."""
        pool = self._get_pool()
        primary = pool.submit(contextvars.copy_context().run, self._timed_send, call, timeout)
        done, _ = wait([primary], timeout=delay)
        if done:
            return self._settle(primary, hedger)
        attrs: dict[str, Any] = {"shoplab.dependency": self.dependency, "shoplab.delay_s": round(delay, 4)}
        if not hedger.budget.try_withdraw():
            self._hedges["skipped"].inc()
            call.span.add_event("hedge_skipped", {**attrs, "shoplab.reason": "budget"})
            return self._settle(primary, hedger)
        self._hedges["sent"].inc()
        self._attempts["hedge"].inc()
        call.span.add_event("hedge_sent", attrs)
        hedge = pool.submit(contextvars.copy_context().run, self._timed_send, call, timeout)
        pending: set[Future[tuple[httpx.Response, float]]] = {primary, hedge}
        failure: BaseException | None = None
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: f is hedge):  # the primary first on a tie
                error = future.exception()
                if error is None:
                    if future is hedge:
                        self._hedges["won"].inc()
                        call.span.add_event("hedge_won", attrs)
                    return self._settle(future, hedger)
                failure = failure or error
        assert failure is not None
        raise failure

    def _settle(self, future: Future[tuple[httpx.Response, float]], hedger: Hedger) -> httpx.Response:
        resp, elapsed = future.result()
        hedger.latencies.observe(elapsed)
        return resp

    def _get_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            with self._pool_lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(HEDGE_THREADS, thread_name_prefix=f"hedge-{self.dependency}")
        return self._pool

    def _timed_send(self, call: Call, timeout: httpx.Timeout) -> tuple[httpx.Response, float]:
        started = time.perf_counter()
        resp = self._send(call, timeout)
        return resp, time.perf_counter() - started

    def _send(self, call: Call, timeout: httpx.Timeout) -> httpx.Response:
        headers = dict(call.headers)
        propagate.inject(headers)  # W3C traceparent of the current span: the attempt when recorded
        resp = self._http.request(call.method, call.path, headers=headers, timeout=timeout, **call.kwargs)
        if resp.status_code == 503 and is_planted("final_503"):  # PLANTED BUG: 503 is "try later", not "no"
            return resp
        if resp.status_code >= 500:
            raise UpstreamStatusError(resp)
        return resp

    def _get_timeout(self, call: Call) -> httpx.Timeout:
        """Return the attempt's timeouts, capped by the remaining deadline (also sent downstream)."""
        policy = call.rt.policy
        if call.planted_timeout_s is not None:  # PLANTED BUG: no deadline caps this call
            return httpx.Timeout(call.planted_timeout_s)
        if policy.propagate_deadline:
            remaining = get_remaining_s()
            if remaining is not None:
                if remaining < MIN_USEFUL_S:
                    raise DeadlineSpent(f"deadline spent before attempt {call.attempt}")
                call.headers[DEADLINE_HEADER] = format_header(remaining)
                connect, read = min(policy.connect_timeout_s, remaining), min(policy.read_timeout_s, remaining)
                return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)
        return call.rt.timeout

    # -- errors ----------------------------------------------------------------------------------
    def _to_kit_error(self, exc: BaseException, call: Call) -> DependencyError:
        outcome, err = to_kit_error(exc, self.dependency, attempts=call.attempt)
        self._count(call, outcome)
        return err
