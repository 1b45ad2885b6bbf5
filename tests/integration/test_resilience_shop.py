"""The resilience kit on the real shop's edges (native stack, real toxiproxy), switched by ``shoplab profile``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from shop.kit.resilience import DEADLINE_HEADER, PROFILES
from shoplab.cli import _register, cli
from shoplab.runtime.stack import Stack
from tests.integration.resilience_harness import read_counter

pytestmark = pytest.mark.integration


def run_profile(stack: Stack, *args: str) -> None:
    """Run ``shoplab profile ...`` against this stack; fail with its output when it fails."""
    _register()
    result = CliRunner().invoke(cli, ["profile", *args], env={"SHOPLAB_RUN_DIR": str(stack.run_dir)})
    assert result.exit_code == 0, result.output


@pytest.fixture
def shop(stack: Stack) -> Iterator[Stack]:
    """Leave every service on the default profile (fresh breakers) whatever the test did."""
    try:
        yield stack
    finally:
        run_profile(stack, "resilient")


@contextmanager
def toxic(toxiproxy: httpx.Client, proxy: str, toxic_type: str, **attributes: Any) -> Iterator[None]:
    """Add a toxic on one edge for the block; always remove it."""
    name = f"resilience_{toxic_type}"
    body = {"name": name, "type": toxic_type, "stream": "downstream", "toxicity": 1.0, "attributes": attributes}
    toxiproxy.post(f"/proxies/{proxy}/toxics", json=body).raise_for_status()
    try:
        yield
    finally:
        toxiproxy.delete(f"/proxies/{proxy}/toxics/{name}").raise_for_status()


@contextmanager
def proxy_down(toxiproxy: httpx.Client, proxy: str) -> Iterator[None]:
    """Disable one edge's proxy for the block; always enable it again."""
    toxiproxy.post(f"/proxies/{proxy}", json={"enabled": False}).raise_for_status()
    try:
        yield
    finally:
        toxiproxy.post(f"/proxies/{proxy}", json={"enabled": True}).raise_for_status()


def test_shoplab_profile_switches_every_service_and_the_cart_catalog_edge_changes_on_the_next_request(
    shop: Stack, toxiproxy: httpx.Client, admin: httpx.Client
) -> None:
    run_profile(shop, "naive")
    for service in shop.topology.service_names:
        assert admin.get(shop.service_url(service) + "/admin/resilience").json()["profile"] == "naive"
    cart = httpx.Client(base_url=shop.service_url("cart"), timeout=20)
    edge = {"caller": "cart", "dependency": "catalog"}

    def add_item() -> tuple[int, float]:
        before = read_counter(cart, "shoplab_dependency_attempts", **edge)
        resp = cart.post(f"/carts/u-{uuid.uuid4().hex[:8]}/items", json={"product_id": 1, "qty": 1})
        return resp.status_code, read_counter(cart, "shoplab_dependency_attempts", **edge) - before

    with cart, toxic(toxiproxy, "cart__catalog", "reset_peer", timeout=0):
        assert add_item() == (503, 1)
        run_profile(shop, "retries")
        assert add_item() == (503, PROFILES["retries"].default.retry_max_attempts)
    run_profile(shop, "resilient")
    assert admin.get(shop.service_url("cart") + "/admin/resilience").json()["profile"] == "resilient"


@pytest.mark.parametrize("fault", ["down", "slow"])
def test_the_real_product_page_answers_200_in_budget_naming_recommendations_degraded(
    shop: Stack, toxiproxy: httpx.Client, fault: str
) -> None:
    run_profile(shop, "resilient", "--override", "recommendations.read_timeout_s=0.3")
    budget_s = PROFILES["resilient"].request_budget_s
    assert budget_s is not None
    with httpx.Client(base_url=shop.service_url("gateway"), timeout=20) as gateway:
        healthy = gateway.get("/api/v1/products/1")
        assert healthy.status_code == 200 and healthy.json()["degraded"] == []
        fault_cm = (proxy_down(toxiproxy, "gateway__recommendations") if fault == "down"
                    else toxic(toxiproxy, "gateway__recommendations", "latency", latency=2000, jitter=0))
        with fault_cm:
            started = time.monotonic()
            resp = gateway.get("/api/v1/products/1")
            elapsed = time.monotonic() - started
        assert resp.status_code == 200, resp.text
        assert resp.json()["degraded"] == ["recommendations"]
        assert resp.json()["recommendations"] == []
        assert elapsed < budget_s, f"the degraded page took {elapsed:.2f} s, past the {budget_s} s budget"
        assert read_counter(gateway, "shoplab_dependency_fallbacks", caller="gateway",
                            dependency="recommendations") >= 1


def test_the_gateway_answers_504_within_its_budget_when_catalog_is_slower_than_its_timeout(
    shop: Stack, toxiproxy: httpx.Client
) -> None:
    run_profile(shop, "resilient", "--override", "catalog.read_timeout_s=0.3")
    budget_s = PROFILES["resilient"].request_budget_s
    assert budget_s is not None
    with httpx.Client(base_url=shop.service_url("gateway"), timeout=20) as gateway:
        with toxic(toxiproxy, "gateway__catalog", "latency", latency=2000, jitter=0):
            started = time.monotonic()
            resp = gateway.get("/api/v1/products")
            elapsed = time.monotonic() - started
    assert resp.status_code == 504
    assert resp.json()["error"]["code"] == "dependency_timeout"
    assert elapsed < budget_s, f"the gateway answered after {elapsed:.2f} s, past its {budget_s} s budget"


def test_catalog_does_not_reserve_stock_for_a_request_whose_deadline_is_spent(shop: Stack) -> None:
    order_id = f"ord-deadline-{uuid.uuid4().hex[:8]}"
    body = {"order_id": order_id, "items": [{"product_id": 1, "qty": 1}]}
    with httpx.Client(base_url=shop.service_url("catalog"), timeout=20) as catalog:
        refused = catalog.post("/reservations", json=body, headers={DEADLINE_HEADER: "0"})
        assert refused.status_code == 504
        assert refused.json()["error"]["code"] == "deadline_exceeded"
        try:
            # 201, not the 200 of a repeat: the refused request reserved nothing.
            assert catalog.post("/reservations", json=body, headers={DEADLINE_HEADER: "2000"}).status_code == 201
        finally:
            catalog.post(f"/reservations/{order_id}/release").raise_for_status()
