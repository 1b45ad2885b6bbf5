"""A bare Flask app that answers ``GET /api/v1/products`` with a fixed JSON body: the ceiling for the gateway.

gunicorn loads ``bench.bare_flask:create_app()``; the body is read once from the file named by
``BARE_BODY_FILE`` (the gateway's own answer, so both send the same bytes).
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

from shop.kit.public_api import V1


def create_app() -> Flask:
    """Return the bare app serving the body of ``BARE_BODY_FILE``."""
    body = Path(os.environ["BARE_BODY_FILE"]).read_bytes()
    app = Flask("bare")

    @app.get(V1.products)
    def products() -> Response:
        return Response(body, mimetype="application/json")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response(b'{"status": "ok"}', mimetype="application/json")

    return app
