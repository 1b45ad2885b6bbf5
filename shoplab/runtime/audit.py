"""Check the shop's invariants (``docs/invariants.md``) over the services' audit data.

``run_audit`` waits for the orders worker to drain, reads every ``/admin/audit`` and
``/admin/unhandled``, and returns an ``AuditReport``; the ``check_*`` functions are
plain functions over ``AuditData`` so tests can feed them broken data.

Order statuses: ``paid``, ``payment_failed`` and ``rejected`` (the catalog refused the
reservation, e.g. insufficient stock; nothing charged) are terminal; ``pending`` is
allowed only while work is queued.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

TERMINAL = frozenset({"paid", "payment_failed", "rejected"})
STATUS_EVENT = {"paid": "order.paid", "payment_failed": "order.payment_failed", "rejected": "order.rejected"}
AUDITED_SERVICES = ("catalog", "orders", "payments", "notifications")

ProgressFn = Callable[[str], None]

# Every invariant a violation can name, with its statement; docs/invariants.md has a section for each.
INVARIANTS = {
    "order_ends": "every order ends paid, payment_failed or rejected; pending only while work is queued",
    "one_charge_per_paid_order": "a paid order has exactly one successful charge, of its total; "
                                 "an order that is not paid has none",
    "charge_has_order": "every charge belongs to an order orders knows",
    "stock_conserved": "seeded stock = stock + paid quantities + held quantities, never negative; "
                       "paid orders' reservations are committed and none stays held for a finished order",
    "event_once": "every outbox event takes effect in notifications exactly once; every order emits "
                  "order.created and its final event once each",
    "no_dead_letter": "no event message was set aside as unparseable (notifications' dead-letter queue is empty)",
    "no_unhandled_500": "no service answered an unhandled 500",
    "audit_readable": "every audited service answers its admin API",
}
INVARIANTS_DOC = "docs/invariants.md"


@dataclass(frozen=True)
class Violation:
    """One broken invariant, naming the ids involved."""

    invariant: str
    message: str
    ids: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"[{self.invariant}] {self.message}"


@dataclass
class AuditData:
    """What the services' admin APIs said."""

    catalog: dict[str, Any] = field(default_factory=lambda: {"products": [], "reservations": []})
    orders: dict[str, Any] = field(default_factory=lambda: {"orders": [], "outbox": [], "pending_work": 0})
    payments: dict[str, Any] = field(default_factory=lambda: {"charges": []})
    notifications: dict[str, Any] = field(default_factory=lambda: {"events": []})
    unhandled: dict[str, int] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)


