"""How often can hedged-reads decide the product page's p99 cut at 40 %? A model of the gateway's hedge bucket.

``python -m bench.hedge_budget_model`` (seconds, no stack) writes ``bench/results/hedge-budget-model-*.json``.

The cut is decided at 40 % when the upper bound of ``adaptive``'s p99 (an order statistic a
few ranks above the p99's: rank 808 of 810, 1,612 of 1,620) is under 0.6 x ``resilient``'s
p99 (about 490 ms). Every page whose catalog read was hedged is far under it (0.2-0.45 s in the
quiet runs); a page is *bad* (about 800 ms) when its slow read was not hedged (the bucket was
empty) or its copy was slow too. So the cut is decided exactly when the bad pages are at most
``pages - upper rank``. The model draws the gateway's catalog reads of one run at the rate the
quiet full runs measured (1,294 in 150 s, 810 of them product pages), each slow with
probability 5 % (the fault, drawn per request), and pays every late read's hedge from the real
bucket (``RetryBudget``: empty at the switch, ``ratio`` per read, ``max_tokens`` saved) through
the baseline and the fault phase. A "straggler" is a fast read late past the delay (it takes a
token and is no bad page). The other edges into catalog (cart, recommendations, orders) get a
bucket each, at their measured rates, for the issue's load bar over all of them. What the
model leaves out: the page's other catalog read
(recommendations', bounded by the gateway's 0.25 s fallback budget: no page of the quiet runs
between 490 and 780 ms), and the machine's load (stragglers stand for it).
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from typing import Any

from bench import write_result
from loadtests.stats.percentiles import order_statistic_ranks
from shop.kit.resilience.components import RetryBudget

READS_PER_S = 1294 / 150  # gateway -> catalog reads per second, fault phase of the quiet runs 7-9
PAGE_SHARE = 810 / 1294  # of them, product pages (the rest: browse's catalog list)
SLOW = 0.05  # the fault's latency_rate


@dataclass(frozen=True)
class Setting:
    """One form of the experiment and one hedge bucket."""

    label: str
    baseline_s: float
    fault_s: float
    max_tokens: float
    ratio: float = 0.05
    straggle: float = 0.002  # fast reads late past the delay (quiet runs: 0-4 hedges lost beyond the slow copies)


def one_run(s: Setting, rng: random.Random) -> dict[str, float]:
    """Draw one run's fault phase: pages, bad pages, slow reads without a token, hedges per read."""
    budget = RetryBudget(ratio=s.ratio, initial_tokens=0.0, max_tokens=s.max_tokens)
    for _ in range(int(s.baseline_s * READS_PER_S)):
        budget.deposit()
        if rng.random() < s.straggle:
            budget.try_withdraw()
    pages = bad = unhedged = hedges = 0
    reads = int(s.fault_s * READS_PER_S)
    for _ in range(reads):
        budget.deposit()
        page = rng.random() < PAGE_SHARE
        pages += page
        slow = rng.random() < SLOW
        if not (slow or rng.random() < s.straggle):
            continue
        if budget.try_withdraw():
            hedges += 1
            bad += slow and page and rng.random() < SLOW  # the copy is slow as well
        elif slow:
            unhedged += 1
            bad += page
    return {"pages": pages, "bad": bad, "unhedged": unhedged, "extra": hedges / reads}


# The other edges into catalog, from the same quiet runs: reads per second in the fault phase and
# the share of their slow reads each hedges (recommendations' reads run inside the gateway's
# 0.25 s fallback deadline, so a delay past what is left sends no copy: 2.8-5.1 % hedged;
# orders hedges little: 1.4-1.6 %). The bar is on all of them together (<= 5 %).
OTHER_EDGES = {"cart": (620 / 150, 1.0), "recommendations": (845 / 150, 0.8), "orders": (366 / 150, 0.3)}


