"""The unhandled-error count the audit reads: every 500 counted once, under concurrent requests too."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import structlog
from flask import Flask

from shop.kit import errors
from shop.kit.errors import get_unhandled_count

pytestmark = pytest.mark.unit

THREADS, PER_THREAD = 8, 50


@pytest.fixture
def fast_switching() -> Iterator[None]:
    # Switch threads as often as CPython allows, so a racy read-add-write would show.
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(old)


def _buggy_app() -> Flask:
    app = Flask("buggy")
    errors.init_app(app)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("a bug")

    return app


def test_every_concurrent_unhandled_500_is_counted_once(fast_switching: None) -> None:
    app = _buggy_app()

    def hit(_: int) -> list[int]:
        with app.test_client() as client:
            return [client.get("/boom").status_code for _ in range(PER_THREAD)]

    # capture_logs keeps structlog from rendering 40 tracebacks to the console.
    with structlog.testing.capture_logs() as logged, ThreadPoolExecutor(THREADS) as pool:
        statuses = [s for batch in pool.map(hit, range(THREADS)) for s in batch]
    assert statuses == [500] * THREADS * PER_THREAD
    assert get_unhandled_count(app) == THREADS * PER_THREAD
    assert len(logged) == THREADS * PER_THREAD
