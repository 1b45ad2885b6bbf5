"""Time the full fault-space exploration: every journey × every edge it crosses × 7 modes × naive and resilient.

``python -m bench explore`` runs it once on a stack of its own (or the running one, with
``SHOPLAB_BENCH_ATTACH=1``), one run per cell, and writes the whole matrix with its wall
time and the load average before and after into ``bench/results/explore-<time>.json``.
The issue's bar: at most 10 minutes on 2 cores.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import write_result
from chaos.explore.runner import Explorer, ExploreSettings
from shop.topology import Topology
from shoplab.runtime.stack import Stack, running_stack

BAR_S = 600.0


@contextlib.contextmanager
def bench_stack() -> Iterator[Any]:
    """Yield the running stack (``SHOPLAB_BENCH_ATTACH=1``) or one started for the benchmark."""
    if os.environ.get("SHOPLAB_BENCH_ATTACH") == "1":
        yield Stack.attach()
        return
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp), Topology.from_env(),
                                                             observability=False) as stack:
        yield stack


def main() -> None:
    """Run the full matrix once and write its result."""
    with bench_stack() as stack:
        load_before = os.getloadavg()
        started = time.monotonic()
        matrix = Explorer(stack, ExploreSettings(), say=lambda msg: print(msg, flush=True)).run()
        wall_s = time.monotonic() - started
    outcomes = Counter(f"{c.profile}:{c.outcome}" for c in matrix.cells)
    path = write_result("explore", {
        "wall_s": round(wall_s, 1), "bar_s": BAR_S, "within_bar": wall_s <= BAR_S,
        "cells": len(matrix.cells), "runs_per_cell": 1, "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(), "outcomes": dict(outcomes),
        "inconsistent": [c.key for c in matrix.cells if c.consistent is False],
        "matrix": matrix.to_json(),
    })
    print(f"{len(matrix.cells)} cells in {wall_s:.0f} s (bar {BAR_S:.0f} s): {dict(outcomes)} -> {path}")
