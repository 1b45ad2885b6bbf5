"""Run the exploration on a running shop: discover, run every cell with leased faults, fold the matrix.

Every fault is applied through ``LeasedFaults`` (a lease written before the fault, renewed
by a ``LeaseKeeper`` while the explorer lives), so a killed explorer's faults are undone by
the stack's reaper. Each cell switches its profile again first: that rebuilds every
service's breakers, bulkheads and retry budgets, so no cell inherits an open breaker.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_fixed

from chaos.admin import ShopAdmin
from chaos.errors import AdminError
from chaos.explore.discovery import crossed_edges, read_edge_counts
from chaos.explore.journeys import (
    JOURNEYS,
    USER_TIMEOUT_S,
    JourneyDef,
    Shopper,
    StepFailed,
    cart_quantity,
    order_ids,
    run_journey,
)
from chaos.explore.matrix import BASELINE, Cell, Matrix, Point, plan_pairs, worst
from chaos.explore.modes import MODES, fault_specs
from chaos.faults import Fault, LeasedFaults, ShopFaults
from chaos.leases import LeaseKeeper, LeaseTable, lease_ttl_s, new_run_owner
from chaos.toxiproxy import ToxiproxyClient
from shoplab.runtime.audit import run_audit, wait_for_drain

PROFILES = ("naive", "resilient")
DRAIN_TIMEOUT_S = 30.0
PLANT_FOLLOW_S = 1.5  # the orders worker reads the orders service's plants once a second


def _is_transport_error(exc: BaseException) -> bool:
    """Say whether an admin call failed without an answer (a keep-alive connection the server had just closed)."""
    return isinstance(exc, httpx.TransportError) or (isinstance(exc, AdminError) and exc.status_code is None)


# Switching a profile is an idempotent PUT: one lost on a stale keep-alive connection is sent again.
_again = retry(retry=retry_if_exception(_is_transport_error), stop=stop_after_attempt(3), wait=wait_fixed(0.2),
               reraise=True)


class BudgetSpent(Exception):
    """The time budget ran out; the cells not run are counted in the matrix's meta."""


@dataclass(frozen=True)
class ExploreSettings:
    """What to explore."""

    journeys: tuple[str, ...] = tuple(JOURNEYS)
    profiles: tuple[str, ...] = PROFILES
    modes: tuple[str, ...] = tuple(MODES)
    edges: tuple[str, ...] = ()  # only these edges (default: every edge a journey crosses)
    pairs: bool = False
    budget_s: float | None = None
    repeats: int = 1
    plants: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name, chosen, known in (("journey", self.journeys, JOURNEYS), ("mode", self.modes, MODES)):
            unknown = sorted(set(chosen) - set(known))
            if unknown:
                raise ValueError(f"unknown {name} {', '.join(unknown)} (known: {', '.join(known)})")
        if self.repeats < 1:
            raise ValueError("repeats must be at least 1")


def machine_info() -> dict[str, Any]:
    """Say which machine ran the exploration and how loaded it was."""
    return {"host": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()]}


