"""Say who was the limit: did the load generator keep its open-loop schedule, or was the shop saturated?

Over a profile's phases: arrivals scheduled, started late (every user busy past the due
time, by more than 50 ms), dropped (more than a second overdue, never run), the achieved
rate against the intended one, and the busiest load process's CPU (psutil, through
Locust). Profiles are compared only on the same offered load, so a profile is refused
(its record carries the reason as an error) when its *generator* fell behind:

- its CPU reached ``CPU_LIMIT_PCT``: the generator itself could not keep the schedule;
- more than ``DROP_LIMIT`` of the arrivals due before the first fault were dropped: too
  few users for the offered load even on a healthy shop (raise ``load.users``).

Arrivals dropped once a fault is on are the *shop's* doing: it held every user past the
next due time. They are not a reason to refuse; each one is recorded as a failed
``unserved`` journey at its due time (``loadtests.raw_samples.UNSERVED``), so the phase's
success ratio counts the shoppers the saturated shop never served, and the report says so.

The warm-up (users spawned and signed in before the phases) is counted apart: its
journeys are due before the phases' clock starts, so no phase holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chaos.model import LoadSettings
from chaos.samples import ProfileRecord
from loadtests.raw_samples import Bucket, is_request

CPU_LIMIT_PCT = 90.0
DROP_LIMIT = 0.01


@dataclass(frozen=True)
class GeneratorReport:
    """How the load generator kept its schedule over a profile's phases."""

    intended_rate: float | None
    scheduled: int
    late: int
    dropped: int
    duration_s: float
    max_cpu_pct: float | None
    # the arrivals due before the first fault (the healthy shop): drops there are the generator's
    healthy_scheduled: int = 0
    healthy_dropped: int = 0

    @property
    def achieved_rate(self) -> float | None:
        """Return arrivals actually started per second (None without an open-loop schedule)."""
        if self.intended_rate is None or self.duration_s <= 0:
            return None
        return (self.scheduled - self.dropped) / self.duration_s

    @property
    def saturated_dropped(self) -> int:
        """Return the arrivals dropped once a fault was on: shoppers the saturated shop never served."""
        return max(0, self.dropped - self.healthy_dropped)

    @property
    def behind(self) -> str | None:
        """Return why the generator fell behind (the comparison is refused), or None."""
        if self.max_cpu_pct is not None and self.max_cpu_pct >= CPU_LIMIT_PCT:
            return f"the load generator fell behind: its CPU reached {self.max_cpu_pct:.0f}%"
        if self.healthy_scheduled and self.healthy_dropped / self.healthy_scheduled > DROP_LIMIT:
            return (f"the load generator fell behind: {self.healthy_dropped} of {self.healthy_scheduled} arrivals "
                    "dropped before any fault (too few users for the offered load: raise load.users)")
        return None

    def describe(self) -> str:
        """Say it in one line for the report."""
        cpu = "—" if self.max_cpu_pct is None else f"{self.max_cpu_pct:.0f}%"
        if self.intended_rate is None:
            return f"closed loop; generator CPU max {cpu}"
        achieved = self.achieved_rate or 0.0
        line = (f"intended {self.intended_rate:g}/s, achieved {achieved:.2f}/s; {self.scheduled} scheduled, "
                f"{self.late} late, {self.dropped} dropped; generator CPU max {cpu}")
        if self.saturated_dropped:
            line += (f"; the shop saturated: {self.saturated_dropped} arrivals found every user waiting on it "
                     "and count as failed 'unserved' journeys")
        return line


def _counts(arrivals: Mapping[str, float] | None) -> tuple[int, int]:
    if not arrivals:
        return 0, 0
    return int(arrivals.get("scheduled", 0)), int(arrivals.get("dropped", 0))


def generator_report(pr: ProfileRecord, load: LoadSettings) -> GeneratorReport:
    """Measure the generator over the profile's sampled phases."""
    points = [s.load for s in pr.samples if s.load is not None]
    cpus = [p.cpu_percent for p in points if p.cpu_percent is not None]
    arrivals = [p.arrivals for p in points if p.arrivals]
    scheduled = late = dropped = 0
    if len(arrivals) >= 2:
        first, last = arrivals[0], arrivals[-1]
        scheduled, late, dropped = (int(last.get(k, 0) - first.get(k, 0)) for k in ("scheduled", "late", "dropped"))
    # the healthy part: samples of the phases before the first one with a fault (all of them when none has one)
    faulted = {w.name for w in pr.phases if w.faults}
    healthy_scheduled = healthy_dropped = 0
    previous: tuple[int, int] | None = None
    seen_fault = False
    for sample in pr.samples:
        if sample.load is None or not sample.load.arrivals:
            continue
        current = _counts(sample.load.arrivals)
        seen_fault = seen_fault or sample.phase in faulted
        if previous is not None and not seen_fault:
            healthy_scheduled += current[0] - previous[0]
            healthy_dropped += current[1] - previous[1]
        previous = current
    duration = pr.samples[-1].t - pr.samples[0].t if len(pr.samples) >= 2 else 0.0
    return GeneratorReport(load.rate_per_s, scheduled, late, dropped, duration, max(cpus) if cpus else None,
                           healthy_scheduled, healthy_dropped)


def warmup_bucket(pr: ProfileRecord) -> Bucket:
    """Return the journeys due before the phases started (the warm-up's sign-ups), merged."""
    total = Bucket()
    for (second, key), bucket in pr.raw.items():
        if second + 0.5 < pr.wall_t0 and not is_request(key):
            total.add(bucket)
    return total


def describe_warmup(pr: ProfileRecord) -> str:
    """Say the warm-up in a few words: journeys, failures and their p95."""
    bucket = warmup_bucket(pr)
    if not bucket.total:
        return "none"
    p95 = bucket.latency.percentile_ms(95.0)
    return (f"{bucket.total} journeys, {bucket.counts['failure']} failed, "
            f"p95 {'—' if p95 is None else f'{p95:.0f} ms'}")
