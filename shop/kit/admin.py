"""Guard the admin API (``/admin/*``) with ``Authorization: Bearer $SHOPLAB_ADMIN_TOKEN``."""

from __future__ import annotations

import hmac
import time
from typing import Any

import httpx
from flask import Blueprint, Flask, Response, current_app, jsonify, request

from shop.kit.config import KitSettings
from shop.kit.errors import (
    BadRequest,
    DependencyTimeout,
    DependencyUnavailable,
    NotFound,
    Unauthorized,
    get_unhandled_count,
)
from shop.kit.state import get_component

MAX_PROBE_TIMEOUT_S = 60.0


def ensure_admin() -> None:
    """Raise Unauthorized unless the request carries the admin token."""
    expected = get_component(current_app, KitSettings).admin_token
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Unauthorized("admin token required")


def make_admin_blueprint(name: str, url_prefix: str = "/admin") -> Blueprint:
    """Return a blueprint whose every route requires the admin token."""
    bp = Blueprint(name, __name__, url_prefix=url_prefix)
    bp.before_request(ensure_admin)
    return bp


def init_app(app: Flask) -> None:
    """Register the kit's own admin routes (``GET /admin/unhandled``)."""
    bp = make_admin_blueprint("kit_admin")

    @bp.get("/unhandled")
    def unhandled() -> Response:
        """Say how many unhandled 500s this process has served (the audit reads it)."""
        return jsonify(service=current_app.name, unhandled_errors=get_unhandled_count(current_app))

    @bp.get("/probe/<dependency>")
    def probe(dependency: str) -> Response:
        """Call a dependency's ``/healthz`` through its edge proxy and say how long it took.

        This measures an edge through the caller's own process and proxy, which is
        what ``shoplab status`` and the edge tests need; it bypasses the resilience
        policy on purpose, so a probe never trips a breaker.
        """
        urls = get_component(current_app, KitSettings).dependency_urls
        if dependency not in urls:
            raise NotFound(f"{current_app.name} has no dependency {dependency!r} (has: {', '.join(urls) or 'none'})")
        timeout_s = _get_timeout_s(request.args.get("timeout_s", "5"))
        started = time.perf_counter()
        try:
            resp = httpx.get(urls[dependency] + "/healthz", timeout=timeout_s)
        except httpx.TimeoutException as exc:
            raise DependencyTimeout(f"{dependency} timed out", dependency=dependency) from exc
        except httpx.TransportError as exc:
            raise DependencyUnavailable(f"{dependency} unreachable: {exc}", dependency=dependency) from exc
        elapsed_ms = (time.perf_counter() - started) * 1000
        body = _get_json_object(resp)
        return jsonify(
            caller=current_app.name,
            dependency=dependency,
            status=resp.status_code,
            answered_by=body.get("service"),
            elapsed_ms=round(elapsed_ms, 2),
        )

    app.register_blueprint(bp)


def _get_timeout_s(raw: str) -> float:
    # A bad query value is the caller's mistake (400), not an unhandled 500.
    try:
        timeout_s = float(raw)
    except ValueError:
        raise BadRequest(f"timeout_s must be a number of seconds, got {raw[:40]!r}") from None
    # The cap also keeps the socket's timeval from overflowing (1e300 would be a 500).
    if not 0 < timeout_s <= MAX_PROBE_TIMEOUT_S:
        raise BadRequest(f"timeout_s must be more than 0 and at most {MAX_PROBE_TIMEOUT_S:g} seconds, got {raw[:40]!r}")
    return timeout_s


def _get_json_object(resp: httpx.Response) -> dict[str, Any]:
    # The probe reports whatever answered; a body it cannot read just names no service.
    if not resp.headers.get("content-type", "").startswith("application/json"):
        return {}
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
