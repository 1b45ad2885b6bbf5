"""Inject app-level faults (error rate, status, added latency per route): what Toxiproxy, on TCP, cannot.

Admin API on every service (``Authorization: Bearer $SHOPLAB_ADMIN_TOKEN``), stable for the chaos runner:

``GET /admin/faults`` → ``{"service": "payments", "faults": [<fault>, ...]}``

``PUT /admin/faults`` with ``{"faults": [<fault>, ...]}`` replaces the whole list and answers like GET.

``DELETE /admin/faults`` removes every fault and answers like GET (idempotent).

A fault::

    {"route": "/charges",      # required: a path prefix, starting with "/"
     "method": "POST",         # optional: only this HTTP method (default: any)
     "error_rate": 0.3,        # optional, 0..1: share of matching requests answered with ``status``
     "status": 503,            # optional, 400..599 (default 503)
     "latency_ms": 200,        # optional, 0..60000: added before the request is handled (or failed)
     "latency_rate": 0.05,     # optional, 0..1 (default 1): share of matching requests delayed
     "retry_after_s": 1,       # optional: send ``Retry-After`` with injected errors
     "caller": "orders",       # optional: only requests from this caller (``X-Shoplab-Caller``)
     "times": 1,               # optional: only the first N matching requests, then none
     "concurrency": 1,         # optional, 1..64: a server of limited capacity (below)
     "queue": 5}               # optional, 0..64 (default 0): with concurrency, how many may wait

The kit's resilient client names its caller in ``X-Shoplab-Caller`` on every call, so
``{"route": "/", "caller": "orders", "error_rate": 1, "status": 503}`` on payments is
"payments answers 503 to orders only": an HTTP fault on one edge, which Toxiproxy (TCP)
cannot make. ``times`` makes a fault transient: a retry after it may succeed.

``concurrency`` turns the route into a server of limited capacity (per process): at most
``concurrency`` matching requests are served at once, each holding its place for
``latency_ms`` (the service time), and at most ``queue`` more wait in line; one more is
answered ``status`` at once (code ``injected_fault``). A request that waits is served even
when its caller gave up meanwhile: that wasted work is what lets retries keep a slowed
server overloaded after the slowdown ends (a metastable failure). The line outlives a fault
replaced by one at the same place with the same capacity, and a request takes the
``latency_ms`` of the fault active when its turn comes, so a phase that only changes the
service time keeps the line it finds; when no such fault is active the line drains at once.
Waiting requests hold a server thread, so ``concurrency + queue`` must stay below the
service's threads per process, or nothing else (health, metrics, this admin API) is answered.

Unknown fields or bad values answer 422 ``validation_failed`` naming the field; nothing
changes then. A request matches the fault with the longest matching ``route`` (and the
method, when given); ``/admin`` and ``/metrics`` are never faulted, so a fault on ``/``
can always be removed again. Injected errors use the shop's JSON error shape with code
``injected_fault``; each injection counts in ``shoplab_faults_injected_total``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shop.kit.admin import make_admin_blueprint
from shop.kit.config import KitSettings
from shop.kit.errors import BadRequest, ValidationFailed, error_response
from shop.kit.resilience.client import CALLER_HEADER
from shop.kit.resilience.components import Bulkhead
from shop.kit.resilience.instruments import get_instruments
from shop.kit.state import get_component, set_component

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_NEVER_FAULTED = ("/admin", "/metrics")
MAX_FAULTS = 50

# What each field must be, said the way the admin API has always said it (the chaos
# runner and people read these); pydantic decides, this only words the answer.
_FIELD_RULES = {
    "route": "must be a path prefix starting with '/'",
    "method": f"must be one of {', '.join(sorted(_METHODS))}",
    "error_rate": "must be a number within 0..1",
    "status": "must be an integer within 400..599",
    "latency_ms": "must be an integer within 0..60000",
    "latency_rate": "must be a number within 0..1",
    "retry_after_s": "must be an integer within 0..3600",
    "caller": "must be a service name (letters, digits, '_' or '-')",
    "times": "must be an integer within 1..1000000",
    "concurrency": "must be an integer within 1..64",
    "queue": "must be an integer within 0..64 (and needs concurrency)",
}


class FaultSpec(BaseModel):
    """One app-level fault on a route prefix (validated on construction)."""

    # strict: "0.5" or true is not a rate, 503.5 is not a status; extra: a typo is an error.
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", allow_inf_nan=False)

    route: str = Field(max_length=200)
    method: str | None = None
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    status: int = Field(default=503, ge=400, le=599)
    latency_ms: int = Field(default=0, ge=0, le=60_000)
    # Share of matching requests delayed (per request: a toxic's toxicity is per connection).
    latency_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    retry_after_s: int | None = Field(default=None, ge=0, le=3600)
    caller: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,40}$")
    times: int | None = Field(default=None, ge=1, le=1_000_000)
    concurrency: int | None = Field(default=None, ge=1, le=64)
    queue: int = Field(default=0, ge=0, le=64)

    @model_validator(mode="after")
    def _queue_needs_concurrency(self) -> FaultSpec:
        if self.queue and self.concurrency is None:
            raise PydanticCustomError("queue_without_concurrency", "queue needs concurrency")
        return self

    @field_validator("route")
    @classmethod
    def _is_path_prefix(cls, route: str) -> str:
        if not route.startswith("/"):
            raise ValueError("not a path prefix")
        return route

    @field_validator("method")
    @classmethod
    def _is_http_method(cls, method: str | None) -> str | None:
        if method is None:
            return None
        if method.upper() not in _METHODS:
            raise ValueError("not an HTTP method")
        return method.upper()

    @classmethod
    def from_json(cls, raw: Any, index: int = 0) -> FaultSpec:
        """Validate one fault from JSON; raise ValidationFailed naming the bad field."""
        where = f"faults[{index}]"
        if not isinstance(raw, dict):
            raise ValidationFailed(f"{where} must be an object")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise ValidationFailed(_describe_error(exc, where)) from None

    def matches(self, method: str, path: str, caller: str | None = None) -> bool:
        """Say whether a request (from ``caller``, when it said) is hit by this fault."""
        return (
            path.startswith(self.route)
            and (self.method is None or self.method == method)
            and (self.caller is None or self.caller == caller)
        )

    def to_json(self) -> dict[str, Any]:
        """Return the fault as the admin API shows it."""
        return self.model_dump()

    @property
    def place(self) -> tuple[str, str | None, str | None]:
        """Where the fault applies: route, method and caller."""
        return self.route, self.method, self.caller


class ServerLine:
    """A server of limited capacity: ``concurrency`` served at once, at most ``queue`` waiting.

    Its places (served + waiting) are a bulkhead of ``concurrency + queue``: full means refused at once.
    """

    def __init__(self, concurrency: int, queue: int) -> None:
        self.places = Bulkhead(concurrency + queue)
        self.slots = threading.Semaphore(concurrency)

    @property
    def inside(self) -> int:
        """Return the requests served or waiting now."""
        return self.places.in_flight

    def enter(self) -> bool:
        """Take a place in line; False when the line is full (the request is refused)."""
        return self.places.try_acquire()

    def leave(self) -> None:
        """Give the place back."""
        self.places.release()


def _describe_error(exc: ValidationError, where: str) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        return f"{where}: unknown fields {', '.join(unknown)}"
    name = str(errors[0]["loc"][0]) if errors[0]["loc"] else "queue"
    return f"{where}.{name} {_FIELD_RULES.get(name, 'is invalid')}"


class FaultListBody(BaseModel):
    """The body of ``PUT /admin/faults``: the faults, each checked by ``FaultSpec.from_json``."""

    model_config = ConfigDict(strict=True, extra="forbid")

    faults: list[Any] = Field(max_length=MAX_FAULTS)

    @classmethod
    def parse_faults(cls, body: dict[str, Any]) -> list[FaultSpec]:
        """Return the validated faults of ``body``; raise ValidationFailed naming what is wrong."""
        try:
            raw = cls.model_validate(body).faults
        except ValidationError as exc:
            unknown = sorted(str(e["loc"][0]) for e in exc.errors() if e["type"] == "extra_forbidden")
            if unknown:
                raise ValidationFailed(f"unknown fields: {', '.join(unknown)}") from None
            raise ValidationFailed(f"faults must be a list of at most {MAX_FAULTS} faults") from None
        return [FaultSpec.from_json(item, i) for i, item in enumerate(raw)]


class FaultSet:
    """The faults active in one process (replaced as a whole, read lock-free)."""

    def __init__(self, rng: random.Random | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self._faults: tuple[FaultSpec, ...] = ()
        self._hits: dict[int, int] = {}  # index in _faults → requests hit so far (faults with ``times``)
        self._rng = rng or random.Random()
        self.sleep = sleep
        self._lock = threading.Lock()
        self._lines: dict[tuple[Any, ...], ServerLine] = {}  # (place, concurrency, queue) → its line

    @property
    def faults(self) -> tuple[FaultSpec, ...]:
        """Return the active faults."""
        return self._faults

    def replace(self, faults: list[FaultSpec]) -> None:
        """Make ``faults`` the active list (their ``times`` counts start again)."""
        with self._lock:
            self._faults = tuple(faults)
            self._hits = {}
            keep = {self._line_key(f) for f in faults if f.concurrency is not None}
            self._lines = {k: line for k, line in self._lines.items() if k in keep or line.inside > 0}

    @staticmethod
    def _line_key(fault: FaultSpec) -> tuple[Any, ...]:
        return fault.place, fault.concurrency, fault.queue

    def line(self, fault: FaultSpec) -> ServerLine:
        """Return the line of a fault with ``concurrency`` (the same line for the same place and capacity)."""
        assert fault.concurrency is not None
        key = self._line_key(fault)
        with self._lock:
            line = self._lines.get(key)
            if line is None:
                line = self._lines[key] = ServerLine(fault.concurrency, fault.queue)
            return line

    def active_at(self, fault: FaultSpec) -> FaultSpec | None:
        """Return the fault active now at ``fault``'s place with its capacity (its service time), or None."""
        key = self._line_key(fault)
        return next((f for f in self._faults if self._line_key(f) == key), None)

    def serve_in_line(self, fault: FaultSpec) -> bool:
        """Serve one request through ``fault``'s line; False when the line was full (refuse it)."""
        line = self.line(fault)
        if not line.enter():
            return False
        try:
            with line.slots:
                now = self.active_at(fault)  # the service time of the fault active when the turn comes
                if now is not None and self.should_delay(now):
                    self.sleep(now.latency_ms / 1000.0)
        finally:
            line.leave()
        return True

    def find(self, method: str, path: str, caller: str | None = None) -> FaultSpec | None:
        """Return the fault with the longest matching route, or None; a fault with ``times`` counts this hit."""
        best: tuple[int, FaultSpec] | None = None
        faults = self._faults
        for index, fault in enumerate(faults):
            if fault.matches(method, path, caller) and (best is None or len(fault.route) > len(best[1].route)):
                best = (index, fault)
        if best is None:
            return None
        index, fault = best
        if fault.times is None:
            return fault
        with self._lock:
            if faults is not self._faults:  # replaced meanwhile: the new list counts from zero
                return None
            hits = self._hits.get(index, 0)
            if hits >= fault.times:
                return None
            self._hits[index] = hits + 1
        return fault

    def should_fail(self, fault: FaultSpec) -> bool:
        """Roll the dice for one request."""
        return self._roll(fault.error_rate)

    def should_delay(self, fault: FaultSpec) -> bool:
        """Roll the dice for delaying one request."""
        return fault.latency_ms > 0 and (fault.latency_rate >= 1.0 or self._roll(fault.latency_rate))

    def _roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:  # random.Random is not documented as thread-safe
            return self._rng.random() < rate


