"""Class each shopper journey as success, degraded or failure, and tally the outcomes.

- success: every step answered as the contract says;
- degraded: every step answered, but at least one answer names a designed fallback
  (a product page whose ``"degraded"`` list is non-empty, e.g. ``["recommendations"]``);
- failure: a step answered outside the contract (an error status, a bad body, an order
  that ended ``payment_failed`` or never settled).

The tally keeps Locust-style rounded latency histograms so per-process tallies merge by
addition (workers ship theirs to the master) and percentiles come out of the merge.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Outcome(enum.StrEnum):
    """How one journey ended."""

    SUCCESS = "success"
    DEGRADED = "degraded"
    FAILURE = "failure"


@dataclass(frozen=True)
class StepResult:
    """One step of a journey: its route, whether it met the contract, what it degraded."""

    route: str
    ok: bool
    degraded: tuple[str, ...] = ()
    reason: str = ""


def classify_journey(steps: Iterable[StepResult]) -> Outcome:
    """Return failure if any step failed, else degraded if any step degraded, else success."""
    steps = list(steps)
    if not steps or any(not s.ok for s in steps):
        return Outcome.FAILURE
    if any(s.degraded for s in steps):
        return Outcome.DEGRADED
    return Outcome.SUCCESS


def degraded_parts(body: object) -> tuple[str, ...]:
    """Return the parts a gateway answer declares degraded (``"degraded": [...]``), if any."""
    if not isinstance(body, Mapping):
        return ()
    parts = body.get("degraded")
    if isinstance(parts, list | tuple):
        return tuple(str(p) for p in parts if p)
    if isinstance(parts, str) and parts:
        return (parts,)
    return ()


def classify_product_page(route: str, status: int, body: object) -> StepResult:
    """Class a product page: 200 with an ``id`` is ok, its ``degraded`` list says what fell back."""
    if status != 200:
        return StepResult(route, False, reason=f"status {status}")
    if not isinstance(body, Mapping) or "id" not in body:
        return StepResult(route, False, reason="body has no product id")
    return StepResult(route, True, degraded=degraded_parts(body))


class OrderState(enum.StrEnum):
    """Where a polled order stands from the shopper's point of view."""

    SETTLED_PAID = "paid"
    SETTLED_FAILED = "payment_failed"
    PENDING = "pending"


# ``rejected``: the catalog refused the reservation (sold out); nothing was charged.
TERMINAL_ORDER_STATUSES = frozenset({"paid", "payment_failed", "rejected"})


def classify_order_status(status: str) -> OrderState:
    """Map an order's status onto paid / failed (payment_failed or rejected) / still pending."""
    if status == "paid":
        return OrderState.SETTLED_PAID
    if status in TERMINAL_ORDER_STATUSES:
        return OrderState.SETTLED_FAILED
    return OrderState.PENDING


def round_ms(value_ms: float) -> int:
    """Round a latency the way Locust does, so histograms stay small (2 significant digits)."""
    if value_ms < 100:
        return int(round(value_ms))
    if value_ms < 1000:
        return int(round(value_ms, -1))
    if value_ms < 10000:
        return int(round(value_ms, -2))
    return int(round(value_ms, -3))


def percentile_ms(histogram: Mapping[int, int], fraction: float) -> float:
    """Return the ``fraction`` percentile of a {rounded ms: count} histogram (0 when empty)."""
    total = sum(histogram.values())
    if total == 0:
        return 0.0
    # the smallest value with at least `fraction` of the samples at or below it
    rank = fraction * total
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    return float(max(histogram))


def merge_histograms(*histograms: Mapping[int, int]) -> dict[int, int]:
    """Return the sum of histograms."""
    merged: dict[int, int] = {}
    for h in histograms:
        for value, count in h.items():
            merged[int(value)] = merged.get(int(value), 0) + int(count)
    return merged


def subtract_histograms(current: Mapping[int, int], previous: Mapping[int, int]) -> dict[int, int]:
    """Return ``current - previous`` (both cumulative), dropping empty buckets."""
    out = {}
    for value, count in current.items():
        delta = int(count) - int(previous.get(value, 0))
        if delta > 0:
            out[int(value)] = delta
    return out


@dataclass
class JourneyTally:
    """Counts and latency histograms per (journey, outcome), mergeable across processes."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    latency: dict[str, dict[str, dict[int, int]]] = field(default_factory=dict)

    def record(self, journey: str, outcome: Outcome, duration_ms: float) -> None:
        """Count one finished journey."""
        per = self.counts.setdefault(journey, {o.value: 0 for o in Outcome})
        per[outcome.value] = per.get(outcome.value, 0) + 1
        hist = self.latency.setdefault(journey, {}).setdefault(outcome.value, {})
        key = round_ms(duration_ms)
        hist[key] = hist.get(key, 0) + 1

    def merge(self, other: Mapping[str, Any]) -> None:
        """Add a serialized tally (from ``to_dict``) into this one."""
        for journey, per in other.get("counts", {}).items():
            mine = self.counts.setdefault(journey, {o.value: 0 for o in Outcome})
            for outcome, n in per.items():
                mine[outcome] = mine.get(outcome, 0) + int(n)
        for journey, per in other.get("latency", {}).items():
            mine_lat = self.latency.setdefault(journey, {})
            for outcome, hist in per.items():
                mine_lat[outcome] = merge_histograms(mine_lat.get(outcome, {}), hist)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able copy (histogram keys as strings survive msgpack and JSON)."""
        return {
            "counts": {j: dict(per) for j, per in self.counts.items()},
            "latency": {
                j: {o: {str(k): v for k, v in h.items()} for o, h in per.items()} for j, per in self.latency.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JourneyTally:
        """Rebuild a tally from ``to_dict`` output."""
        tally = cls()
        tally.merge(data)
        return tally

    def completed_histogram(self, journey: str) -> dict[int, int]:
        """Return the latency histogram of a journey's completed (success or degraded) runs."""
        per = self.latency.get(journey, {})
        return merge_histograms(per.get(Outcome.SUCCESS.value, {}), per.get(Outcome.DEGRADED.value, {}))

    def summary(self) -> dict[str, dict[str, float]]:
        """Return per journey: counts per outcome, failure ratio and p50/p95/p99 of completed runs."""
        out: dict[str, dict[str, float]] = {}
        for journey, per in sorted(self.counts.items()):
            total = sum(per.values())
            hist = self.completed_histogram(journey)
            out[journey] = {
                "success": per.get("success", 0),
                "degraded": per.get("degraded", 0),
                "failure": per.get("failure", 0),
                "total": total,
                "failure_ratio": (per.get("failure", 0) / total) if total else 0.0,
                "p50_ms": percentile_ms(hist, 0.50),
                "p95_ms": percentile_ms(hist, 0.95),
                "p99_ms": percentile_ms(hist, 0.99),
            }
        return out
