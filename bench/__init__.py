"""Benchmarks: ratios measured side by side in one run, with the machine they ran on."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import psutil

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """Describe the machine a benchmark ran on."""
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_1m": os.getloadavg()[0],
    }


def write_result(name: str, result: dict[str, Any], *, path: Path | None = None) -> Path:
    """Write one benchmark's result as JSON under ``bench/results/`` and return the path (``path``: rewrite it)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = path or RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(), **result}, indent=2))
    return path


def paired_ratios(numerators: list[float], denominators: list[float]) -> dict[str, Any]:
    """Return each round's ratio (its two windows ran back to back) with their median and range.

    On a shared machine the load drifts between rounds more than within one; a round's
    ratio cancels the drift that the ratio of the two medians does not.
    """
    ratios = [round(n / d, 3) for n, d in zip(numerators, denominators, strict=True) if d]
    if not ratios:
        return {"per_round": [], "median": None, "min": None, "max": None, "median_interval": None}
    return {"per_round": ratios, "median": round(statistics.median(ratios), 3), "min": min(ratios), "max": max(ratios),
            "median_interval": median_interval(ratios)}


def median_interval(values: list[float], confidence: float = 0.95) -> dict[str, Any] | None:
    """Return a distribution-free interval for the median of ``values``: two order statistics.

    The k-th smallest and k-th largest value bound the true median with probability
    1 - 2 P(Binomial(n, 1/2) < k); k is the largest rank that keeps that at or above
    ``confidence``. Answers None when n is too small for any such pair (n < 6 at 95 %).
    The coverage actually reached is returned with the bounds.
    """
    data, n = sorted(values), len(values)
    best = None
    for k in range(1, n // 2 + 1):
        tail = sum(math.comb(n, i) for i in range(k)) / 2**n
        coverage = 1 - 2 * tail
        if coverage < confidence:
            break
        best = {"low": data[k - 1], "high": data[n - k], "coverage": round(coverage, 3), "n": n}
    return best
