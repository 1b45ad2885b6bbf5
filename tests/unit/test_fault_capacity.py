"""The app fault's server of limited capacity: ``concurrency`` served at once, ``queue`` waiting, the rest refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from flask import Flask
from prometheus_client import REGISTRY

from shop.kit.app import create_service_app
from shop.kit.faults import FaultSet, FaultSpec, get_fault_set
from tests.support import poll_until

pytestmark = pytest.mark.unit

ADMIN = {"Authorization": "Bearer admin-token"}


class HeldSleep:
    """A sleep that records its seconds and lasts until released (so a test sees who is served)."""

    def __init__(self) -> None:
        self.slept: list[float] = []
        self.release = threading.Event()

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        assert self.release.wait(10), "never released"


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


def _start(pool: ThreadPoolExecutor, faults: FaultSet, fault: FaultSpec, n: int) -> list[Future[bool]]:
    return [pool.submit(faults.serve_in_line, fault) for _ in range(n)]


def test_one_is_served_at_a_time_the_queue_waits_and_one_more_is_refused(pool: ThreadPoolExecutor) -> None:
    sleep = HeldSleep()
    faults = FaultSet(sleep=sleep)
    fault = FaultSpec(route="/charges", concurrency=1, queue=1, latency_ms=350)
    faults.replace([fault])
    first = _start(pool, faults, fault, 1)
    poll_until(lambda: sleep.slept == [0.35], timeout_s=5, message="the first request served")
    second = _start(pool, faults, fault, 1)
    poll_until(lambda: faults.line(fault).inside == 2, timeout_s=5, message="the second request waiting")
    assert sleep.slept == [0.35]  # one place: the second waits, it is not served beside the first
    assert faults.serve_in_line(fault) is False  # 1 served + 1 waiting: the line is full
    sleep.release.set()
    assert [f.result(5) for f in first + second] == [True, True]
    assert sleep.slept == [0.35, 0.35] and faults.line(fault).inside == 0


def test_the_line_outlives_a_new_service_time_and_drains_at_once_when_the_fault_is_gone(
    pool: ThreadPoolExecutor,
) -> None:
    sleep = HeldSleep()
    faults = FaultSet(sleep=sleep)
    slow = FaultSpec(route="/charges", method="POST", concurrency=1, queue=3, latency_ms=1500)
    faults.replace([slow])
    held = _start(pool, faults, slow, 3)
    poll_until(lambda: faults.line(slow).inside == 3, timeout_s=5, message="one served, two waiting")
    fast = FaultSpec(route="/charges", method="POST", concurrency=1, queue=3, latency_ms=350)
    faults.replace([])  # a phase ends (the runner clears the list) and the next one installs its fault
    faults.replace([fast])
    assert faults.line(fast) is faults.line(slow)  # same place, same capacity: the same line, still full
    assert faults.serve_in_line(FaultSpec(route="/charges", method="POST", concurrency=1, queue=2)) is True
    sleep.release.set()
    assert all(f.result(5) for f in held)
    assert sleep.slept == [1.5, 0.35, 0.35]  # those that waited take the service time of their turn
    faults.replace([])
    gone = _start(pool, faults, fast, 1)
    assert gone[0].result(5) is True and sleep.slept == [1.5, 0.35, 0.35]  # no fault: no service time


@pytest.fixture
def app() -> Flask:
    def setup(app: Flask, _settings: object) -> None:
        app.add_url_rule("/carts/<user_id>/items", "add", lambda user_id: {"ok": True}, methods=["POST"])

    return create_service_app("cart", setup=setup, env={"SHOPLAB_ADMIN_TOKEN": "admin-token",
                                                        "CATALOG_URL": "http://127.0.0.1:9", "SHOPLAB_TELEMETRY": "off"})


def test_a_full_line_answers_the_faults_status_as_json_and_counts_it(app: Flask) -> None:
    client = app.test_client()
    spec = {"route": "/carts", "method": "POST", "concurrency": 1, "queue": 0, "latency_ms": 1, "status": 503}
    assert client.put("/admin/faults", headers=ADMIN, json={"faults": [spec]}).status_code == 200
    faults = get_fault_set(app)
    faults.sleep = lambda _s: None
    labels = {"service": "cart", "route": "/carts", "kind": "capacity"}
    before = REGISTRY.get_sample_value("shoplab_faults_injected_total", labels) or 0.0
    line = faults.line(faults.faults[0])
    assert line.enter()  # someone is being served
    refused = client.post("/carts/u1/items", json={})
    assert refused.status_code == 503 and refused.is_json
    assert refused.get_json()["error"]["code"] == "injected_fault"
    assert "at capacity" in refused.get_json()["error"]["message"]
    assert REGISTRY.get_sample_value("shoplab_faults_injected_total", labels) == before + 1
    line.leave()
    assert client.post("/carts/u1/items", json={}).status_code == 200  # a place again: served
    assert client.get("/admin/faults", headers=ADMIN).get_json()["faults"][0]["concurrency"] == 1
