"""Shopper journeys as Locust users walking the gateway's public API (imports locust: Locust processes only).

Requests go to ``/api/v1`` (paths from ``shop.kit.public_api``; ``/api``, the deprecated twins, when
``SHOPLAB_LOAD_API_PREFIX`` says so) and are named by route
template (``/api/v1/products/[id]``), never by id, so the
stats have one line per route. Each journey ends in one recorded outcome (see
``loadtests.outcomes``) with its active time (think time excluded).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.event
from locust import FastHttpUser, task

from loadtests.arrivals import ArrivalSchedule
from loadtests.cards import DECLINED_REASON, CardChooser
from loadtests.errors import LoadTestError
from loadtests.outcomes import (
    JourneyTally,
    OrderState,
    Outcome,
    StepResult,
    classify_journey,
    classify_order_status,
    classify_product_page,
)
from loadtests.raw_samples import UNSERVED, RawRecorder
from loadtests.settings import DEFAULT_BUYER_WEIGHTS, LoadSettings
from shop.kit.public_api import ApiPaths

POLL_INTERVAL_S = 0.3

# The public API under the prefix this run walks (``SHOPLAB_LOAD_API_PREFIX``): /api/v1 unless the
# launcher asked for the deprecated /api, the one prefix a shop older than v1 answers too.
API = ApiPaths(LoadSettings.from_env().api_prefix)


class JourneyAborted(LoadTestError):
    """A step failed; the journey ends here as a failure."""


@dataclass
class LoadState:
    """Per-process state shared by all users: settings, the outcome tally, the arrival schedule."""

    settings: LoadSettings
    tally: JourneyTally = field(default_factory=JourneyTally)
    schedule: ArrivalSchedule | None = None
    raw: RawRecorder = field(default_factory=RawRecorder)
    # open loop: users signed in and waiting for the warm-up to end; set when the schedule starts
    ready_users: int = 0
    warm: gevent.event.Event = field(default_factory=gevent.event.Event)
    user_counter: int = 0
    cards: CardChooser | None = None  # which checkouts send the declining card, one per process
    run_tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])


@dataclass
class Journey:
    """One journey in progress: its steps and the think time to leave out of its duration."""

    name: str
    started: float = field(default_factory=time.perf_counter)
    # when it was due (monotonic): the open-loop arrival's due time, else when it started
    due: float = field(default_factory=time.monotonic)
    steps: list[StepResult] = field(default_factory=list)
    think_s: float = 0.0


class ShopUser(FastHttpUser):
    """Shared plumbing: steps with contract checks, think times, outcome recording, open-loop pacing."""

    abstract = True
    # the gateway is on 127.0.0.1 only; one connection per user, like a browser tab
    concurrency = 1
    network_timeout = 30.0
    connection_timeout = 5.0

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.state: LoadState = environment.shoplab
        self.state.user_counter += 1
        seed = self.state.settings.seed * 1_000_003 + getattr(environment.runner, "worker_index", 0) * 10_007
        self.rng = random.Random(seed + self.state.user_counter)
        self.state.cards = self.state.cards or CardChooser(self.state.settings.decline_share, seed)
        self.journey: Journey | None = None
        self.due: float | None = None

    # -- pacing ------------------------------------------------------------------
    def on_start(self) -> None:
        """Open loop: wait for this user's first due arrival (Locust runs the first task unpaced)."""
        schedule = self.state.schedule
        if schedule is not None:
            # warm-up: no arrival is claimed before every user of this process is spawned and signed in
            self.state.ready_users += 1
            self.state.warm.wait()
            gevent.sleep(self._claim(schedule))

    def _claim(self, schedule: ArrivalSchedule) -> float:
        """Claim the next arrival, remember when it was due, and return how long to wait for it."""
        now = time.monotonic()
        claim = schedule.claim(now)
        self.due = now + claim.wait_s - claim.lag_s
        if claim.dropped:
            # shoppers the shop never served (every user was still busy with earlier ones): failures, at their due time
            wall_now = time.time()
            for index in claim.dropped_indices:
                self.state.raw.record(wall_now - (now - schedule.due_at(index)), UNSERVED, Outcome.FAILURE, 0.0)
        return claim.wait_s

    def wait_time(self) -> float:  # type: ignore[override]
        """Closed loop: think 1–3 s (scaled). Open loop: wait for the next due arrival."""
        schedule = self.state.schedule
        if schedule is not None:
            return self._claim(schedule)
        return self.rng.uniform(1.0, 3.0) * self.state.settings.think_scale

    def think(self) -> None:
        """Pause like a reader between two steps (0.2–0.8 s, scaled); not part of the journey's duration."""
        pause = self.rng.uniform(0.2, 0.8) * self.state.settings.think_scale
        if self.journey is not None:
            self.journey.think_s += pause
        gevent.sleep(pause)

    # -- journeys and steps --------------------------------------------------------
    @contextmanager
    def run_journey(self, name: str) -> Iterator[Journey]:
        """Run a journey; record its outcome when it ends (an aborted step makes it a failure)."""
        journey = Journey(name)
        if self.due is not None:
            # latency counts from the arrival's due time, so waiting for a free user is not hidden
            journey.due, self.due = min(self.due, journey.due), None
        self.journey = journey
        try:
            yield journey
        except JourneyAborted:
            pass
        except Exception as exc:
            # a bug or an answer we could not even parse: count the journey failed, let Locust log it
            journey.steps.append(StepResult("unexpected", False, reason=repr(exc)))
            self._record(journey)
            raise
        finally:
            # a journey cut short by the end of the run (GreenletExit, StopUser) is not counted
            self.journey = None
        self._record(journey)

    def _record(self, journey: Journey) -> None:
        active_ms = max(0.0, (time.perf_counter() - journey.started - journey.think_s) * 1000.0)
        outcome = classify_journey(journey.steps)
        self.state.tally.record(journey.name, outcome, active_ms)
        now = time.monotonic()
        since_due_ms = max(0.0, (now - journey.due - journey.think_s) * 1000.0)
        self.state.raw.record(time.time() - (now - journey.due), journey.name, outcome, since_due_ms)

    def step(
        self,
        method: str,
        route: str,
        path: str,
        *,
        expect: tuple[int, ...] = (200,),
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Send one request named ``route``; record the step; abort the journey outside ``expect``."""
        sent_wall, sent = time.time(), time.perf_counter()
        with self.client.request(
            method, path, name=route, json=json, headers=headers, catch_response=True
        ) as resp:
            status = int(resp.status_code or 0)
            self.state.raw.record_request(sent_wall, f"{method} {route}", status in expect,
                                          (time.perf_counter() - sent) * 1000.0)
            body: Any = None
            try:
                body = resp.json() if resp.text else None
            except ValueError:
                body = None
            if status in expect:
                resp.success()
                self._add_step(StepResult(f"{method} {route}", True))
                return status, body
            reason = _error_reason(status, body, getattr(resp, "error", None))
            resp.failure(reason)
        self._add_step(StepResult(f"{method} {route}", False, reason=reason))
        raise JourneyAborted(reason)

    def fail_step(self, route: str, reason: str) -> None:
        """Record a contract violation found in a body and abort the journey."""
        self._add_step(StepResult(route, False, reason=reason))
        raise JourneyAborted(reason)

    def _add_step(self, result: StepResult) -> None:
        if self.journey is not None:
            self.journey.steps.append(result)

    # -- reusable steps ---------------------------------------------------------------
    def list_products(self) -> list[dict[str, Any]]:
        """Open the catalog; return its items."""
        _, body = self.step("GET", API.products, API.products)
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            self.fail_step(f"GET {API.products}", "no items in the catalog")
        return items  # type: ignore[return-value]

    def open_product(self, product_id: Any) -> dict[str, Any]:
        """Open a product page; a non-empty ``degraded`` list makes the step degraded."""
        route = API.product("[id]")
        sent_wall, sent = time.time(), time.perf_counter()
        with self.client.request(
            "GET", API.product(product_id), name=route, catch_response=True
        ) as resp:
            status = int(resp.status_code or 0)
            # recorded like every other step's request: the product page's tail is what hedging is for
            self.state.raw.record_request(sent_wall, f"GET {route}", status == 200,
                                          (time.perf_counter() - sent) * 1000.0)
            try:
                body = resp.json() if resp.text else None
            except ValueError:
                body = None
            result = classify_product_page(f"GET {route}", status, body)
            if result.ok:
                resp.success()
            else:
                resp.failure(result.reason or _error_reason(status, body, getattr(resp, "error", None)))
        self._add_step(result)
        if not result.ok:
            raise JourneyAborted(result.reason)
        return body  # type: ignore[return-value]


def _error_reason(status: int, body: Any, error: Any) -> str:
    if status == 0:
        return f"no response: {error!r}"
    code = ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = f" {body['error'].get('code', '')}"
    return f"status {status}{code}"


class BrowsingShopper(ShopUser):
    """An anonymous visitor: opens the catalog and a few product pages."""

    weight = 3

    @task
    def browse(self) -> None:
        """Journey ``browse``: catalog, then one to three product pages."""
        with self.run_journey("browse"):
            items = self.list_products()
            for product in self.rng.sample(items, k=min(len(items), self.rng.randint(1, 3))):
                self.think()
                self.open_product(product["id"])


class BuyingShopper(ShopUser):
    """A customer: signs up, then buys, edits the cart and logs in again."""

    weight = 2

    def on_start(self) -> None:
        """Sign up (and log in) before the first purchase."""
        self.token: str | None = None
        self.email = f"load-{self.state.run_tag}-{self.state.user_counter}-{uuid.uuid4().hex[:6]}@example.test"
        self.password = f"pw-{uuid.uuid4().hex}"
        self.signup()
        super().on_start()

    def auth(self) -> dict[str, str]:
        """Return the bearer header."""
        return {"Authorization": f"Bearer {self.token}"}

    def signup(self) -> None:
        """Journey ``signup``: create the account, then log in with it."""
        with self.run_journey("signup"):
            self.step(
                "POST",
                API.signup,
                API.signup,
                expect=(201,),
                json={"email": self.email, "password": self.password, "name": "Load Shopper"},
            )
            self.login_step()

    def login_step(self) -> None:
        """Log in and keep the token."""
        _, body = self.step(
            "POST", API.login, API.login, json={"email": self.email, "password": self.password}
        )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            self.fail_step(f"POST {API.login}", "no access_token")
        self.token = token

    def ensure_account(self) -> bool:
        """Return True once the user holds a token (retrying the sign-up after a failure)."""
        if self.token is None:
            # A fresh email: a sign-up that timed out may still have created the first one,
            # and retrying it would fail with 409 email_taken on every later journey.
            self.email = f"load-{self.state.run_tag}-{self.state.user_counter}-{uuid.uuid4().hex[:6]}@example.test"
            self.signup()
        return self.token is not None

    # after a first tour that walks every journey in the mix once, journeys are drawn by weight
    # (SHOPLAB_LOAD_BUYER_MIX overrides the weights, e.g. ``checkout=1`` for a checkout-only bench)
    WEIGHTS = DEFAULT_BUYER_WEIGHTS

    @task
    def shop(self) -> None:
        """Run the next journey: the tour first, then a seeded weighted draw."""
        weights = self.state.settings.buyer_weights(self.WEIGHTS)
        tour = [name for name in self.WEIGHTS if weights.get(name)]
        done = getattr(self, "_journeys_done", 0)
        self._journeys_done = done + 1
        if done < len(tour):
            name = tour[done]
        else:
            name = self.rng.choices(list(weights), weights=list(weights.values()))[0]
        getattr(self, name)()

    def checkout(self) -> None:
        """Journey ``checkout``: browse, product page, add to cart, check out, poll the order until it settles."""
        if not self.ensure_account():
            return
        with self.run_journey("checkout"):
            items = [p for p in self.list_products() if int(p.get("stock", 0) or 0) >= 5]
            if not items:
                self.fail_step(f"GET {API.products}", "no product with stock left")
            product = self.rng.choice(items)
            self.think()
            self.open_product(product["id"])
            self.think()
            self.step(
                "POST", API.cart_items, API.cart_items, json={"product_id": product["id"], "qty": 1}, headers=self.auth()
            )
            _, basket = self.step("GET", API.cart, API.cart, headers=self.auth())
            if not isinstance(basket, dict) or not basket.get("items"):
                self.fail_step(f"GET {API.cart}", "cart is empty after adding an item")
            self.think()
            headers = {**self.auth(), "Idempotency-Key": uuid.uuid4().hex}
            card = self.state.cards.next_card() if self.state.cards else None  # see loadtests.cards
            _, order = self.step("POST", API.checkout, API.checkout, expect=(200, 201),
                                 json={"card": card} if card else {}, headers=headers)
            order_id = order.get("order_id") if isinstance(order, dict) else None
            if not order_id:
                self.fail_step(f"POST {API.checkout}", "no order_id")
            self.poll_order(str(order_id)) if card is None else self.poll_declined(str(order_id), product["id"])

    def poll_declined(self, order_id: str, product_id: Any) -> None:
        """Poll an order the shopper paid with the declining card: ending ``payment_failed``/declined is success."""
        deadline = time.monotonic() + self.state.settings.order_timeout_s
        while True:
            _, order = self.step("GET", API.order("[id]"), API.order(order_id), headers=self.auth())
            status, reason = (str(order.get(k) or "") for k in ("status", "reason")) if isinstance(order, dict) else ("", "")
            if status == OrderState.SETTLED_FAILED and reason == DECLINED_REASON:
                break
            if classify_order_status(status) is not OrderState.PENDING or time.monotonic() >= deadline:
                self.fail_step(f"GET {API.order('[id]')}", f"declining card: order {status} ({reason}), not declined")
            gevent.sleep(POLL_INTERVAL_S)
        # a failed payment leaves the cart as it was; empty it so the next journey starts from an empty cart
        self.step("DELETE", API.cart_item("[product_id]"), API.cart_item(product_id), expect=(200, 204), headers=self.auth())

    def poll_order(self, order_id: str) -> None:
        """Poll the order until ``paid``; ``payment_failed``, ``rejected`` or the deadline is a failure."""
        deadline = time.monotonic() + self.state.settings.order_timeout_s
        while True:
            _, order = self.step("GET", API.order("[id]"), API.order(order_id), headers=self.auth())
            status = str(order.get("status", "")) if isinstance(order, dict) else ""
            state = classify_order_status(status)
            if state is OrderState.SETTLED_PAID:
                break
            if state is OrderState.SETTLED_FAILED:
                self.fail_step(f"GET {API.order('[id]')}", f"order ended {status}")
            if time.monotonic() >= deadline:
                self.fail_step(f"GET {API.order('[id]')}", f"order still pending after {self.state.settings.order_timeout_s:.0f} s")
            gevent.sleep(POLL_INTERVAL_S)
        # the saga clears the cart after `paid`; wait for it so the next journey starts from an empty cart
        while True:
            _, cart = self.step("GET", API.cart, API.cart, headers=self.auth())
            if isinstance(cart, dict) and not cart.get("items"):
                return
            if time.monotonic() >= deadline:
                self.fail_step(f"GET {API.cart}", "cart not cleared after the order was paid")
            gevent.sleep(POLL_INTERVAL_S)

    def cart(self) -> None:
        """Journey ``cart``: add an item, view the cart, remove the item."""
        if not self.ensure_account():
            return
        with self.run_journey("cart"):
            product = self.rng.choice(self.list_products())
            self.think()
            self.step(
                "POST", API.cart_items, API.cart_items, json={"product_id": product["id"], "qty": 1}, headers=self.auth()
            )
            self.step("GET", API.cart, API.cart, headers=self.auth())
            self.think()
            self.step(
                "DELETE",
                API.cart_item("[product_id]"),
                API.cart_item(product["id"]),
                expect=(200, 204),
                headers=self.auth(),
            )

    def login(self) -> None:
        """Journey ``login``: log in again (a returning customer)."""
        if not self.ensure_account():
            return
        with self.run_journey("login"):
            self.login_step()
