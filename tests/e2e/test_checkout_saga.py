"""End-to-end tests of checkout and the saga on the native stack (orders, payments, notifications, audit).

They call the internal APIs directly (one test walks the gateway's public flow) and use
their own products, restocked through catalog's admin API, so they do not depend on
what other tests bought.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from shoplab.runtime.audit import run_audit
from shoplab.runtime.stack import Stack
from tests.e2e.shop_client import DECLINE_CARD, ShopClient
from tests.support import poll_until

pytestmark = pytest.mark.e2e

# Products these tests own (restocked where a test needs an exact count).
HAPPY, IDEMPOTENT, OWNER, DECLINED, WORKER_DOWN, PAYMENTS_DOWN, SCARCE, BROKEN, GATEWAY, KILLED = (
    3, 4, 5, 19, 6, 7, 20, 8, 9, 10)


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Iterator[ShopClient]:
    client = ShopClient(stack)
    try:
        yield client
    finally:
        client.close()


def synthetic_user() -> str:
    # Internal services trust the forwarded user id; skipping signup keeps argon2 off the 2 cores.
    return f"e2e-{uuid.uuid4().hex[:16]}"


def test_a_checkout_is_paid_clears_the_cart_and_notifies_the_owner(shop: ShopClient) -> None:
    user = shop.signup()
    price = shop.product(HAPPY)["price_cents"]
    shop.add_to_cart(user, HAPPY, 2)
    resp = shop.checkout(user)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["status"] == "pending" and created["total_cents"] == 2 * price

    order = shop.wait_until_finished(user, created["order_id"])
    assert order["status"] == "paid"
    charges = shop.charges_for(order["order_id"])
    assert [(c["status"], c["amount_cents"]) for c in charges] == [("succeeded", 2 * price)]
    assert shop.cart(user)["items"] == []
    paid = shop.wait_for_notification(user, order["order_id"], "order.paid")
    assert order["order_id"] in paid["subject"]
    assert {n["type"] for n in shop.notifications(user)} >= {"order.created", "order.paid"}


def test_the_public_checkout_through_the_gateway_ends_paid_and_notified(shop: ShopClient) -> None:
    gateway = shop.stack.service_url("gateway")
    email = f"e2e-{uuid.uuid4().hex[:12]}@example.test"
    signup = shop.http.post(f"{gateway}/api/v1/auth/signup",
                            json={"email": email, "password": "correct horse battery", "name": "Gate"})
    assert signup.status_code == 201, signup.text
    auth = {"Authorization": f"Bearer {signup.json()['access_token']}"}
    added = shop.http.post(f"{gateway}/api/v1/cart/items", json={"product_id": GATEWAY, "qty": 1}, headers=auth)
    assert added.status_code == 200, added.text
    key = uuid.uuid4().hex
    checkout = shop.http.post(f"{gateway}/api/v1/checkout", headers={**auth, "Idempotency-Key": key})
    assert checkout.status_code == 201, checkout.text
    order_id = checkout.json()["order_id"]
    assert checkout.json()["status"] == "pending"

    def paid() -> dict[str, object] | None:
        body: dict[str, object] = shop.http.get(f"{gateway}/api/v1/orders/{order_id}", headers=auth).json()
        return body if body["status"] == "paid" else None

    poll_until(paid, timeout_s=60, interval_s=0.1, message=f"order {order_id} is paid through the gateway")
    user_id = shop.http.get(f"{gateway}/api/v1/cart", headers=auth).json()["user_id"]
    shop.wait_for_notification(user_id, order_id, "order.paid")
    # The owner reads the emails through the gateway; anyone else gets a 404.
    emails = shop.http.get(f"{gateway}/api/v1/orders/{order_id}/notifications", headers=auth)
    assert emails.status_code == 200, emails.text
    assert {n["type"] for n in emails.json()["items"]} >= {"order.created", "order.paid"}
    assert all(n["order_id"] == order_id for n in emails.json()["items"])
    other = shop.http.post(f"{gateway}/api/v1/auth/signup", json={
        "email": f"e2e-{uuid.uuid4().hex[:12]}@example.test", "password": "correct horse battery", "name": "Eve"})
    eve = {"Authorization": f"Bearer {other.json()['access_token']}"}
    assert shop.http.get(f"{gateway}/api/v1/orders/{order_id}/notifications", headers=eve).status_code == 404
    assert shop.http.post(f"{gateway}/api/v1/checkout", headers={**auth, "Idempotency-Key": key}).json()["order_id"] \
        == order_id
    assert len(shop.charges_for(order_id)) == 1


def test_a_declined_card_ends_payment_failed_and_the_stock_comes_back(shop: ShopClient) -> None:
    shop.set_stock(DECLINED, 10)
    user = synthetic_user()
    shop.add_to_cart(user, DECLINED, 3)
    resp = shop.checkout(user, card=DECLINE_CARD)
    assert resp.status_code == 201, resp.text
    order = shop.wait_until_finished(user, resp.json()["order_id"])
    assert (order["status"], order["reason"]) == ("payment_failed", "declined")
    assert shop.product(DECLINED)["stock"] == 10
    assert [c["status"] for c in shop.charges_for(order["order_id"])] == ["declined"]
    shop.wait_for_notification(user, order["order_id"], "order.payment_failed")


def test_the_same_idempotency_key_twice_gives_one_order_and_one_charge(shop: ShopClient) -> None:
    user = synthetic_user()
    shop.add_to_cart(user, IDEMPOTENT, 1)
    key = uuid.uuid4().hex
    first = shop.checkout(user, key=key)
    with ThreadPoolExecutor(max_workers=4) as pool:
        repeats = list(pool.map(lambda _: shop.checkout(user, key=key), range(4)))
    assert first.status_code == 201
    assert {r.status_code for r in repeats} == {200}
    assert {r.json()["order_id"] for r in repeats} == {first.json()["order_id"]}

    shop.wait_until_finished(user, first.json()["order_id"])
    again = shop.checkout(user, key=key)  # after paid and the cart cleared: still the same order
    assert again.status_code == 200 and again.json()["order_id"] == first.json()["order_id"]
    listed = shop.http.get(shop.url("orders", "/orders"), params={"user_id": user}).json()["items"]
    assert [o["order_id"] for o in listed] == [first.json()["order_id"]]
    assert len(shop.charges_for(first.json()["order_id"])) == 1


def test_twenty_concurrent_checkouts_for_five_units_sell_at_most_five(shop: ShopClient) -> None:
    shop.set_stock(SCARCE, 5)
    users = [synthetic_user() for _ in range(20)]
    for user in users:
        shop.add_to_cart(user, SCARCE, 1)
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(shop.checkout, users))
    assert [r.status_code for r in responses] == [201] * 20
    order_ids = [r.json()["order_id"] for r in responses]

    lowest_stock = [5]

    def all_finished() -> list[dict[str, object]] | None:
        lowest_stock[0] = min(lowest_stock[0], shop.product(SCARCE)["stock"])
        orders = [shop.order(u, o).json() for u, o in zip(users, order_ids, strict=True)]
        return orders if all(o["status"] != "pending" for o in orders) else None

    orders = poll_until(all_finished, timeout_s=120, interval_s=0.2, message="20 orders finish")
    statuses = [o["status"] for o in orders]
    assert statuses.count("paid") == 5
    assert {o["reason"] for o in orders if o["status"] != "paid"} == {"insufficient_stock"}
    assert lowest_stock[0] >= 0 and shop.product(SCARCE)["stock"] == 0
    assert sum(len(shop.charges_for(o)) for o in order_ids) == 5


def test_another_users_order_is_not_found(shop: ShopClient) -> None:
    owner, stranger = synthetic_user(), synthetic_user()
    shop.add_to_cart(owner, OWNER, 1)
    order_id = shop.checkout(owner).json()["order_id"]
    assert shop.order(owner, order_id).status_code == 200
    resp = shop.order(stranger, order_id)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    shop.wait_until_finished(owner, order_id)


def test_an_empty_cart_and_bad_bodies_get_json_4xx(shop: ShopClient) -> None:
    empty = shop.checkout(synthetic_user())
    assert empty.status_code == 409 and empty.json()["error"]["code"] == "empty_cart"
    cases = [
        ("orders", "/orders", b"{not json", {}),
        ("orders", "/orders", b'{"user_id": 42}', {}),
        ("payments", "/charges", b'{"order_id": "o", "amount_cents": -5}', {"Idempotency-Key": "o"}),
        ("payments", "/charges", b'{"order_id": "o", "amount_cents": 5}', {}),
        ("notifications", "/events", b'{"event_id": "e"}', {}),
    ]
    for service, path, raw, headers in cases:
        resp = shop.http.post(shop.url(service, path), content=raw,
                              headers={"Content-Type": "application/json", **headers})
        assert resp.status_code in (400, 422), (service, raw, resp.status_code)
        assert set(resp.json()["error"]) >= {"code", "message", "request_id"}


def test_orders_wait_while_the_worker_is_stopped_and_finish_when_it_returns(shop: ShopClient,
                                                                           stack: Stack) -> None:
    user = synthetic_user()
    shop.add_to_cart(user, WORKER_DOWN, 1)
    stack.stop_process("orders-worker")
    try:
        order_id = shop.checkout(user).json()["order_id"]
        assert shop.order(user, order_id).json()["status"] == "pending"
    finally:
        stack.start_process("orders-worker")
    assert shop.wait_until_finished(user, order_id)["status"] == "paid"
    assert len(shop.charges_for(order_id)) == 1


def test_a_worker_killed_after_the_charge_finishes_the_order_on_restart_with_one_charge(
    shop: ShopClient, stack: Stack, toxiproxy: httpx.Client
) -> None:
    user = synthetic_user()
    shop.add_to_cart(user, KILLED, 1)
    # Hold the charge's answer so the worker is between "charged" and "paid" when it dies.
    toxiproxy.post("/proxies/orders__payments/toxics", json={
        "name": "hold_charge_answer", "type": "latency", "stream": "downstream", "attributes": {"latency": 5000},
    }).raise_for_status()
    try:
        order_id = shop.checkout(user).json()["order_id"]
        poll_until(lambda: shop.charges_for(order_id), timeout_s=30, message="payments records the charge")
        stack.kill_process("orders-worker")
        assert shop.order(user, order_id).json()["status"] == "pending"
    finally:
        toxiproxy.delete("/proxies/orders__payments/toxics/hold_charge_answer")
        stack.start_process("orders-worker")
    assert shop.wait_until_finished(user, order_id)["status"] == "paid"
    assert [c["status"] for c in shop.charges_for(order_id)] == ["succeeded"]
    shop.wait_for_notification(user, order_id, "order.paid")


def test_an_unreachable_payments_service_delays_the_order_without_a_second_charge(
    shop: ShopClient, toxiproxy: httpx.Client
) -> None:
    user = synthetic_user()
    shop.add_to_cart(user, PAYMENTS_DOWN, 1)
    failures_before = worker_failures(shop, "payments")
    toxiproxy.post("/proxies/orders__payments", json={"enabled": False}).raise_for_status()
    try:
        order_id = shop.checkout(user).json()["order_id"]
        # The worker has tried (and failed) at least once while the edge is down.
        poll_until(lambda: worker_failures(shop, "payments") > failures_before, timeout_s=30,
                   message="the worker meets the payments outage")
        assert shop.order(user, order_id).json()["status"] == "pending"
    finally:
        toxiproxy.post("/proxies/orders__payments", json={"enabled": True}).raise_for_status()
    assert shop.wait_until_finished(user, order_id)["status"] == "paid"
    assert len(shop.charges_for(order_id)) == 1


def test_the_worker_follows_a_profile_switched_on_the_orders_service(shop: ShopClient, stack: Stack) -> None:
    log_path = stack.log_dir / "orders-worker.log"
    admin = shop.url("orders", "/admin/resilience")
    assert shop.http.put(admin, json={"profile": "timeouts"}, headers=shop.admin_headers).status_code == 200
    try:
        poll_until(lambda: '"profile": "timeouts"' in log_path.read_text(), timeout_s=20,
                   message="the worker switches to the timeouts profile")
    finally:
        shop.http.put(admin, json={"profile": "resilient"}, headers=shop.admin_headers).raise_for_status()
    poll_until(lambda: log_path.read_text().rfind('"profile": "resilient"') > log_path.read_text().rfind(
        '"profile": "timeouts"'), timeout_s=20, message="the worker switches back")


def worker_failures(shop: ShopClient, dependency: str) -> float:
    """Read the worker's failed-step counter for ``dependency`` from its /metrics."""
    topo = shop.stack.topology
    text = httpx.get(f"http://{topo.host}:{topo.worker_metrics_port}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith("shoplab_orders_worker_step_failures_total") and f'dependency="{dependency}"' in line:
            return float(line.split()[-1])
    return 0.0


def test_the_audit_fails_naming_the_order_when_a_second_charge_is_written(shop: ShopClient) -> None:
    user = synthetic_user()
    shop.add_to_cart(user, BROKEN, 1)
    order = shop.wait_until_finished(user, shop.checkout(user).json()["order_id"])
    raw = shop.http.post(shop.url("payments", "/admin/ledger"), headers=shop.admin_headers,
                         json={"order_id": order["order_id"], "amount_cents": order["total_cents"]})
    assert raw.status_code == 201, raw.text
    try:
        report = run_audit(shop.base_urls(), shop.stack.admin_token, drain_timeout_s=60)
        assert not report.ok
        named = [v for v in report.violations if order["order_id"] in v.message]
        assert [v.invariant for v in named] == ["one_charge_per_paid_order"]
        assert raw.json()["charge_id"] in named[0].message

        cli = subprocess.run(
            [sys.executable, "-m", "shoplab", "audit", "--run-dir", str(shop.stack.run_dir), "--drain-timeout", "30"],
            capture_output=True, text=True, timeout=120,
        )
        assert cli.returncode == 1, cli.stdout + cli.stderr
        assert order["order_id"] in cli.stdout
    finally:
        undo = shop.http.delete(shop.url("payments", f"/admin/ledger/{raw.json()['charge_id']}"),
                                headers=shop.admin_headers)
        assert undo.status_code == 200


def test_the_audit_is_clean_after_the_checkouts(shop: ShopClient) -> None:
    report = run_audit(shop.base_urls(), shop.stack.admin_token, drain_timeout_s=90)
    assert report.drained
    assert report.ok, "\n".join(str(v) for v in report.violations)
    assert report.counts["orders"] >= 20