@dataclass
class AuditReport:
    """The outcome of one audit."""

    violations: list[Violation]
    drained: bool
    pending_work: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Say whether every invariant held."""
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "ok": self.ok,
            "drained": self.drained,
            "pending_work": self.pending_work,
            "counts": self.counts,
            "violations": [{"invariant": v.invariant, "statement": INVARIANTS.get(v.invariant, ""),
                            "doc": f"{INVARIANTS_DOC}#{v.invariant}", "message": v.message, "ids": list(v.ids)}
                           for v in self.violations],
        }


# -- the checks -----------------------------------------------------------------------------


def _orders_by_id(data: AuditData) -> dict[str, dict[str, Any]]:
    return {o["order_id"]: o for o in data.orders.get("orders", [])}


def check_order_states(data: AuditData, *, allow_pending: bool = False) -> list[Violation]:
    """Every order ends paid / payment_failed / rejected, or is pending with work queued."""
    out = []
    pending_work = int(data.orders.get("pending_work", 0))
    for order in data.orders.get("orders", []):
        oid, status = order["order_id"], order["status"]
        if status == "pending":
            if allow_pending and pending_work > 0:
                continue
            out.append(Violation("order_ends", f"order {oid} is still pending (pending work: {pending_work})", (oid,)))
        elif status not in TERMINAL:
            out.append(Violation("order_ends", f"order {oid} has an unknown status {status!r}", (oid,)))
    return out


def check_charges(data: AuditData) -> list[Violation]:
    """Each paid order has exactly one successful charge of its total; no charge without an order."""
    out = []
    orders = _orders_by_id(data)
    succeeded: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for charge in data.payments.get("charges", []):
        cid, oid = charge["charge_id"], charge["order_id"]
        if oid not in orders:
            out.append(Violation("charge_has_order", f"charge {cid} is for unknown order {oid}", (cid, oid)))
            continue
        if charge["status"] == "succeeded":
            succeeded[oid].append(charge)
    for oid, order in orders.items():
        charges = succeeded.get(oid, [])
        ids = tuple(c["charge_id"] for c in charges)
        if order["status"] == "paid":
            if not charges:
                out.append(Violation("one_charge_per_paid_order", f"paid order {oid} has no successful charge", (oid,)))
            elif len(charges) > 1:
                out.append(Violation("one_charge_per_paid_order",
                                     f"paid order {oid} has {len(charges)} successful charges: {', '.join(ids)}",
                                     (oid, *ids)))
            elif charges[0]["amount_cents"] != order["total_cents"]:
                out.append(Violation("one_charge_per_paid_order",
                                     f"order {oid} totals {order['total_cents']} but charge {ids[0]} is "
                                     f"{charges[0]['amount_cents']}", (oid, *ids)))
        elif order["status"] in TERMINAL and charges:
            out.append(Violation("one_charge_per_paid_order",
                                 f"order {oid} is {order['status']} but has successful charge(s) {', '.join(ids)}",
                                 (oid, *ids)))
    return out


def check_stock(data: AuditData) -> list[Violation]:
    """Seeded stock = current stock + paid quantities (+ live reservations); reservations match orders."""
    out = []
    orders = _orders_by_id(data)
    committed: Counter[int] = Counter()
    live: Counter[int] = Counter()
    for res in data.catalog.get("reservations", []):
        oid, status = res["order_id"], res["status"]
        qty_by_product = Counter({int(i["product_id"]): int(i["qty"]) for i in res.get("items", [])})
        order = orders.get(oid)
        if status == "committed":
            committed.update(qty_by_product)
            if order is None or order["status"] != "paid":
                what = "unknown order" if order is None else f"order with status {order['status']}"
                out.append(Violation("stock_conserved", f"reservation of {what} {oid} is committed", (oid,)))
        elif status == "reserved":
            live.update(qty_by_product)
            if order is None or order["status"] in TERMINAL:
                what = "unknown order" if order is None else f"{order['status']} order"
                out.append(Violation("stock_conserved", f"stock is still held for {what} {oid}", (oid,)))
    paid: Counter[int] = Counter()
    reservations = {r["order_id"]: r for r in data.catalog.get("reservations", [])}
    for oid, order in orders.items():
        if order["status"] != "paid":
            continue
        for item in order.get("items", []):
            paid[int(item["product_id"])] += int(item["qty"])
        if reservations.get(oid, {}).get("status") != "committed":
            out.append(Violation("stock_conserved", f"paid order {oid} has no committed reservation", (oid,)))
    for product in data.catalog.get("products", []):
        pid = int(product["id"])
        seeded, stock = int(product["seeded_stock"]), int(product["stock"])
        if stock < 0:
            out.append(Violation("stock_conserved", f"product {pid} has negative stock {stock}", (str(pid),)))
        if seeded != stock + paid[pid] + live[pid]:
            out.append(Violation(
                "stock_conserved",
                f"product {pid}: seeded {seeded} != stock {stock} + paid {paid[pid]} + reserved {live[pid]}",
                (str(pid),),
            ))
        elif committed[pid] != paid[pid]:
            out.append(Violation("stock_conserved",
                                 f"product {pid}: committed {committed[pid]} != paid quantity {paid[pid]}",
                                 (str(pid),)))
    return out


def check_events(data: AuditData) -> list[Violation]:
    """Each outbox event takes effect in notifications exactly once; each order emits each event once."""
    out = []
    orders = _orders_by_id(data)
    received = {e["event_id"]: e for e in data.notifications.get("events", [])}
    outbox = data.orders.get("outbox", [])
    outbox_ids = {e["event_id"] for e in outbox}
    for event in outbox:
        eid, oid = event["event_id"], event["order_id"]
        applied = received.get(eid, {}).get("applied", 0)
        if event.get("dead"):
            out.append(Violation("event_once", f"event {eid} ({event['type']}) of order {oid} is dead-lettered "
                                 f"after {event.get('attempts', '?')} attempts ({event.get('last_error') or ''}); "
                                 "replay it with POST /admin/outbox/<event_id>/replay on orders", (eid, oid)))
        elif not event.get("delivered"):
            out.append(Violation("event_once", f"event {eid} ({event['type']}) of order {oid} is not delivered",
                                 (eid, oid)))
        elif eid not in received:
            out.append(Violation("event_once", f"event {eid} ({event['type']}) of order {oid} is marked delivered "
                                 "but notifications never received it", (eid, oid)))
        elif applied != 1:
            out.append(Violation("event_once", f"event {eid} of order {oid} took effect {applied} times",
                                 (eid, oid)))
    for eid, event in received.items():
        if eid not in outbox_ids:
            out.append(Violation("event_once", f"notifications applied event {eid} that no outbox holds",
                                 (eid, event.get("order_id", ""))))
    by_order: dict[str, Counter[str]] = defaultdict(Counter)
    for event in outbox:
        by_order[event["order_id"]][event["type"]] += 1
    for oid, order in orders.items():
        types = by_order.get(oid, Counter())
        expected = {"order.created": 1}
        if order["status"] in STATUS_EVENT:
            expected[STATUS_EVENT[order["status"]]] = 1
        for etype, n in types.items():
            if n != expected.get(etype, 0):
                out.append(Violation("event_once", f"order {oid} ({order['status']}) emitted {etype} {n} times",
                                     (oid,)))
        for etype in expected:
            if types.get(etype, 0) == 0:
                out.append(Violation("event_once", f"order {oid} ({order['status']}) never emitted {etype}", (oid,)))
    return out


def check_dead_letters(data: AuditData) -> list[Violation]:
    """No message was set aside as unparseable by the notifications consumer (SHOPLAB_EVENTS=amqp)."""
    return [
        Violation("no_dead_letter", f"message {d.get('message_id', '?')} went to the dead-letter queue: "
                  f"{d.get('reason', '')} (body: {d.get('body_excerpt', '')[:80]!r})", (str(d.get("message_id", "")),))
        for d in data.notifications.get("dead_letters", [])
    ]


def in_flight_events(data: AuditData) -> int:
    """Return how many delivered outbox events notifications has not received yet (on their way through a queue)."""
    received = {e["event_id"] for e in data.notifications.get("events", [])}
    return sum(1 for e in data.orders.get("outbox", []) if e.get("delivered") and e["event_id"] not in received)


def check_unhandled(data: AuditData) -> list[Violation]:
    """No service served an unhandled 500, and every audited service answered."""
    out = [
        Violation("no_unhandled_500", f"{service} served {count} unhandled 500(s)", (service,))
        for service, count in sorted(data.unhandled.items())
        if count
    ]
    out.extend(
        Violation("audit_readable", f"could not read {service}'s admin API: {error}", (service,))
        for service, error in sorted(data.unreachable.items())
    )
    return out


def check_all(data: AuditData, *, allow_pending: bool = False) -> list[Violation]:
    """Run every check whose data could be read and return every violation."""
    missing = set(data.unreachable)
    out = check_unhandled(data)
    if "orders" in missing:
        return out  # every other check compares against the orders
    out += check_order_states(data, allow_pending=allow_pending)
    if "payments" not in missing:
        out += check_charges(data)
    if "catalog" not in missing:
        out += check_stock(data)
    if "notifications" not in missing:
        out += check_events(data)
        out += check_dead_letters(data)
    return out


# -- reading the running shop -----------------------------------------------------------------


def _get_json(http: httpx.Client, url: str, token: str) -> dict[str, Any]:
    resp = http.get(url, headers={"Authorization": f"Bearer {token}"})
    resp.raise_for_status()
    body: dict[str, Any] = resp.json()
    return body


def fetch_audit_data(base_urls: Mapping[str, str], admin_token: str, *, http: httpx.Client) -> AuditData:
    """Read every audited service's ``/admin/audit`` and every service's ``/admin/unhandled``."""
    data = AuditData()
    for service in AUDITED_SERVICES:
        if service not in base_urls:
            data.unreachable[service] = "no URL given"
            continue
        try:
            setattr(data, service, _get_json(http, f"{base_urls[service]}/admin/audit", admin_token))
        except (httpx.HTTPError, ValueError) as exc:
            data.unreachable[service] = f"{type(exc).__name__}: {exc}"
    for service, url in base_urls.items():
        try:
            data.unhandled[service] = int(_get_json(http, f"{url}/admin/unhandled", admin_token)["unhandled_errors"])
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            data.unreachable.setdefault(service, f"{type(exc).__name__}: {exc}")
    return data


def wait_for_drain(
    get_pending: Callable[[], int],
    *,
    timeout_s: float,
    interval_s: float = 0.25,
    progress: ProgressFn | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[bool, int]:
    """Poll ``get_pending`` until it says 0 or the deadline passes; return (drained, last count)."""
    deadline = clock() + timeout_s
    last = -1
    while True:
        try:
            pending = get_pending()
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            pending = -1
            if progress:
                progress(f"waiting for orders to answer ({type(exc).__name__})")
        if pending == 0:
            return True, 0
        if pending > 0 and pending != last and progress:
            progress(f"waiting for {pending} pending order step(s) / event(s) to drain")
        last = pending
        if clock() >= deadline:
            return False, max(pending, 0)
        sleep(interval_s)


def run_audit(
    base_urls: Mapping[str, str],
    admin_token: str,
    drain_timeout_s: float = 60.0,
    *,
    progress: ProgressFn | None = None,
    allow_pending: bool = False,
    http: httpx.Client | None = None,
) -> AuditReport:
    """Wait for pending work to drain, read the audit data and check every invariant."""
    client = http or httpx.Client(timeout=10.0)
    try:
        def get_pending() -> int:
            return int(_get_json(client, f"{base_urls['orders']}/admin/pending", admin_token)["pending_work"])

        started = time.monotonic()
        drained, pending = wait_for_drain(get_pending, timeout_s=drain_timeout_s, progress=progress)
        data = fetch_audit_data(base_urls, admin_token, http=client)
        if drained and in_flight_events(data):
            # Over a broker, "delivered" means confirmed by it: wait for the consumer to catch up too.
            def get_in_flight() -> int:
                nonlocal data
                data = fetch_audit_data(base_urls, admin_token, http=client)
                return in_flight_events(data)

            left = max(1.0, drain_timeout_s - (time.monotonic() - started))
            drained, pending = wait_for_drain(get_in_flight, timeout_s=left, interval_s=0.5, progress=progress)
        if progress:
            progress("drained" if drained else f"drain deadline passed with {pending} pending; auditing anyway")
    finally:
        if http is None:
            client.close()
    counts = {
        "orders": len(data.orders.get("orders", [])),
        "charges": len(data.payments.get("charges", [])),
        "events": len(data.notifications.get("events", [])),
        "dead_letters": len(data.notifications.get("dead_letters", [])),
        "products": len(data.catalog.get("products", [])),
    }
    return AuditReport(
        violations=check_all(data, allow_pending=allow_pending),
        drained=drained,
        pending_work=int(data.orders.get("pending_work", pending)),
        counts=counts,
    )
