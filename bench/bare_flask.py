"""Bare Flask apps for ``bench products``: the ceiling for the gateway, and the floor of any gateway that calls per request.

gunicorn loads ``bench.bare_flask:create_app()``, which answers ``GET /api/v1/products`` with the
body read once from the file named by ``BARE_BODY_FILE`` (the gateway's own answer, so both send
the same bytes), or ``bench.bare_flask:create_front()``, which answers the same path by fetching
it, per request, from the app at ``BARE_ORIGIN_URL`` with one shared httpx client and handing the
bytes on: two Flask hops and an httpx call, with no proxy, no telemetry, no validation and no
resilience policy. What the front costs over the bare app bounds what any gateway that calls its
catalog on every request can reach.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from flask import Flask, Response

from shop.kit.public_api import V1


def _with_health(app: Flask) -> Flask:
    @app.get("/healthz")
    def healthz() -> Response:
        return Response(b'{"status": "ok"}', mimetype="application/json")

    return app


def create_app() -> Flask:
    """Return the bare app serving the body of ``BARE_BODY_FILE``."""
    body = Path(os.environ["BARE_BODY_FILE"]).read_bytes()
    app = Flask("bare")

    @app.get(V1.products)
    def products() -> Response:
        return Response(body, mimetype="application/json")

    return _with_health(app)


def create_front() -> Flask:
    """Return the bare front: each ``GET /api/v1/products`` is fetched from ``BARE_ORIGIN_URL``."""
    origin = os.environ["BARE_ORIGIN_URL"].rstrip("/") + V1.products
    client = httpx.Client(timeout=10)
    app = Flask("bare-front")

    @app.get(V1.products)
    def products() -> Response:
        answer = client.get(origin)
        return Response(answer.content, status=answer.status_code, mimetype="application/json")

    return _with_health(app)
