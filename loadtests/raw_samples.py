"""Record every journey's outcome and latency per second of intended start, mergeable across processes.

Each Locust process counts its finished journeys in buckets keyed by (the wall-clock
second the journey was *due* to start, journey name): outcome counters plus a
``LatencyHistogram`` of the completed (success or degraded) runs. Latency is measured
from the intended start, so a journey that waited for a free user (open loop) or for a
stalled shop carries that wait (corrected for coordinated omission).

Requests are recorded beside the journeys, under ``request:<METHOD> <route>`` keys
(``request_key``), bucketed per second the request was *sent*: outcome counters and the
latency of every request, failed ones included (a timed-out request's wait is the tail).
Journey totals (``window_bucket`` with no journey) never include them.

Processes ship ``take()``'s deltas as JSON lines (the histogram encoded); the master
writes them to ``raw.jsonl``; a reader merges the lines of any window of seconds with
``merge_lines``, so a phase's percentiles come from all its samples, never from
per-second summaries. Wall-clock seconds are shared by every process on the machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loadtests.outcomes import Outcome
from loadtests.stats.histograms import LatencyHistogram

OUTCOME_NAMES = tuple(o.value for o in Outcome)
UNSERVED = "unserved"
"""The journey name of an open-loop arrival that found every user busy past its lag limit (never run)."""
REQUEST_PREFIX = "request:"


def request_key(name: str) -> str:
    """Return the raw-sample key of a request name such as ``GET /api/v1/products/[id]``."""
    return REQUEST_PREFIX + name


def is_request(key: str) -> bool:
    """Say whether a raw-sample key holds requests rather than journeys."""
    return key.startswith(REQUEST_PREFIX)


@dataclass
class Bucket:
    """The journeys of one name due to start within one second: outcome counts and completed latencies."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOME_NAMES, 0))
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    @property
    def total(self) -> int:
        """Return how many journeys ended, whatever their outcome."""
        return sum(self.counts.values())

    def add(self, other: Bucket) -> None:
        """Add another bucket's journeys to this one."""
        for name, n in other.counts.items():
            self.counts[name] = self.counts.get(name, 0) + n
        self.latency.merge(other.latency)


@dataclass
class RawRecorder:
    """Per-process buckets of journey outcomes keyed by (second of intended start, journey)."""

    buckets: dict[tuple[int, str], Bucket] = field(default_factory=dict)

    def record(self, due_wall_s: float, journey: str, outcome: Outcome, latency_ms: float) -> None:
        """Count one finished journey due at ``due_wall_s`` (epoch seconds), ``latency_ms`` after that."""
        bucket = self.buckets.setdefault((int(due_wall_s), journey), Bucket())
        bucket.counts[outcome.value] += 1
        if outcome is not Outcome.FAILURE:
            bucket.latency.record_ms(max(0.0, latency_ms))

    def record_request(self, sent_wall_s: float, name: str, ok: bool, latency_ms: float) -> None:
        """Count one request sent at ``sent_wall_s`` (epoch seconds) that took ``latency_ms``, ok or not."""
        bucket = self.buckets.setdefault((int(sent_wall_s), request_key(name)), Bucket())
        bucket.counts[(Outcome.SUCCESS if ok else Outcome.FAILURE).value] += 1
        bucket.latency.record_ms(max(0.0, latency_ms))

    def take(self) -> list[dict[str, Any]]:
        """Return the buckets as JSON-able lines and start afresh (deltas, as Locust ships its stats)."""
        lines = [to_line(second, journey, b) for (second, journey), b in sorted(self.buckets.items())]
        self.buckets = {}
        return lines


def to_line(second: int, journey: str, bucket: Bucket) -> dict[str, Any]:
    """Return one bucket as a JSON-able line."""
    line: dict[str, Any] = {"s": second, "journey": journey, **bucket.counts}
    if bucket.latency.count:
        line["hdr"] = bucket.latency.encode()
    return line


def from_line(line: Mapping[str, Any]) -> tuple[int, str, Bucket]:
    """Return (second, journey, bucket) of one line; raise ValueError on a malformed one."""
    try:
        second, journey = int(line["s"]), str(line["journey"])
        counts = {name: int(line.get(name, 0)) for name in OUTCOME_NAMES}
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a raw-sample line: {exc!r}") from exc
    hdr = line.get("hdr")
    latency = LatencyHistogram.decode(str(hdr)) if hdr else LatencyHistogram()
    return second, journey, Bucket(counts, latency)


def merge_lines(lines: Iterable[Mapping[str, Any]]) -> dict[tuple[int, str], Bucket]:
    """Merge lines (from any number of processes and reports) into one bucket per (second, journey)."""
    merged: dict[tuple[int, str], Bucket] = {}
    for line in lines:
        second, journey, bucket = from_line(line)
        merged.setdefault((second, journey), Bucket()).add(bucket)
    return merged


def window_bucket(
    buckets: Mapping[tuple[int, str], Bucket], start_wall_s: float, end_wall_s: float, journey: str | None = None
) -> Bucket:
    """Merge the buckets of one key (or every journey, never the requests) whose second's midpoint lies in [start, end)."""
    total = Bucket()
    for (second, name), bucket in buckets.items():
        if (name == journey if journey is not None else not is_request(name)) and start_wall_s <= second + 0.5 < end_wall_s:
            total.add(bucket)
    return total
