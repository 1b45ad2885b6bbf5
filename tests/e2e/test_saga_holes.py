"""Issue 16 on the native stack: the saga, checkout and card holes, with real processes and the supervisor."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from shoplab.runtime.stack import Stack
from tests.e2e.shop_client import ShopClient
from tests.support import poll_until

pytestmark = pytest.mark.e2e

# Products these tests own (restocked first, so other tests' purchases do not matter).
RELEASED, THROTTLED, DOUBLE, LATER = 11, 12, 13, 14


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Iterator[ShopClient]:
    client = ShopClient(stack)
    try:
        yield client
    finally:
        client.close()


def synthetic_user() -> str:
    return f"e2e-holes-{uuid.uuid4().hex[:12]}"


def test_a_rerun_after_the_stock_was_released_ends_unpaid_with_no_charge(shop: ShopClient, stack: Stack) -> None:
    # Failed before issue 16: the rerun took catalog's 200 for the released reservation as held and charged.
    shop.set_stock(RELEASED, 5)
    user = synthetic_user()
    shop.add_to_cart(user, RELEASED, 1)
    stack.stop_process("orders-worker")
    try:
        order_id = shop.checkout(user).json()["order_id"]
        # What the dead worker's pass did: reserved, saw payments refuse, released, died before finishing.
        held = shop.http.post(shop.url("catalog", "/reservations"), headers={"Idempotency-Key": order_id},
                              json={"order_id": order_id, "items": [{"product_id": RELEASED, "qty": 1}]})
        assert held.status_code == 201, held.text
        released = shop.http.post(shop.url("catalog", f"/reservations/{order_id}/release"))
        assert released.json()["status"] == "released"
    finally:
        stack.start_process("orders-worker")
    order = shop.wait_until_finished(user, order_id)
    assert (order["status"], order["reason"]) == ("payment_failed", "reservation_released")
    assert shop.charges_for(order_id) == []
    assert shop.product(RELEASED)["stock"] == 5


def test_a_429_with_retry_after_from_payments_only_delays_the_order(shop: ShopClient) -> None:
    # Failed before issue 16: the 429 ended the order payment_failed for good.
    shop.set_stock(THROTTLED, 5)
    user = synthetic_user()
    shop.add_to_cart(user, THROTTLED, 1)
    faults = shop.url("payments", "/admin/faults")
    fault = {"route": "/charges", "method": "POST", "error_rate": 1.0, "status": 429, "retry_after_s": 1}
    assert shop.http.put(faults, json={"faults": [fault]}, headers=shop.admin_headers).status_code == 200
    # the counter is the process's: other tests on this stack (the explorer's 429 cells) may have moved it already
    before = injected_429s(shop)
    try:
        order_id = shop.checkout(user).json()["order_id"]
        poll_until(lambda: injected_429s(shop) > before, timeout_s=30, message="the worker meets the 429")
        assert shop.order(user, order_id).json()["status"] == "pending"
        assert shop.product(THROTTLED)["stock"] == 4  # still held, not released
    finally:
        shop.http.delete(faults, headers=shop.admin_headers)
    assert shop.wait_until_finished(user, order_id)["status"] == "paid"
    assert [c["status"] for c in shop.charges_for(order_id)] == ["succeeded"]


def injected_429s(shop: ShopClient) -> float:
    text = shop.http.get(shop.url("payments", "/metrics")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("shoplab_faults_injected_total{") and 'kind="error"' in line)


def test_two_quick_checkouts_without_a_key_make_one_order_and_later_items_stay(
        shop: ShopClient, stack: Stack) -> None:
    # Failed before issue 16: two orders (two charges) for one cart, and paying emptied the whole cart.
    shop.set_stock(DOUBLE, 5)
    shop.set_stock(LATER, 5)
    user = synthetic_user()
    shop.add_to_cart(user, DOUBLE, 1)
    stack.stop_process("orders-worker")
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(lambda _: shop.checkout(user), range(2)))
        assert sorted(a.status_code for a in answers) == [200, 201]
        assert len({a.json()["order_id"] for a in answers}) == 1
        shop.add_to_cart(user, LATER, 1)  # added while the order is pending
    finally:
        stack.start_process("orders-worker")
    order_id = answers[0].json()["order_id"]
    assert shop.wait_until_finished(user, order_id)["status"] == "paid"
    assert [i["product_id"] for i in shop.cart(user)["items"]] == [LATER]
    assert len(shop.charges_for(order_id)) == 1


def test_a_reused_key_with_another_card_is_a_422(shop: ShopClient) -> None:
    # Failed before issue 16: the second request silently answered the first order.
    shop.set_stock(DOUBLE, 5)
    user = synthetic_user()
    shop.add_to_cart(user, DOUBLE, 1)
    key = f"k-{uuid.uuid4().hex}"
    first = shop.checkout(user, key=key)
    other = shop.checkout(user, key=key, card="4000000000000002")
    assert first.status_code == 201
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert shop.wait_until_finished(user, first.json()["order_id"])["status"] == "paid"
