"""Find the edges a journey crosses from the callers' own request counters.

Every resilient client counts its logical calls in ``shoplab_dependency_requests_total``
(labels ``caller``, ``dependency``, ``outcome``); each service's ``/metrics`` and the
orders worker's metrics port expose them. A fault-free run of the journey, with the
counters read before and after (once the orders worker has drained), names the edges
whose count grew. Counters, not Jaeger traces: they need no sampling and no collector,
and the worker's asynchronous calls (orders→payments, orders→notifications) count too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import httpx
from prometheus_client.parser import text_string_to_metric_families

REQUESTS_METRIC = "shoplab_dependency_requests"


def parse_edge_counts(text: str) -> Counter[str]:
    """Sum the logical calls per ``caller__dependency`` edge in one Prometheus text exposition."""
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        if family.name != REQUESTS_METRIC:
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                counts[f"{sample.labels['caller']}__{sample.labels['dependency']}"] += int(sample.value)
    return counts


def read_edge_counts(metrics_urls: Iterable[str], http: httpx.Client) -> Counter[str]:
    """Return the summed edge counts of every metrics endpoint (one that cannot be read counts nothing)."""
    total: Counter[str] = Counter()
    for url in metrics_urls:
        try:
            resp = http.get(url)
        except httpx.HTTPError:
            continue
        if resp.status_code == 200:
            total.update(parse_edge_counts(resp.text))
    return total


def crossed_edges(before: Counter[str], after: Counter[str]) -> list[str]:
    """Return the edges whose count grew, sorted."""
    return sorted(edge for edge, n in after.items() if n > before.get(edge, 0))
