"""Turn the load command's options into a run: thresholds from a file and flags, the output folder, following a run."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from loadtests.api import LoadResult, LoadRun, LoadSample
from loadtests.thresholds import Thresholds, parse_journey_limit


def build_thresholds(
    path: Path | None,
    max_fail_ratio: float | None,
    max_journey_failure_ratio: float | None,
    p95: tuple[str, ...],
    p99: tuple[str, ...],
) -> Thresholds:
    """Combine a thresholds file with flags (flags win); raise ThresholdError on a malformed one."""
    thresholds = Thresholds.from_file(path) if path else Thresholds()
    if max_fail_ratio is not None:
        thresholds = Thresholds(max_fail_ratio, thresholds.max_journey_failure_ratio, thresholds.min_journeys, thresholds.journeys)
    if max_journey_failure_ratio is not None:
        thresholds = Thresholds(thresholds.max_fail_ratio, max_journey_failure_ratio, thresholds.min_journeys, thresholds.journeys)
    for text in p95:
        name, ms = parse_journey_limit(text)
        thresholds = thresholds.with_journey_limit(name, p95_ms=ms)
    for text in p99:
        name, ms = parse_journey_limit(text)
        thresholds = thresholds.with_journey_limit(name, p99_ms=ms)
    return thresholds


def default_out_dir(root: Path, now: datetime) -> Path:
    """Return ``<root>/reports/load-<UTC time>``, where a run writes when no folder is given."""
    return root / "reports" / f"load-{now.strftime('%Y%m%dT%H%M%SZ')}"


def follow_run(run: LoadRun, on_sample: Callable[[LoadSample], None], *, interval_s: float = 1.0) -> LoadResult:
    """Call ``on_sample`` once per new per-second sample while the run lasts, then return its result."""
    last_t = -1.0
    while run.is_running():
        time.sleep(interval_s)  # the samples arrive once a second; this paces the progress lines
        sample = run.latest()
        if sample is not None and sample.t != last_t:
            last_t = sample.t
            on_sample(sample)
    return run.wait()