def get_fault_set(app: Flask) -> FaultSet:
    """Return the app's fault set."""
    return get_component(app, FaultSet)


def init_app(app: Flask) -> None:
    """Install the fault middleware and ``/admin/faults`` on ``app``."""
    fault_set = FaultSet()
    set_component(app, fault_set)
    service = get_component(app, KitSettings).service
    injected = get_instruments().faults_injected

    @app.before_request
    def _inject_fault() -> Response | None:
        if not fault_set.faults or request.path.startswith(_NEVER_FAULTED):
            return None
        fault = fault_set.find(request.method, request.path, request.headers.get(CALLER_HEADER))
        if fault is None:
            return None
        if fault.concurrency is not None:
            if not fault_set.serve_in_line(fault):
                injected.labels(service, fault.route, "capacity").inc()
                return error_response(fault.status, "injected_fault",
                                      f"{service} at capacity on {fault.route}: {fault.concurrency} served, "
                                      f"{fault.queue} waiting")
            injected.labels(service, fault.route, "latency").inc()
        elif fault_set.should_delay(fault):
            injected.labels(service, fault.route, "latency").inc()
            fault_set.sleep(fault.latency_ms / 1000.0)  # the fault *is* the delay
        if fault_set.should_fail(fault):
            injected.labels(service, fault.route, "error").inc()
            resp = error_response(fault.status, "injected_fault", f"fault injected on {fault.route}")
            if fault.retry_after_s is not None:
                resp.headers["Retry-After"] = str(fault.retry_after_s)
            return resp
        return None

    bp = make_admin_blueprint("faults_admin")

    def _describe() -> Response:
        return jsonify(service=service, faults=[f.to_json() for f in fault_set.faults])

    @bp.get("/faults")
    def get_faults() -> Response:
        """List the active app-level faults."""
        return _describe()

    @bp.put("/faults")
    def put_faults() -> Response:
        """Replace the active app-level faults (all validated before any takes effect)."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequest('body must be a JSON object like {"faults": [...]}')
        fault_set.replace(FaultListBody.parse_faults(body))
        return _describe()

    @bp.delete("/faults")
    def delete_faults() -> Response:
        """Remove every app-level fault."""
        fault_set.replace([])
        return _describe()

    app.register_blueprint(bp)
