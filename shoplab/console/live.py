"""Read the shop's live edge state once a second: the services' own ``/metrics`` and Toxiproxy's faults.

Why the services' ``/metrics`` and not Prometheus: Prometheus is optional in
``shoplab up``, and it scrapes every few seconds, so a change would reach the page
late; the services answer in a few milliseconds and the rates are exact deltas
between two scrapes one second apart.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from chaos.errors import ToxiproxyError
from chaos.toxiproxy import ToxiproxyClient
from shop.topology import Topology

# The kit's outcome labels (shop/kit/resilience/client.py): a 4xx is the caller's fault, not the edge's.
OK_OUTCOMES = frozenset({"success", "client_error"})
BREAKER_STATES = {0: "closed", 1: "half_open", 2: "open"}
# An edge whose p95 (as its caller saw it) is above these seconds is drawn slow, then very slow.
SLOW_P95_S, VERY_SLOW_P95_S = 0.5, 2.0
DURATION_BUCKET = "shoplab_dependency_duration_seconds_bucket"


@dataclass
class EdgeCounts:
    """One edge's cumulative counters at one scrape."""

    requests: float = 0.0
    errors: float = 0.0
    attempts: float = 0.0
    breaker: str | None = None
    # cumulative count of calls per bucket upper bound (all outcomes), from the caller's histogram
    buckets: dict[float, float] = field(default_factory=dict)


def bucket_quantile(q: float, before: Mapping[float, float], after: Mapping[float, float]) -> float | None:
    """Return the q-quantile of the calls between two cumulative bucket scrapes, as ``histogram_quantile`` does.

    Linear interpolation inside the bucket holding the rank; a rank in the +Inf bucket gets the
    highest finite bound. None when no call finished between the scrapes.
    """
    bounds = sorted(after)
    deltas = [max(after[le] - before.get(le, 0.0), 0.0) for le in bounds]
    if not bounds or not math.isinf(bounds[-1]) or deltas[-1] <= 0:
        return None
    rank = q * deltas[-1]
    lower, below = 0.0, 0.0
    for le, cum in zip(bounds, deltas, strict=True):
        if cum >= rank:
            if math.isinf(le):
                return lower
            return lower + (le - lower) * ((rank - below) / (cum - below) if cum > below else 1.0)
        lower, below = le, cum
    return lower


def parse_counts(text: str) -> dict[str, EdgeCounts]:
    """Read requests, errors, attempts and breaker state per ``caller__dependency`` from one exposition."""
    out: dict[str, EdgeCounts] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            caller, dep = s.labels.get("caller"), s.labels.get("dependency")
            if not caller or not dep:
                continue
            c = out.setdefault(f"{caller}__{dep}", EdgeCounts())
            if s.name == "shoplab_dependency_requests_total":
                c.requests += s.value
                if s.labels.get("outcome") not in OK_OUTCOMES:
                    c.errors += s.value
            elif s.name == "shoplab_dependency_attempts_total":
                c.attempts += s.value
            elif s.name == DURATION_BUCKET:
                le = float(s.labels["le"])
                c.buckets[le] = c.buckets.get(le, 0.0) + s.value
            elif s.name == "shoplab_breaker_state":
                state = BREAKER_STATES.get(int(s.value), "closed")
                # orders and its worker share a caller name: the worse state wins
                if c.breaker != "open":
                    c.breaker = state if c.breaker in (None, "closed") else c.breaker
    return out


@dataclass(frozen=True)
class EdgeView:
    """What the page shows of one edge."""

    edge: str
    caller: str
    callee: str
    rps: float = 0.0
    error_ratio: float | None = None
    amplification: float | None = None
    p95_s: float | None = None
    breaker: str | None = None
    enabled: bool = True
    toxics: tuple[dict[str, Any], ...] = ()

    @property
    def state(self) -> str:
        """Return the colour class: down, open, half_open, errors, very_slow, slow, fault, ok, or idle."""
        if not self.enabled or self.breaker == "open":
            return "down" if not self.enabled else "open"
        if self.breaker == "half_open":
            return "half_open"
        if self.error_ratio is not None and self.error_ratio >= 0.05:
            return "errors"
        # measured slowness says more than a fault's presence (a 0 ms toxic slows nothing)
        if self.p95_s is not None and self.p95_s > SLOW_P95_S:
            return "very_slow" if self.p95_s > VERY_SLOW_P95_S else "slow"
        if self.toxics:
            return "fault"
        return "ok" if self.rps > 0 else "idle"

    def to_json(self) -> dict[str, Any]:
        """Return the edge as the page's JSON."""
        return {"edge": self.edge, "caller": self.caller, "callee": self.callee, "rps": round(self.rps, 2),
                "error_ratio": self.error_ratio, "amplification": self.amplification,
                "p95_s": None if self.p95_s is None else round(self.p95_s, 4), "breaker": self.breaker,
                "enabled": self.enabled, "toxics": list(self.toxics), "state": self.state}