@dataclass
class Explorer:
    """The exploration of one running stack (``shoplab.runtime.stack.ShopStack``)."""

    stack: Any
    settings: ExploreSettings
    say: Callable[[str], None] = print
    cells: list[Cell] = field(default_factory=list)
    edges: dict[str, list[str]] = field(default_factory=dict)
    skipped: int = 0
    _pair_stats: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        topo = self.stack.topology
        self.gateway = topo.service_url("gateway")
        self.metrics_urls = [topo.service_url(s) + "/metrics" for s in topo.service_names]
        self.metrics_urls.append(f"http://{topo.host}:{topo.worker_metrics_port}/metrics")
        self.base_urls = {name: self.stack.service_url(name) for name in topo.service_names}
        self._deadline = None if self.settings.budget_s is None else time.monotonic() + self.settings.budget_s

    # -- the whole run ---------------------------------------------------------------------
    def run(self) -> Matrix:
        """Explore every chosen cell; return the matrix (partial when the budget ran out)."""
        topo = self.stack.topology
        started, wall = time.monotonic(), time.time()
        load_before = machine_info()["loadavg_1_5_15"]
        table, owner = LeaseTable(self.stack.run_dir), new_run_owner()
        with ToxiproxyClient(topo.toxiproxy_url) as toxiproxy, ShopAdmin(topo, self.stack.admin_token) as admin, \
                httpx.Client(timeout=5.0) as http, LeaseKeeper(table, owner, lease_ttl_s()):
            self._admin, self._http = admin, http
            self._faults = LeasedFaults(ShopFaults(toxiproxy, admin, None), table, owner, lease_ttl_s())
            profile_before = admin.get_profile("gateway")
            self._set_plants(self.settings.plants)
            try:
                with contextlib.suppress(BudgetSpent):
                    self._explore()
            finally:
                self._set_plants(())
                self._set_profile(profile_before)
        info = machine_info()
        meta = {
            "started_at": wall, "duration_s": round(time.monotonic() - started, 1), "machine": info,
            "loadavg_before": load_before, "settings": {**self.settings.__dict__},
            "edges": self.edges, "skipped_by_budget": self.skipped, "modes": MODES,
            "user_timeout_s": USER_TIMEOUT_S,
        }
        meta.update(self._pair_stats)
        return Matrix(self.cells, meta)

    def _explore(self) -> None:
        s = self.settings
        self._pair_stats = {"pairs_run": 0, "pairs_pruned": 0}
        for name in s.journeys:
            journey = JOURNEYS[name]
            self.edges[name] = [e for e in self._discover(journey) if not s.edges or e in s.edges]
            self.say(f"{name}: crosses {', '.join(self.edges[name]) or 'no edge'}")
        plan = [(j, ((e, m),), p) for p in s.profiles for j in s.journeys
                for e in self.edges[j] for m in s.modes]
        for profile in s.profiles:
            for name in s.journeys:
                self._cell(JOURNEYS[name], ((BASELINE, BASELINE),), profile)
        for i, (name, points, profile) in enumerate(plan):
            if self._spent():
                self.skipped = len(plan) - i
                raise BudgetSpent
            self._cell(JOURNEYS[name], points, profile)
        if s.pairs:
            plans = plan_pairs(self.cells)
            todo = [(p.journey, pair, p.profile) for p in plans for pair in p.pairs]
            self._pair_stats = {"pairs_run": 0, "pairs_pruned": sum(p.pruned for p in plans),
                                "pairs_total": sum(p.total for p in plans)}
            self.say(f"pairs: {len(todo)} to run, {self._pair_stats['pairs_pruned']} pruned "
                     f"(their single faults already fail the journey: {self._pair_stats['pairs_pruned']} runs saved)")
            for i, (name, pair, profile) in enumerate(todo):
                if self._spent():
                    self.skipped = len(todo) - i
                    raise BudgetSpent
                self._cell(JOURNEYS[name], pair, profile)
                self._pair_stats["pairs_run"] += 1

    def _spent(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    # -- parts ----------------------------------------------------------------------------------
    def _set_plants(self, plants: Sequence[str]) -> None:
        for url in self.base_urls.values():
            self._put_plants(url, plants)
        time.sleep(PLANT_FOLLOW_S)  # not a test: the worker follows on its own clock, with nothing to poll

    @contextlib.contextmanager
    def _shopper(self) -> Iterator[Shopper]:
        with httpx.Client(base_url=self.gateway, timeout=USER_TIMEOUT_S) as http:
            yield Shopper(http)

    def _drain(self) -> None:
        def pending() -> int:
            resp = self._http.get(self.base_urls["orders"] + "/admin/pending", headers=self._admin._http.headers)
            return int(resp.json().get("pending_work", 0)) if resp.status_code == 200 else 1
        wait_for_drain(pending, timeout_s=DRAIN_TIMEOUT_S)

    @_again
    def _put_plants(self, base_url: str, plants: Sequence[str]) -> None:
        self._http.put(base_url + "/admin/plants", json={"plants": list(plants)},
                       headers=self._admin._http.headers).raise_for_status()

    @_again
    def _set_profile(self, profile: str) -> None:
        self._admin.set_profile(profile)

    def _discover(self, journey: JourneyDef) -> list[str]:
        self._set_profile(self.settings.profiles[-1])
        with self._shopper() as shopper:
            journey.setup(shopper)
            before = read_edge_counts(self.metrics_urls, self._http)
            run_journey(journey, shopper)
            self._drain()
            after = read_edge_counts(self.metrics_urls, self._http)
        return crossed_edges(before, after)

    def _cell(self, journey: JourneyDef, points: tuple[Point, ...], profile: str) -> None:
        runs = [self._run_once(journey, points, profile) for _ in range(self.settings.repeats)]
        cell = worst(runs)
        self.cells.append(cell)
        consistency = {True: "consistent", False: "INCONSISTENT", None: "-"}[cell.consistent]
        self.say(f"{cell.key}: {cell.outcome} {cell.status} {cell.elapsed_s:.2f}s {consistency} {cell.detail}")

    def _run_once(self, journey: JourneyDef, points: tuple[Point, ...], profile: str) -> Cell:
        self._set_profile(profile)
        real = [p for p in points if p[1] != BASELINE]
        with self._shopper() as shopper:
            try:
                journey.setup(shopper)
            except StepFailed as exc:
                return Cell(journey.name, points, profile, "failure", shopper.status, 0.0, None,
                            f"setup failed without faults: {exc}")
            applied: list[Fault] = []
            try:
                for spec in fault_specs(real):
                    fault = self._faults.build(spec)
                    applied.append(fault)
                    fault.apply()
                result = run_journey(journey, shopper)
            finally:
                for fault in reversed(applied):
                    fault.rollback()
            consistent, why = self._check(journey, shopper)
        detail = "; ".join(x for x in (result.reason, why) if x)
        return Cell(journey.name, points, profile, result.outcome, result.status, round(result.elapsed_s, 3),
                    consistent, detail)

    def _check(self, journey: JourneyDef, shopper: Shopper) -> tuple[bool | None, str]:
        """Check the shop after the faults are gone: the audit on the journey's order, or the cart."""
        if journey.checks == "cart":
            qty = cart_quantity(shopper)
            if qty is None:
                return False, "the cart cannot be read after the faults"
            return (qty <= 1, "" if qty <= 1 else f"the cart holds {qty} of a product added once")
        if journey.checks == "order":
            # Every order of this cell's fresh shopper: a checkout the shopper saw fail may still have made one.
            orders = order_ids(shopper)
            if orders is None:
                return False, "the shopper's orders cannot be read after the faults"
            if not orders:
                return True, ""
            report = run_audit(self.base_urls, self.stack.admin_token, DRAIN_TIMEOUT_S)
            mine = [str(v) for v in report.violations if set(orders) & set(v.ids)]
            return not mine, "; ".join(mine)
        return None, ""
