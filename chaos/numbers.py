"""Compute what a report shows: each profile's key numbers, the comparison rows and the per-second series.

Numbers only: ``chaos.charts`` turns the series into chart geometry and ``chaos.report``
lays everything out. Probes are run through ``chaos.probes``, so the table and the
hypothesis agree on every value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chaos.experiment import Experiment, Probe, ProbeKind, Tolerance
from chaos.load_limits import describe_warmup, generator_report
from chaos.phase_stats import phase_bucket
from chaos.probes import run_probe
from chaos.runner import RunRecord
from chaos.samples import OUTCOMES, ProbeResult, ProfileRecord, Sample
from loadtests.raw_samples import REQUEST_PREFIX, is_request
from loadtests.stats.intervals import wilson_interval
from loadtests.stats.percentiles import histogram_percentile_interval

MAX_EDGES_CHARTED = 6


@dataclass(frozen=True)
class KeyNumbers:
    """The few numbers the comparison table shows per profile."""

    success_ratio: float | None
    fault_success_ratio: float | None
    degraded_ratio: float | None
    fault_p95_ms: float | None
    max_amplification: float | None
    max_amplification_edge: str | None
    breakers_opened: tuple[str, ...]
    time_to_recover_s: float | None
    audit: str
    probes_met: int
    probes_total: int


def fault_phases(exp: Experiment) -> list[str]:
    """Return the names of the phases that inject faults."""
    return [p.name for p in exp.phases if p.faults]


def _probe_value(kind: ProbeKind, pr: ProfileRecord, **kw: Any) -> Any:
    tol = Tolerance(equals=True) if kind in (ProbeKind.BREAKER_OPENED,) else Tolerance(min=0.0)
    return run_probe(Probe(kind, tol, **kw), pr).value


def key_numbers(exp: Experiment, pr: ProfileRecord) -> KeyNumbers:
    """Compute the comparison numbers of one profile."""
    faulty = fault_phases(exp)
    first_fault = faulty[0] if faulty else None
    fault_samples = [s for s in pr.samples if s.phase in faulty]
    fault_success = None
    if len(faulty) == 1:  # one fault phase: its raw samples give exact numbers
        fault_success = _probe_value(ProbeKind.SUCCESS_RATIO, pr, phase=first_fault)
        fault_p95 = _probe_value(ProbeKind.P95_MS, pr, phase=first_fault)
    elif first_fault:
        fault_record = ProfileRecord(pr.profile, pr.must_hold, samples=fault_samples, phases=pr.phases)
        fault_success = _probe_value(ProbeKind.SUCCESS_RATIO, fault_record)
        fault_p95 = _probe_value(ProbeKind.P95_MS, fault_record)
    else:
        fault_p95 = _probe_value(ProbeKind.P95_MS, pr)
    edges = sorted({e for s in pr.samples for e in s.edges})
    best: tuple[float, str] | None = None
    for edge in edges:
        phases: list[str | None] = [*faulty] or [None]
        for phase in phases:
            value = _probe_value(ProbeKind.RETRY_AMPLIFICATION, pr, edge=edge, phase=phase)
            if isinstance(value, float) and (best is None or value > best[0]):
                best = (value, edge)
    opened = tuple(e for e in edges if any(s.edges.get(e) and s.edges[e].breaker in ("open", "half_open")
                                           for s in pr.samples))
    ttr = _probe_value(ProbeKind.TIME_TO_RECOVER_S, pr, phase=faulty[-1]) if faulty else None
    audit = "not run" if pr.audit is None else ("clean" if pr.audit.clean else f"{len(pr.audit.violations)} violations")
    return KeyNumbers(
        success_ratio=_probe_value(ProbeKind.SUCCESS_RATIO, pr),
        fault_success_ratio=fault_success,
        degraded_ratio=_probe_value(ProbeKind.DEGRADED_RATIO, pr),
        fault_p95_ms=fault_p95,
        max_amplification=best[0] if best else None,
        max_amplification_edge=best[1] if best else None,
        breakers_opened=opened,
        time_to_recover_s=ttr,
        audit=audit,
        probes_met=sum(1 for p in pr.probes if p.met),
        probes_total=len(pr.probes),
    )


def fmt(value: Any, unit: str = "", digits: int = 3) -> str:
    """Format a number (or None/bool) for a table cell."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if unit == "%":
            return f"{value * 100:.1f}%"
        if abs(value) >= 10**digits:  # no exponent for big numbers (2000 ms, not 2e+03)
            return f"{value:.0f}{unit}"
        return f"{value:.{digits}g}{unit}"
    return f"{value}{unit}"


