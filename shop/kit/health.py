"""Answer ``/healthz`` (the process lives) and ``/readyz`` (it can serve)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, current_app, jsonify


def add_readiness_check(app: Flask, name: str, check: Callable[[], bool]) -> None:
    """Make ``/readyz`` answer 503 naming ``name`` while ``check`` is false or raises."""
    from shop.kit.app import get_kit

    get_kit(app).readiness_checks[name] = check


def init_app(app: Flask) -> None:
    """Register the health routes on ``app``."""

    @app.get("/healthz")
    def healthz() -> Response:
        """Say the process is alive."""
        return jsonify(status="ok", service=current_app.name)

    @app.get("/readyz")
    def readyz() -> Response | tuple[Response, int]:
        """Say whether every readiness check passes; 503 names those that fail."""
        from shop.kit.app import get_kit

        failing = []
        for name, check in get_kit(current_app).readiness_checks.items():
            try:
                ok = check()
            except Exception:  # a failing check is an answer, not a crash
                ok = False
            if not ok:
                failing.append(name)
        if failing:
            return jsonify(status="not_ready", service=current_app.name, failing=failing), 503
        return jsonify(status="ready", service=current_app.name)
