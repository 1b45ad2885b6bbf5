"""Wire the kit into a Flask app: deadline middleware and ``/admin/resilience``, ``/admin/state``.

``GET /admin/resilience`` → ``{"service", "profile", "profiles", "request_budget_s", "overrides", "policies"}``
``PUT /admin/resilience`` ``{"profile": "retries", "overrides": {"catalog": {"read_timeout_s": 0.3}}}``
  replaces the setting (a missing ``profile`` keeps the current one, missing ``overrides``
  clears them); the next call uses it, with fresh breakers, bulkheads and retry budgets;
  422 names an unknown profile, dependency or key and changes nothing.
``GET /admin/state`` → per dependency: breaker state/fail counter, bulkhead in-flight/limit,
  retry budget tokens.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import structlog
from flask import Flask, Response, g, jsonify, request
from opentelemetry import trace

from shop.kit.admin import make_admin_blueprint
from shop.kit.config import KitSettings
from shop.kit.errors import BadRequest, DeadlineExceeded, ValidationFailed
from shop.kit.resilience.control import ResilienceControl
from shop.kit.resilience.deadline import DEADLINE_HEADER, parse_header, reset_deadline, set_deadline
from shop.kit.resilience.instruments import get_instruments
from shop.kit.resilience.policy import PROFILES, get_default_profile_name
from shop.kit.resilience.shedding import Overloaded, PriorityShedder, get_priority_classifier
from shop.kit.state import get_component, has_component, set_component

log = structlog.get_logger(__name__)

# Probes, scrapes and the admin API must work whatever budget a caller sent.
_UNBUDGETED_PREFIXES = ("/admin", "/healthz", "/readyz", "/metrics")


def get_control(app: Flask) -> ResilienceControl:
    """Return the app's resilience control (made from the environment's default if missing)."""
    if not has_component(app, ResilienceControl):
        settings = get_component(app, KitSettings)
        set_component(app, ResilienceControl(settings.service, get_default_profile_name(), settings.dependency_urls))
    return get_component(app, ResilienceControl)


def init_app(app: Flask, env: Mapping[str, str] | None = None) -> None:
    """Install the deadline middleware and the resilience admin routes on ``app``."""
    settings = get_component(app, KitSettings)
    control = ResilienceControl(settings.service, get_default_profile_name(env), settings.dependency_urls)
    set_component(app, control)
    refusals = get_instruments().deadline_refusals.labels(settings.service)
    shed = get_instruments().shed
    # The shedder of the active profile's limit: a switch to another limit starts a new one
    # (requests in flight leave the one they entered, kept on ``g``).
    shedders: dict[int, PriorityShedder] = {}

    def current_shedder() -> PriorityShedder | None:
        limit = control.profile.shed_limit
        if limit is None:
            return None
        shedder = shedders.get(limit)
        if shedder is None:
            shedder = shedders.setdefault(limit, PriorityShedder(limit))
        return shedder

    @app.before_request
    def _shed() -> None:
        shedder = current_shedder()
        classify = get_priority_classifier(app)
        if shedder is None or classify is None or request.path.startswith(_UNBUDGETED_PREFIXES):
            return
        priority = classify(request.method, request.path)
        if priority is None:
            return
        if not shedder.try_enter(priority):
            shed.labels(settings.service, priority).inc()
            trace.get_current_span().add_event(
                "request_shed",
                {"shoplab.priority": priority, "shoplab.in_flight": shedder.in_flight,
                 "shoplab.allowed": shedder.allowed(priority)},
            )
            raise Overloaded(
                f"{settings.service} is at its limit for {priority} requests: retry later",
                details={"priority": priority, "limit": shedder.limit, "allowed": shedder.allowed(priority)},
            )
        g.shoplab_shedder = shedder

    @app.teardown_request
    def _left(exc: BaseException | None) -> None:
        shedder = g.pop("shoplab_shedder", None)
        if shedder is not None:
            shedder.leave()

    @app.before_request
    def _start_deadline() -> None:
        if request.path.startswith(_UNBUDGETED_PREFIXES):
            return
        raw = request.headers.get(DEADLINE_HEADER)
        if raw is None:
            budget = control.profile.request_budget_s
            if budget is not None:
                g.shoplab_deadline_token = set_deadline(time.monotonic() + budget)
            return
        try:
            remaining = parse_header(raw)
        except ValueError:
            raise BadRequest(f"{DEADLINE_HEADER} must be a number of milliseconds, got {raw[:40]!r}") from None
        if remaining <= 0:
            refusals.inc()
            raise DeadlineExceeded("the caller's deadline is already spent: the work was not started")
        g.shoplab_deadline_token = set_deadline(time.monotonic() + remaining)

    @app.teardown_request
    def _end_deadline(exc: BaseException | None) -> None:
        token = g.pop("shoplab_deadline_token", None)
        if token is not None:
            try:
                reset_deadline(token)
            except ValueError:  # made in another context (should not happen); nothing to restore
                pass

    bp = make_admin_blueprint("resilience_admin")

    @bp.get("/resilience")
    def get_resilience() -> Response:
        """Return the active profile, the overrides and each dependency's effective policy."""
        return jsonify(_describe(control))

    @bp.put("/resilience")
    def put_resilience() -> Response:
        """Switch the profile and/or overrides; the next call uses them."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequest('body must be a JSON object like {"profile": "resilient"}')
        unknown = set(body) - {"profile", "overrides"}
        if unknown:
            raise ValidationFailed(f"unknown fields: {', '.join(sorted(unknown))}")
        profile = body.get("profile")
        if profile is not None and not isinstance(profile, str):
            raise ValidationFailed("profile must be a string")
        control.switch(profile, body.get("overrides"))
        log.info("resilience_switched", profile=control.profile.name, overrides=control.overrides)
        return jsonify(_describe(control))

    @bp.get("/state")
    def get_state() -> Response:
        """Return the live breaker, bulkhead and retry budget state per dependency."""
        shedder = current_shedder()
        return jsonify(service=control.caller, profile=control.profile.name, dependencies=control.snapshot(),
                       shedding=shedder.snapshot() if shedder else {"enabled": False})

    app.register_blueprint(bp)


def _describe(control: ResilienceControl) -> dict[str, Any]:
    return {
        "service": control.caller,
        "profile": control.profile.name,
        "description": control.profile.description,
        "profiles": list(PROFILES),
        "request_budget_s": control.profile.request_budget_s,
        "overrides": control.overrides,
        "policies": control.effective_policies(),
    }
