"""Planted bugs and the caller header, on the kit's own parts: the admin API, the resilient client, an app fault."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from flask import Flask, jsonify

from shop.kit.app import create_service_app
from shop.kit.errors import DependencyUnavailable
from shop.kit.plants import get_plants, set_plants
from shop.kit.resilience import ResilienceControl, ResilientClient

pytestmark = pytest.mark.unit
ADMIN = {"Authorization": "Bearer admin-token"}


@pytest.fixture(autouse=True)
def no_plants_after() -> Iterator[None]:
    yield
    set_plants([])


def _setup(app: Flask, _kit: object) -> None:
    @app.post("/charges")
    def charge() -> object:
        return jsonify(ok=True)


def make_app(plant: str = "") -> Flask:
    return create_service_app("payments", setup=_setup, env={
        "SHOPLAB_ADMIN_TOKEN": "admin-token", "SHOPLAB_TELEMETRY": "off", "SHOPLAB_PLANT": plant})


def make_client(answers: list[int], seen: list[httpx.Request]) -> ResilientClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(answers.pop(0) if answers else 200, json={})
    control = ResilienceControl("orders", "resilient", ["payments"])
    return ResilientClient("payments", "http://payments.test", caller="orders", control=control,
                           transport=httpx.MockTransport(handler), sleep=lambda _s: None)


def test_plants_are_read_from_the_environment_and_switched_through_the_admin_api() -> None:
    client = make_app("final_503").test_client()
    assert client.get("/admin/plants", headers=ADMIN).get_json()["plants"] == ["final_503"]
    assert client.put("/admin/plants", json={"plants": ["no_fallback"]}, headers=ADMIN).status_code == 200
    assert get_plants() == {"no_fallback"}
    refused = client.put("/admin/plants", json={"plants": ["nope"]}, headers=ADMIN)
    assert refused.status_code == 422 and "nope" in refused.get_json()["error"]["message"]
    assert get_plants() == {"no_fallback"}  # nothing changed
    assert client.put("/admin/plants", json={"plants": "no_fallback"}, headers=ADMIN).status_code == 400
    assert client.get("/admin/plants").status_code == 401


def test_an_app_fault_for_one_caller_spares_the_others() -> None:
    client = make_app().test_client()
    fault = {"route": "/", "caller": "orders", "error_rate": 1.0, "status": 503, "times": 1}
    assert client.put("/admin/faults", json={"faults": [fault]}, headers=ADMIN).status_code == 200
    assert client.post("/charges", headers={"X-Shoplab-Caller": "gateway"}).status_code == 200
    assert client.post("/charges").status_code == 200
    assert client.post("/charges", headers={"X-Shoplab-Caller": "orders"}).status_code == 503
    assert client.post("/charges", headers={"X-Shoplab-Caller": "orders"}).status_code == 200  # times: 1


def test_the_client_names_its_caller_on_every_call() -> None:
    seen: list[httpx.Request] = []
    make_client([], seen).post("/charges", idempotency_key="o1")
    assert seen[0].headers["X-Shoplab-Caller"] == "orders"


def test_a_post_without_a_key_is_retried_only_when_that_bug_is_planted() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(DependencyUnavailable):
        make_client([503, 503, 503], seen).post("/charges")
    assert len(seen) == 1
    set_plants(["retry_post_without_key"])
    seen.clear()
    assert make_client([503, 200], seen).post("/charges").status_code == 200
    assert len(seen) == 2


def test_a_503_is_final_only_when_that_bug_is_planted() -> None:
    seen: list[httpx.Request] = []
    assert make_client([503, 200], seen).get("/charges/1").status_code == 200  # retried
    set_plants(["final_503"])
    seen.clear()
    assert make_client([503, 200], seen).get("/charges/1").status_code == 503
    assert len(seen) == 1
