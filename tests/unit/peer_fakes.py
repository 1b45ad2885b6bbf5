"""Resilient clients wired to in-process peers (WSGI) or to a dead one: no sockets."""

from __future__ import annotations

from pathlib import Path

import httpx
from flask import Flask

from shop.kit.resilience import ResilientClient

ADMIN_TOKEN = "admin-token"
JWT_SECRET = "unit-tests-jwt-secret-long-enough-for-hs256-and-hs512-tokens-ok"


def service_env(tmp_path: Path, service: str, **extra: str) -> dict[str, str]:
    """Return an env for ``create_app`` with placeholder peer URLs."""
    from shop.topology import DEFAULT

    env = {
        "SHOPLAB_ADMIN_TOKEN": ADMIN_TOKEN,
        "SHOPLAB_JWT_SECRET": JWT_SECRET,
        "SHOPLAB_DATA_DIR": str(tmp_path / service),
        "IDENTITY_ARGON2_MEMORY_KIB": "1024",
    }
    for callee in DEFAULT.service(service).calls:
        env[f"{callee.upper()}_URL"] = f"http://{callee}.invalid"
    env.update(extra)
    return env


def wsgi_client(dependency: str, app: Flask, *, caller: str) -> ResilientClient:
    """Return a resilient client whose peer is ``app``, called in-process."""
    return ResilientClient(
        dependency,
        f"http://{dependency}.test",
        caller=caller,
        transport=httpx.WSGITransport(app=app),
        sleep=lambda _s: None,
    )


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def dead_client(dependency: str, *, caller: str) -> ResilientClient:
    """Return a resilient client whose peer refuses every connection."""
    return ResilientClient(
        dependency,
        f"http://{dependency}.test",
        caller=caller,
        transport=httpx.MockTransport(_refuse),
        sleep=lambda _s: None,
    )
