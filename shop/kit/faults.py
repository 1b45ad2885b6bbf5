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
     "times": 1}               # optional: only the first N matching requests, then none

The kit's resilient client names its caller in ``X-Shoplab-Caller`` on every call, so
``{"route": "/", "caller": "orders", "error_rate": 1, "status": 503}`` on payments is
"payments answers 503 to orders only": an HTTP fault on one edge, which Toxiproxy (TCP)
cannot make. ``times`` makes a fault transient: a retry after it may succeed.

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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shop.kit.admin import make_admin_blueprint
from shop.kit.config import KitSettings
from shop.kit.errors import BadRequest, ValidationFailed, error_response
from shop.kit.resilience.client import CALLER_HEADER
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


def _describe_error(exc: ValidationError, where: str) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        return f"{where}: unknown fields {', '.join(unknown)}"
    name = str(errors[0]["loc"][0])
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

    @property
    def faults(self) -> tuple[FaultSpec, ...]:
        """Return the active faults."""
        return self._faults

    def replace(self, faults: list[FaultSpec]) -> None:
        """Make ``faults`` the active list (their ``times`` counts start again)."""
        with self._lock:
            self._faults = tuple(faults)
            self._hits = {}

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
        if fault_set.should_delay(fault):
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