def edge_hedges(s: Setting, rng: random.Random, reads_per_s: float, hedged_share: float) -> tuple[int, int]:
    """Draw one other edge's fault phase with its own bucket: (hedges, reads)."""
    budget = RetryBudget(ratio=s.ratio, initial_tokens=0.0, max_tokens=s.max_tokens)
    for _ in range(int(s.baseline_s * reads_per_s)):
        budget.deposit()
        if rng.random() < s.straggle:
            budget.try_withdraw()
    hedges, reads = 0, int(s.fault_s * reads_per_s)
    for _ in range(reads):
        budget.deposit()
        late = (rng.random() < SLOW and rng.random() < hedged_share) or rng.random() < s.straggle
        hedges += late and budget.try_withdraw()
    return hedges, reads


def catalog_extra(s: Setting, rng: random.Random, gateway_extra: float) -> float:
    """Return the extra load over every edge into catalog, the gateway's drawn by ``one_run``."""
    reads = int(s.fault_s * READS_PER_S)
    hedges = gateway_extra * reads
    for rate, share in OTHER_EDGES.values():
        h, r = edge_hedges(s, rng, rate, share)
        hedges, reads = hedges + h, reads + r
    return hedges / reads


def summarise(s: Setting, runs: int, rng: random.Random) -> dict[str, Any]:
    """Return the share of runs whose cut is decided, with the bad pages' and the extra load's spread."""
    drawn = [one_run(s, rng) for _ in range(runs)]
    decided = 0
    for d in drawn:
        _low, high = order_statistic_ranks(int(d["pages"]), 99.0)
        decided += high is not None and d["bad"] <= d["pages"] - high
    share = decided / runs
    catalog = [round(catalog_extra(s, rng, d["extra"]), 4) for d in drawn]
    return {
        "setting": s.__dict__, "runs": runs, "decided_share": round(share, 3), "all_three_of_3": round(share ** 3, 3),
        "bad_pages": _quantiles([d["bad"] for d in drawn]),
        "slow_reads_without_token": _quantiles([d["unhedged"] for d in drawn]),
        "gateway_extra_load": _quantiles([round(d["extra"], 4) for d in drawn]),
        "catalog_extra_load": _quantiles(catalog),
        "catalog_extra_load_over_5_percent": round(sum(c > 0.05 for c in catalog) / runs, 3),
    }


def _quantiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {q: values[int(f * (len(values) - 1))] for q, f in (("p10", 0.1), ("median", 0.5), ("p90", 0.9), ("max", 1.0))}


SETTINGS = (
    Setting("as measured: 20 s baseline, 150 s fault, 10 saved", 20, 150, 10),
    Setting("300 s fault, 10 saved", 20, 300, 10),
    Setting("150 s fault, 60 s baseline, 25 saved", 60, 150, 25),
    Setting("chosen: 60 s baseline, 300 s fault, 25 saved", 60, 300, 25),
    Setting("chosen, stragglers 0.5 % (a busier machine)", 60, 300, 25, straggle=0.005),
    Setting("chosen, stragglers 1 %", 60, 300, 25, straggle=0.01),
)


def main(argv: list[str] | None = None) -> None:
    """Model every setting and write the result."""
    args = sys.argv[1:] if argv is None else argv
    runs = int(args[0]) if args else 2000
    rng = random.Random(19)
    rows = [summarise(s, runs, rng) for s in SETTINGS]
    for row in rows:
        print(f"{row['setting']['label']:50s} decided {row['decided_share']:.2f} (3 of 3: {row['all_three_of_3']:.2f})"
              f"  bad pages {row['bad_pages']}  without token {row['slow_reads_without_token']['median']}"
              f"/{row['slow_reads_without_token']['p90']}  gateway extra {row['gateway_extra_load']['median']}"
              f"  catalog extra {row['catalog_extra_load']['median']} (> 5 %: {row['catalog_extra_load_over_5_percent']})")
    print(write_result("hedge-budget-model", {"runs_per_setting": runs, "reads_per_s": round(READS_PER_S, 3),
                                               "page_share": round(PAGE_SHARE, 3), "slow": SLOW, "settings": rows}))


if __name__ == "__main__":
    main()
