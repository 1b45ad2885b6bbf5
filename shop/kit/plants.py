"""Plant known resilience bugs in the shop, so the fault-space explorer can prove it finds them.

A plant is one named, tiny branch in the shop's code, off unless chosen. Choose them
at start with ``SHOPLAB_PLANT=<plant>[,<plant>]`` or on a running shop through the
admin API (``Authorization: Bearer $SHOPLAB_ADMIN_TOKEN``)::

    GET /admin/plants  → {"service": "gateway", "plants": ["no_fallback"], "known": {...}}
    PUT /admin/plants  with {"plants": ["no_fallback"]} replaces the set and answers like GET

The orders worker has no app: it follows the orders service's plants as it follows its
profile. An unknown plant answers 422 ``validation_failed`` naming it; nothing changes then.
Every planted branch calls ``is_planted(<plant>)`` and says ``# PLANTED BUG`` next to it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from flask import Flask, Response, jsonify, request

from shop.kit.admin import make_admin_blueprint
from shop.kit.config import KitSettings
from shop.kit.errors import BadRequest, ValidationFailed
from shop.kit.state import get_component

PLANT_ENV = "SHOPLAB_PLANT"

PLANTS: dict[str, str] = {
    "no_fallback": "gateway calls recommendations without its fallback: a product page fails with it",
    "retry_post_without_key": "the resilient client retries a POST that carries no Idempotency-Key",
    "inner_timeout_over_budget": "a call with a fallback waits 5 s, unbounded by its fallback budget "
                                 "or the request's deadline (longer than the page's 3 s budget)",
    "final_503": "the resilient client takes a 503 answer as final: never retried, passed on as it is",
    "skip_compensation": "the checkout saga keeps the stock hold of an order whose charge was refused",
}

# Process-wide, like the metrics: a plant changes the code path of every app and client in the process.
_active: frozenset[str] = frozenset()


def parse_plants(names: Iterable[str]) -> frozenset[str]:
    """Return the plants named, stripped of blanks; raise ValidationFailed naming an unknown one."""
    chosen = frozenset(n.strip() for n in names if n.strip())
    unknown = sorted(chosen - PLANTS.keys())
    if unknown:
        raise ValidationFailed(f"unknown plants {', '.join(unknown)} (known: {', '.join(PLANTS)})")
    return chosen


def set_plants(names: Iterable[str]) -> frozenset[str]:
    """Make ``names`` the active plants of this process; return them."""
    global _active
    _active = parse_plants(names)
    return _active


def get_plants() -> frozenset[str]:
    """Return the active plants."""
    return _active


def is_planted(name: str) -> bool:
    """Say whether the bug ``name`` is planted in this process."""
    return name in _active


def load_env_plants(env: dict[str, str] | None = None) -> frozenset[str]:
    """Activate the plants of ``SHOPLAB_PLANT`` (comma-separated; unset or empty: none)."""
    raw = (os.environ if env is None else env).get(PLANT_ENV, "")
    return set_plants(raw.split(","))


def init_app(app: Flask, env: dict[str, str] | None = None) -> None:
    """Read ``SHOPLAB_PLANT`` and register ``/admin/plants`` on ``app``."""
    load_env_plants(env)
    service = get_component(app, KitSettings).service
    bp = make_admin_blueprint("plants_admin")

    def _describe() -> Response:
        return jsonify(service=service, plants=sorted(_active), known=PLANTS)

    @bp.get("/plants")
    def get_plants_route() -> Response:
        """List the planted bugs."""
        return _describe()

    @bp.put("/plants")
    def put_plants() -> Response:
        """Replace the planted bugs (all checked before any takes effect)."""
        body = request.get_json(silent=True)
        names = body.get("plants") if isinstance(body, dict) else None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BadRequest('body must be a JSON object like {"plants": ["no_fallback"]}')
        set_plants(names)
        return _describe()

    app.register_blueprint(bp)
