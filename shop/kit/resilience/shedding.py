"""Priority load shedding at an entry point: when busy, refuse the least important requests first.

The active profile's ``shed_limit`` is how many requests the service serves at once. Each
priority may fill only its share of it, so the last free slots are kept for what matters
most: checkout may use every slot, cart 90 %, browse 75 %, recommendations 50 %. A request
that finds its share full is answered at once with 503, ``Retry-After`` and the JSON error
``overloaded`` (``details.priority``), counted in ``shoplab_requests_shed_total{priority}``
and told as a ``request_shed`` span event. A service says how to rank its requests with
``set_priority_classifier``; a request it ranks ``None`` (probes, admin) is never shed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from flask import Flask, g, has_request_context
from opentelemetry import trace

from shop.kit.config import KitSettings
from shop.kit.errors import ShopError
from shop.kit.resilience.components import Bulkhead
from shop.kit.resilience.instruments import get_instruments
from shop.kit.state import get_component, has_component

PRIORITIES = ("checkout", "cart", "browse", "recommendations")  # most important first
SHARES = {"checkout": 1.0, "cart": 0.9, "browse": 0.75, "recommendations": 0.5}

Classifier = Callable[[str, str], str | None]
"""``(method, path) -> priority`` (one of ``PRIORITIES``), or None: never shed."""

_CLASSIFIER_KEY = "SHOPLAB_PRIORITY_CLASSIFIER"


class Overloaded(ShopError):
    """The service is at its concurrency limit for this request's priority: come back later."""

    status = 503
    code = "overloaded"


class PriorityShedder:
    """Count the requests in flight (a ``Bulkhead``) and admit one only while its priority's share has room."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = Bulkhead(limit)

    @property
    def in_flight(self) -> int:
        """Return the requests being served."""
        return self._slots.in_flight

    def allowed(self, priority: str) -> int:
        """Return how many requests in flight ``priority`` may find and still be admitted (at least 1)."""
        return max(1, math.floor(self.limit * SHARES[priority]))

    def try_enter(self, priority: str) -> bool:
        """Admit one request of ``priority``; False (and nothing taken) when its share is full."""
        return self._slots.try_acquire(self.allowed(priority))

    def leave(self) -> None:
        """Record that an admitted request ended."""
        self._slots.release()

    def snapshot(self) -> dict[str, Any]:
        """Return the shedder's state as data."""
        return {"limit": self.limit, "in_flight": self.in_flight,
                "allowed": {p: self.allowed(p) for p in PRIORITIES}}


def set_priority_classifier(app: Flask, classify: Classifier) -> None:
    """Tell the kit how to rank ``app``'s requests for shedding.

    Each priority's shed counter starts at 0 here, so its series exists before the first shed
    request (a dashboard's rate() of a labelled counter nobody touched has no series at all).
    """
    app.config[_CLASSIFIER_KEY] = classify
    if has_component(app, KitSettings):
        service = get_component(app, KitSettings).service
        for priority in PRIORITIES:
            get_instruments().shed.labels(service, priority)


def get_priority_classifier(app: Flask) -> Classifier | None:
    """Return the app's classifier, None when it never sheds."""
    classify: Classifier | None = app.config.get(_CLASSIFIER_KEY)
    return classify


def may_serve_part(priority: str, *, service: str) -> bool:
    """Say whether the current request may spend work on an optional part of ``priority``.

    A page admitted under a higher priority (a product page is ``browse``) skips its
    lower-priority parts (its ``recommendations``) while the service is that busy: the
    skip is counted and told like a shed request, and the page answers without the part.
    """
    shedder: PriorityShedder | None = g.get("shoplab_shedder") if has_request_context() else None
    if shedder is None or shedder.in_flight <= shedder.allowed(priority):
        return True
    get_instruments().shed.labels(service, priority).inc()
    trace.get_current_span().add_event(
        "request_shed", {"shoplab.priority": priority, "shoplab.in_flight": shedder.in_flight,
                         "shoplab.allowed": shedder.allowed(priority)},
    )
    return False
