"""Answer ``/healthz`` (the process lives) and ``/readyz`` (it can serve)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, current_app, jsonify

from shop.kit.state import get_component, set_component

ReadinessCheck = Callable[[], bool]


class ReadinessChecks:
    """The named checks ``/readyz`` runs, filled by ``add_readiness_check``."""

    def __init__(self) -> None:
        self.checks: dict[str, ReadinessCheck] = {}

    def get_failing(self) -> list[str]:
        """Return the names of the checks that are false or raise."""
        failing = []
        for name, check in self.checks.items():
            try:
                ok = check()
            except Exception:  # a failing check is an answer, not a crash
                ok = False
            if not ok:
                failing.append(name)
        return failing


def add_readiness_check(app: Flask, name: str, check: ReadinessCheck) -> None:
    """Make ``/readyz`` answer 503 naming ``name`` while ``check`` is false or raises."""
    get_component(app, ReadinessChecks).checks[name] = check


def init_app(app: Flask) -> None:
    """Register the health routes on ``app``."""
    readiness = ReadinessChecks()
    set_component(app, readiness)

    @app.get("/healthz")
    def healthz() -> Response:
        """Say the process is alive."""
        return jsonify(status="ok", service=current_app.name)

    @app.get("/readyz")
    def readyz() -> Response | tuple[Response, int]:
        """Say whether every readiness check passes; 503 names those that fail."""
        failing = readiness.get_failing()
        if failing:
            return jsonify(status="not_ready", service=current_app.name, failing=failing), 503
        return jsonify(status="ready", service=current_app.name)