def comparison_rows(record: RunRecord) -> list[tuple[str, list[str]]]:
    """Return the side-by-side table: one row per measure, one column per profile."""
    exp = record.experiment
    nums = [key_numbers(exp, pr) for pr in record.profiles]
    rows: list[tuple[str, list[str]]] = [
        ("hypothesis", [
            ("HELD" if pr.held else "NOT HELD") + (" (must hold)" if pr.must_hold else " (informational)")
            for pr in record.profiles
        ]),
        ("probes met", [f"{n.probes_met}/{n.probes_total}" for n in nums]),
        ("success ratio (run)", [fmt(n.success_ratio, "%") for n in nums]),
        ("success ratio (fault phases)", [fmt(n.fault_success_ratio, "%") for n in nums]),
        ("degraded ratio (run)", [fmt(n.degraded_ratio, "%") for n in nums]),
        ("p95 in fault phases", [fmt(n.fault_p95_ms, " ms", 4) for n in nums]),
        ("max retry amplification", [
            fmt(n.max_amplification) + (f" ({n.max_amplification_edge})" if n.max_amplification_edge else "")
            for n in nums
        ]),
        ("breakers opened", [", ".join(n.breakers_opened) or "none" for n in nums]),
        ("time to recover", [fmt(n.time_to_recover_s, " s") for n in nums]),
        ("audit", [n.audit for n in nums]),
        ("load generator (phases)", [generator_report(pr, exp.load).describe() for pr in record.profiles]),
        ("warm-up (before the phases)", [describe_warmup(pr) for pr in record.profiles]),
    ]
    # each profile's results follow the probes that judge it (a probe scoped to other profiles has none)
    judged = [dict(zip(exp.hypothesis_for(pr.profile), pr.probes, strict=False)) for pr in record.profiles]
    for probe in exp.hypothesis:
        cells = ["—" if probe not in results else probe_cell(results[probe]) for results in judged]
        rows.append((f"{probe.label} ({probe.tolerance.describe()})", cells))
    errors = [pr.error or pr.interrupted or "" for pr in record.profiles]
    if any(errors):
        rows.append(("error", errors))
    return rows


VERDICT_MARK = {"met": "✔", "not met": "✘", "inconclusive": "?"}


@dataclass(frozen=True)
class RequestRow:
    """One request name in one phase of one profile: count, failures and latency with intervals."""

    profile: str
    phase: str
    request: str
    requests: int
    failure_ratio: float | None
    failure_low: float | None
    failure_high: float | None
    p50_ms: float | None
    p95_ms: float | None
    p95_low: float | None
    p95_high: float | None
    p99_ms: float | None


def request_rows(record: RunRecord) -> list[RequestRow]:
    """Return every request name's numbers per phase, from all of its raw samples (none without raw samples)."""
    rows = []
    for pr in record.profiles:
        names = sorted({key for _second, key in pr.raw if is_request(key)})
        for window in pr.phases:
            for key in names:
                bucket = phase_bucket(pr, window.name, key)
                if not bucket.total:
                    continue
                failures = wilson_interval(bucket.counts["failure"], bucket.total)
                p95 = histogram_percentile_interval(bucket.latency, 95.0)
                rows.append(RequestRow(
                    pr.profile, window.name, key.removeprefix(REQUEST_PREFIX), bucket.total, failures.ratio,
                    failures.low, failures.high, bucket.latency.percentile_ms(50.0), p95.value, p95.low, p95.high,
                    bucket.latency.percentile_ms(99.0)))
    return rows


def probe_cell(res: ProbeResult) -> str:
    """Return a probe's table cell: verdict mark, value, 95% interval and sample count when it has them."""
    text = f"{VERDICT_MARK[res.outcome]} {fmt(res.value)}"
    if res.low is not None or res.high is not None:
        text += f" [{fmt(res.low)}, {fmt(res.high)}]"
    if res.samples is not None:
        text += f" n={res.samples}"
    return text


# -- per-second series -------------------------------------------------------------------------------
RATIO_WINDOW = 5  # seconds: a few journeys end each second, so a rolling window keeps the chart readable


def ratio_series(samples: Sequence[Sample], outcome: str) -> list[tuple[float, float | None]]:
    """Return the share of journeys ending in ``outcome`` over the last few seconds, per second."""
    points: list[tuple[float, float | None]] = []
    for i, s in enumerate(samples):
        window = [w for w in samples[max(0, i - RATIO_WINDOW + 1): i + 1] if w.load is not None]
        if s.load is None or not window:
            points.append((s.t, None))
            continue
        totals = dict.fromkeys(OUTCOMES, 0.0)
        for w in window:
            assert w.load is not None
            for k, v in w.load.outcome_counts().items():
                totals[k] += v
        total = sum(totals.values())
        if total > 0:
            points.append((s.t, totals[outcome] / total))
        elif outcome == "failure" and s.load.rps > 0:
            points.append((s.t, s.load.fail_ratio))
        else:
            points.append((s.t, None))
    return points


def amplification_series(samples: Sequence[Sample], edge: str) -> list[tuple[float, float | None]]:
    """Return per-second Δattempts/Δrequests of one edge (None when it had no requests)."""
    points: list[tuple[float, float | None]] = []
    prev = None
    for s in samples:
        cur = s.edges.get(edge)
        if cur is not None and prev is not None and cur.requests > prev.requests:
            points.append((s.t, (cur.attempts - prev.attempts) / (cur.requests - prev.requests)))
        else:
            points.append((s.t, None))
        if cur is not None:
            prev = cur
    return points


def busiest_edges(pr: ProfileRecord, must: Sequence[str] = (), limit: int = MAX_EDGES_CHARTED) -> list[str]:
    """Return the edges with the most attempts (plus the ones the hypothesis names)."""
    if not pr.samples:
        return list(must)
    last = pr.samples[-1].edges
    first = pr.samples[0].edges
    ranked = sorted(last, key=lambda e: -(last[e].attempts - (first[e].attempts if e in first else 0)))
    chosen = [e for e in must if e in last]
    for e in ranked:
        if len(chosen) >= limit:
            break
        if e not in chosen and last[e].requests > (first[e].requests if e in first else 0):
            chosen.append(e)
    return chosen


def fault_windows(pr: ProfileRecord) -> list[tuple[float, float, str]]:
    """Return the fault phases of one profile as ``(start_s, end_s, name)``."""
    return [(w.start_s, w.end_s, w.name) for w in pr.phases if w.faults]


def verdict(record: RunRecord) -> str:
    """Return the run's verdict: PASSED, INTERRUPTED or FAILED."""
    return "PASSED" if record.passed else ("INTERRUPTED" if record.interrupted else "FAILED")
