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
     "retry_after_s": 1}       # optional: send ``Retry-After`` with injected errors

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
from dataclasses import asdict, dataclass
from typing import Any

from flask import Flask, Response, jsonify, request

from shop.kit.errors import BadRequest, ValidationFailed, error_response

EXTRA_KEY = "faults"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_NEVER_FAULTED = ("/admin", "/metrics")
_FIELDS = ("route", "method", "error_rate", "status", "latency_ms", "retry_after_s")
MAX_FAULTS = 50


@dataclass(frozen=True, kw_only=True)
class FaultSpec:
    """One app-level fault on a route prefix."""

    route: str
    method: str | None = None
    error_rate: float = 0.0
    status: int = 503
    latency_ms: int = 0
    retry_after_s: int | None = None

    @classmethod
    def from_json(cls, raw: Any, index: int = 0) -> FaultSpec:
        """Validate one fault from JSON; raise ValidationFailed naming the bad field."""
        where = f"faults[{index}]"
        if not isinstance(raw, dict):
            raise ValidationFailed(f"{where} must be an object")
        unknown = set(raw) - set(_FIELDS)
        if unknown:
            raise ValidationFailed(f"{where}: unknown fields {', '.join(sorted(unknown))}")
        route = raw.get("route")
        if not isinstance(route, str) or not route.startswith("/") or len(route) > 200:
            raise ValidationFailed(f"{where}.route must be a path prefix starting with '/'")
        method = raw.get("method")
        if method is not None:
            if not isinstance(method, str) or method.upper() not in _METHODS:
                raise ValidationFailed(f"{where}.method must be one of {', '.join(sorted(_METHODS))}")
            method = method.upper()
        error_rate = _number(raw.get("error_rate", 0.0), f"{where}.error_rate", 0.0, 1.0)
        status = _integer(raw.get("status", 503), f"{where}.status", 400, 599)
        latency_ms = _integer(raw.get("latency_ms", 0), f"{where}.latency_ms", 0, 60_000)
        retry_after = raw.get("retry_after_s")
        if retry_after is not None:
            retry_after = _integer(retry_after, f"{where}.retry_after_s", 0, 3600)
        return cls(
            route=route,
            method=method,
            error_rate=error_rate,
            status=status,
            latency_ms=latency_ms,
            retry_after_s=retry_after,
        )

    def matches(self, method: str, path: str) -> bool:
        """Say whether a request is hit by this fault."""
        return path.startswith(self.route) and (self.method is None or self.method == method)

    def to_json(self) -> dict[str, Any]:
        """Return the fault as the admin API shows it."""
        return asdict(self)


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValidationFailed(f"{name} must be a number within {low:g}..{high:g}")
    return float(value)


def _integer(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(f"{name} must be an integer within {low}..{high}")
    return value


class FaultSet:
    """The faults active in one process (replaced as a whole, read lock-free)."""

    def __init__(self, rng: random.Random | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self._faults: tuple[FaultSpec, ...] = ()
        self._rng = rng or random.Random()
        self.sleep = sleep
        self._lock = threading.Lock()

    @property
    def faults(self) -> tuple[FaultSpec, ...]:
        """Return the active faults."""
        return self._faults

    def replace(self, faults: list[FaultSpec]) -> None:
        """Make ``faults`` the active list."""
        self._faults = tuple(faults)

    def find(self, method: str, path: str) -> FaultSpec | None:
        """Return the fault with the longest matching route, or None."""
        best = None
        for fault in self._faults:
            if fault.matches(method, path) and (best is None or len(fault.route) > len(best.route)):
                best = fault
        return best

    def should_fail(self, fault: FaultSpec) -> bool:
        """Roll the dice for one request."""
        if fault.error_rate <= 0:
            return False
        with self._lock:  # random.Random is not documented as thread-safe
            return self._rng.random() < fault.error_rate


def get_fault_set(app: Flask) -> FaultSet:
    """Return the app's fault set."""
    from shop.kit.app import get_kit

    fault_set: FaultSet = get_kit(app).extras[EXTRA_KEY]
    return fault_set


def init_app(app: Flask) -> None:
    """Install the fault middleware and ``/admin/faults`` on ``app``."""
    from shop.kit.admin import make_admin_blueprint
    from shop.kit.app import get_kit
    from shop.kit.resilience.instruments import get_instruments

    kit = get_kit(app)
    fault_set = FaultSet()
    kit.extras[EXTRA_KEY] = fault_set
    service = kit.settings.service
    injected = get_instruments().faults_injected

    @app.before_request
    def _inject_fault() -> Response | None:
        if not fault_set.faults or request.path.startswith(_NEVER_FAULTED):
            return None
        fault = fault_set.find(request.method, request.path)
        if fault is None:
            return None
        if fault.latency_ms:
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
        unknown = set(body) - {"faults"}
        if unknown:
            raise ValidationFailed(f"unknown fields: {', '.join(sorted(unknown))}")
        raw = body.get("faults")
        if not isinstance(raw, list) or len(raw) > MAX_FAULTS:
            raise ValidationFailed(f"faults must be a list of at most {MAX_FAULTS} faults")
        fault_set.replace([FaultSpec.from_json(item, i) for i, item in enumerate(raw)])
        return _describe()

    @bp.delete("/faults")
    def delete_faults() -> Response:
        """Remove every app-level fault."""
        fault_set.replace([])
        return _describe()

    app.register_blueprint(bp)