def edge_views(topology: Topology, before: Mapping[str, EdgeCounts], after: Mapping[str, EdgeCounts],
               dt_s: float, proxies: Mapping[str, Any]) -> list[EdgeView]:
    """Return every topology edge's view from two scrapes ``dt_s`` apart and Toxiproxy's proxies."""
    views = []
    for e in topology.edges:
        a, b = after.get(e.proxy_name, EdgeCounts()), before.get(e.proxy_name, EdgeCounts())
        d_req, d_err, d_att = a.requests - b.requests, a.errors - b.errors, a.attempts - b.attempts
        proxy = proxies.get(e.proxy_name)
        toxics = tuple({"name": t.name, "type": t.type, "attributes": t.attributes} for t in proxy.toxics) if proxy else ()
        views.append(EdgeView(
            edge=e.proxy_name, caller=e.caller, callee=e.callee,
            rps=max(d_req, 0.0) / dt_s if dt_s > 0 else 0.0,
            error_ratio=round(d_err / d_req, 3) if d_req > 0 else None,
            amplification=round(d_att / d_req, 2) if d_req > 0 else None,
            p95_s=bucket_quantile(0.95, b.buckets, a.buckets),
            breaker=a.breaker, enabled=proxy.enabled if proxy else True, toxics=toxics,
        ))
    return views


@dataclass
class LiveReader:
    """Scrape every process's ``/metrics`` and Toxiproxy; keep the previous scrape for the rates."""

    topology: Topology
    timeout_s: float = 0.8
    _prev: dict[str, EdgeCounts] = field(default_factory=dict)
    _prev_t: float = 0.0

    def __post_init__(self) -> None:
        t = self.topology
        self._targets = [t.service_url(s) + "/metrics" for s in t.service_names if t.service(s).calls]
        self._targets.append(t.worker_metrics_url + "/metrics")
        self._http = httpx.Client(timeout=self.timeout_s)
        self._pool = ThreadPoolExecutor(max_workers=len(self._targets), thread_name_prefix="console-scrape")
        self._toxiproxy = ToxiproxyClient(t.toxiproxy_url, timeout_s=self.timeout_s)

    def _scrape(self, url: str) -> dict[str, EdgeCounts] | None:
        try:
            return parse_counts(self._http.get(url).raise_for_status().text)
        except (httpx.HTTPError, ValueError):
            return None

    def read(self) -> dict[str, Any]:
        """Return the edges' views and what did not answer."""
        now = time.monotonic()
        merged: dict[str, EdgeCounts] = {}
        unreachable = []
        for url, part in zip(self._targets, self._pool.map(self._scrape, self._targets), strict=True):
            if part is None:
                unreachable.append(url)
                continue
            for edge, c in part.items():
                m = merged.setdefault(edge, EdgeCounts())
                m.requests, m.errors, m.attempts = m.requests + c.requests, m.errors + c.errors, m.attempts + c.attempts
                for le, n in c.buckets.items():
                    m.buckets[le] = m.buckets.get(le, 0.0) + n
                m.breaker = "open" if "open" in (m.breaker, c.breaker) else (m.breaker or c.breaker)
        try:
            proxies: Mapping[str, Any] = self._toxiproxy.list_proxies()
        except ToxiproxyError:
            proxies, unreachable = {}, [*unreachable, "toxiproxy"]
        views = edge_views(self.topology, self._prev or merged, merged, now - self._prev_t if self._prev else 0.0, proxies)
        self._prev, self._prev_t = merged, now
        return {"edges": [v.to_json() for v in views], "unreachable": unreachable}

    def close(self) -> None:
        """Close the pool and the clients."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()
        self._toxiproxy.close()
