"""The five shopper journeys the explorer runs, each split into a fault-free setup and the faulted part.

They walk the gateway's public API (``shop.kit.public_api.V1``) with httpx, one request at a
time, and class themselves like the load tests' journeys (``loadtests.outcomes``):
success, degraded (a designed fallback answered) or failure. The shopper waits at most
``USER_TIMEOUT_S`` for any answer, and at most ``ORDER_WAIT_S`` for a checkout to settle.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from loadtests.outcomes import (
    OrderState,
    StepResult,
    classify_journey,
    classify_order_status,
    classify_product_page,
)
from shop.kit.public_api import V1
from shop.payments.model import DECLINE_CARD

# The gateway's request budget (3 s) plus slack: a page slower than this failed its shopper.
USER_TIMEOUT_S = 3.5
ORDER_WAIT_S = 5.0
POLL_S = 0.2


class StepFailed(Exception):
    """A step answered outside the journey's contract; the journey ends as a failure."""


@dataclass
class Shopper:
    """One shopper's session on the gateway: the client, the account, and what the journey did."""

    http: httpx.Client
    token: str = ""
    product_id: int = 0
    order_id: str = ""
    steps: list[StepResult] = field(default_factory=list)
    status: str = "-"
    reason: str = ""  # the last answer's status with its error code and message, when it was an error

    def auth(self) -> dict[str, str]:
        """Return the bearer header."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def send(self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None
             ) -> tuple[int, Any]:
        """Send one request; return (status, body) — status 0 when no whole answer came within ``USER_TIMEOUT_S``.

        httpx's read timeout bounds each read, not the answer: a body trickling in slowly is
        only caught by timing the whole request, as a shopper's patience does.
        """
        started = time.perf_counter()
        try:
            resp = self.http.request(method, path, json=json, headers={**self.auth(), **(headers or {})})
        except httpx.TimeoutException:
            self.status = self.reason = "timeout"
            return 0, None
        except httpx.TransportError as exc:
            self.status = self.reason = f"no answer ({type(exc).__name__})"
            return 0, None
        took = time.perf_counter() - started
        if took > USER_TIMEOUT_S:
            self.status = f"late ({took:.1f} s)"
            self.reason = f"answered after {took:.1f} s: the shopper had left at {USER_TIMEOUT_S:g} s"
            return 0, None
        self.status = str(resp.status_code)
        try:
            body = resp.json() if resp.content else None
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        self.reason = f"{resp.status_code} {error.get('code', '')}: {error.get('message', '')}"[:160] \
            if isinstance(error, dict) else self.status
        return resp.status_code, body

    def step(self, method: str, path: str, *, expect: tuple[int, ...] = (200,), json: Any = None,
             headers: dict[str, str] | None = None) -> Any:
        """Send one request and record it as a step; raise StepFailed outside ``expect``."""
        status, body = self.send(method, path, json=json, headers=headers)
        if status not in expect:
            self.steps.append(StepResult(f"{method} {path}", False, reason=self.reason))
            raise StepFailed(f"{method} {path}: {self.status}")
        self.steps.append(StepResult(f"{method} {path}", True))
        return body


# -- setup (fault-free) and the faulted parts -----------------------------------------------

def sign_up(shopper: Shopper, *, log_in: bool = True) -> None:
    """Create an account and log in with it (or keep sign-up's own token: one password hash less per setup)."""
    email = f"explore-{uuid.uuid4().hex[:12]}@example.test"
    password = f"pw-{uuid.uuid4().hex}"
    body = shopper.step("POST", V1.signup, expect=(201,),
                        json={"email": email, "password": password, "name": "Explorer"})
    if log_in:
        body = shopper.step("POST", V1.login, json={"email": email, "password": password})
    shopper.token = str((body or {}).get("access_token") or "")
    if not shopper.token:
        shopper.steps.append(StepResult(f"POST {V1.login}", False, reason="no access_token"))
        raise StepFailed("no access_token")


def pick_product(shopper: Shopper) -> None:
    """Choose the product with the most stock (checkouts use it up)."""
    body = shopper.step("GET", V1.products)
    items = (body or {}).get("items") or []
    if not items:
        raise StepFailed("the catalog is empty")
    shopper.product_id = int(max(items, key=lambda p: int(p.get("stock") or 0))["id"])


def sign_up_and_pick(shopper: Shopper) -> None:
    """Sign up and choose a product."""
    sign_up(shopper, log_in=False)
    pick_product(shopper)


def fill_cart(shopper: Shopper) -> None:
    """Sign up, choose a product and put one in the cart."""
    sign_up(shopper, log_in=False)
    pick_product(shopper)
    shopper.step("POST", V1.cart_items, json={"product_id": shopper.product_id, "qty": 1})


def run_signup(shopper: Shopper) -> None:
    """Journey ``signup``: create an account, log in."""
    sign_up(shopper)


def run_browse(shopper: Shopper) -> None:
    """Journey ``browse``: open the catalog."""
    body = shopper.step("GET", V1.products)
    if not (body or {}).get("items"):
        shopper.steps.append(StepResult(f"GET {V1.products}", False, reason="no items"))


def run_product(shopper: Shopper) -> None:
    """Journey ``product``: open one product page (degraded when it names a part it did without)."""
    status, body = shopper.send("GET", V1.product(shopper.product_id))
    route = f"GET {V1.product(shopper.product_id)}"
    page = classify_product_page(route, status, body)
    shopper.steps.append(page if page.ok else StepResult(route, False, reason=page.reason if status == 200 else shopper.reason))


def run_cart(shopper: Shopper) -> None:
    """Journey ``cart``: add an item, view the cart, remove the item."""
    shopper.step("POST", V1.cart_items, json={"product_id": shopper.product_id, "qty": 1})
    shopper.step("GET", V1.cart)
    shopper.step("DELETE", V1.cart_item(shopper.product_id), expect=(200, 204))


def _checkout(shopper: Shopper, card: str | None, settle: Callable[[str, str], bool]) -> None:
    body = shopper.step("POST", V1.checkout, expect=(200, 201), json={"card": card} if card else {},
                        headers={"Idempotency-Key": uuid.uuid4().hex})
    shopper.order_id = str((body or {}).get("order_id") or "")
    if not shopper.order_id:
        shopper.steps.append(StepResult(f"POST {V1.checkout}", False, reason="no order_id"))
        return
    deadline = time.monotonic() + ORDER_WAIT_S
    while True:
        order = shopper.step("GET", V1.order(shopper.order_id)) or {}
        status, reason = str(order.get("status") or ""), str(order.get("reason") or "")
        if classify_order_status(status) is not OrderState.PENDING:
            shopper.status = f"order {status}"
            if not settle(status, reason):
                shopper.steps.append(StepResult("order", False, reason=f"order ended {status} ({reason})"))
            return
        if time.monotonic() >= deadline:
            shopper.status = "order pending"
            shopper.steps.append(StepResult("order", False, reason=f"order still pending after {ORDER_WAIT_S:g} s"))
            return
        time.sleep(POLL_S)  # the shopper's own polling interval


def run_checkout(shopper: Shopper) -> None:
    """Journey ``checkout``: check out the filled cart; the order must end ``paid``."""
    _checkout(shopper, None, lambda status, _reason: status == "paid")


def run_decline(shopper: Shopper) -> None:
    """Journey ``decline``: check out with the declining card; the order must end ``payment_failed`` (declined)."""
    _checkout(shopper, DECLINE_CARD, lambda status, reason: status == "payment_failed" and reason == "declined")


@dataclass(frozen=True)
class JourneyDef:
    """A journey: its fault-free setup, its faulted part, and what the consistency check looks at."""

    name: str
    setup: Callable[[Shopper], None]
    run: Callable[[Shopper], None]
    checks: str  # "order": the audit scoped to its order; "cart": the cart holds no duplicate; "": nothing


def _nothing(_shopper: Shopper) -> None:
    return None


JOURNEYS: dict[str, JourneyDef] = {
    j.name: j for j in (
        JourneyDef("signup", _nothing, run_signup, ""),
        JourneyDef("browse", _nothing, run_browse, ""),
        JourneyDef("product", pick_product, run_product, ""),
        JourneyDef("cart", sign_up_and_pick, run_cart, "cart"),
        JourneyDef("checkout", fill_cart, run_checkout, "order"),
        JourneyDef("decline", fill_cart, run_decline, "order"),
    )
}


@dataclass(frozen=True)
class JourneyResult:
    """How one faulted journey went."""

    outcome: str
    status: str
    elapsed_s: float
    reason: str


def run_journey(journey: JourneyDef, shopper: Shopper) -> JourneyResult:
    """Run the faulted part of ``journey`` (its setup done) and class it."""
    shopper.steps = []
    started = time.perf_counter()
    try:
        journey.run(shopper)
    except StepFailed:
        pass
    elapsed = time.perf_counter() - started
    failed = next((s for s in shopper.steps if not s.ok), None)
    degraded = next((s for s in shopper.steps if s.degraded), None)
    reason = failed.reason if failed else (f"degraded: {', '.join(degraded.degraded)}" if degraded else "")
    return JourneyResult(str(classify_journey(shopper.steps)), shopper.status, elapsed, reason)


def order_ids(shopper: Shopper) -> list[str] | None:
    """Return the ids of every order of the shopper (None when they cannot be read)."""
    status, body = shopper.send("GET", V1.orders)
    if status != 200 or not isinstance(body, dict):
        return None
    return [str(o.get("order_id")) for o in body.get("items") or [] if isinstance(o, dict)]


def cart_quantity(shopper: Shopper) -> int | None:
    """Return how many of the shopper's product the cart holds (None when the cart cannot be read)."""
    status, body = shopper.send("GET", V1.cart)
    if status != 200 or not isinstance(body, dict):
        return None
    return sum(int(i.get("qty") or 0) for i in body.get("items") or [] if int(i.get("product_id") or -1) == shopper.product_id)
