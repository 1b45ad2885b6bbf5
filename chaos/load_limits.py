"""Say who was the limit: did the load generator keep its open-loop schedule, or was the shop saturated?

Over a profile's phases: arrivals scheduled, started late (every user busy past the due
time, by more than 50 ms), dropped (more than a second overdue, never run), the achieved
rate against the intended one, and the busiest load process's CPU (psutil, through
Locust). Profiles are compared only on the same offered load, so a profile whose
generator fell behind — CPU at ``CPU_LIMIT_PCT`` or more, or more than ``DROP_LIMIT`` of
its arrivals dropped — is refused (its record carries the reason as an error).

The warm-up (users spawned and signed in before the phases) is counted apart: its
journeys are due before the phases' clock starts, so no phase holds them.
"""

from __future__ import annotations

from dataclasses import dataclass

from chaos.model import LoadSettings
from chaos.samples import ProfileRecord
from loadtests.raw_samples import Bucket

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

    @property
    def achieved_rate(self) -> float | None:
        """Return arrivals actually started per second (None without an open-loop schedule)."""
        if self.intended_rate is None or self.duration_s <= 0:
            return None
        return (self.scheduled - self.dropped) / self.duration_s

    @property
    def behind(self) -> str | None:
        """Return why the generator fell behind (the comparison is refused), or None."""
        if self.max_cpu_pct is not None and self.max_cpu_pct >= CPU_LIMIT_PCT:
            return f"the load generator fell behind: its CPU reached {self.max_cpu_pct:.0f}%"
        if self.scheduled and self.dropped / self.scheduled > DROP_LIMIT:
            return (f"the load generator fell behind: {self.dropped} of {self.scheduled} arrivals dropped "
                    "(every user busy: the shop saturated or too few users)")
        return None

    def describe(self) -> str:
        """Say it in one line for the report."""
        cpu = "—" if self.max_cpu_pct is None else f"{self.max_cpu_pct:.0f}%"
        if self.intended_rate is None:
            return f"closed loop; generator CPU max {cpu}"
        achieved = self.achieved_rate or 0.0
        return (f"intended {self.intended_rate:g}/s, achieved {achieved:.2f}/s; {self.scheduled} scheduled, "
                f"{self.late} late, {self.dropped} dropped; generator CPU max {cpu}")


def generator_report(pr: ProfileRecord, load: LoadSettings) -> GeneratorReport:
    """Measure the generator over the profile's sampled phases."""
    points = [s.load for s in pr.samples if s.load is not None]
    cpus = [p.cpu_percent for p in points if p.cpu_percent is not None]
    arrivals = [p.arrivals for p in points if p.arrivals]
    scheduled = late = dropped = 0
    if len(arrivals) >= 2:
        first, last = arrivals[0], arrivals[-1]
        scheduled, late, dropped = (int(last.get(k, 0) - first.get(k, 0)) for k in ("scheduled", "late", "dropped"))
    duration = pr.samples[-1].t - pr.samples[0].t if len(pr.samples) >= 2 else 0.0
    return GeneratorReport(load.rate_per_s, scheduled, late, dropped, duration, max(cpus) if cpus else None)


def warmup_bucket(pr: ProfileRecord) -> Bucket:
    """Return the journeys due before the phases started (the warm-up's sign-ups), merged."""
    total = Bucket()
    for (second, _journey), bucket in pr.raw.items():
        if second + 0.5 < pr.wall_t0:
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
