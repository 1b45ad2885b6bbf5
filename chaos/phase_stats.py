"""Judge ratio and latency probes on a phase's raw samples: Wilson and order-statistic intervals, three verdicts.

A profile's raw samples are the load's per-second buckets (``loadtests.raw_samples``),
keyed by the wall-clock second each journey was *due* to start. A phase owns the
seconds whose midpoint lies between its wall-clock start and end, so a journey that
began in a stall and finished after it still counts in the stall's phase.

- ratios (``success_ratio``, ``degraded_ratio``) carry a 95% Wilson score interval;
- percentiles (``p50_ms``..``p99_ms``) come from the merged HDR histogram of every
  completed journey of the phase and carry the distribution-free binomial
  order-statistic interval (``loadtests.stats.percentiles``), never a bootstrap;
- a probe is met only when its whole interval is within the tolerance, not met when
  wholly outside, inconclusive otherwise or below its ``min_samples``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from chaos.model import Probe, ProbeKind
from chaos.samples import ProbeResult, ProfileRecord
from loadtests.raw_samples import Bucket, merge_lines, request_key, window_bucket
from loadtests.stats.intervals import RatioInterval, wilson_interval
from loadtests.stats.verdicts import Judgement, judge_percentile, judge_ratio

PERCENTILE_OF = {ProbeKind.P50_MS: 50.0, ProbeKind.P95_MS: 95.0, ProbeKind.P99_MS: 99.0}

RawBuckets = Mapping[tuple[int, str], Bucket]


def read_raw(path: Path) -> dict[tuple[int, str], Bucket]:
    """Merge a ``raw.jsonl`` file into buckets (empty when it is missing); skip a torn last line."""
    if not path.exists():
        return {}
    lines = []
    for text in path.read_text().splitlines():
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:  # the writer was stopped mid-line: that line is lost, not the rest
            continue
    return merge_lines(lines)


def merge_raw(parts: Iterable[RawBuckets]) -> dict[tuple[int, str], Bucket]:
    """Merge several processes' or reads' buckets into one mapping."""
    out: dict[tuple[int, str], Bucket] = {}
    for part in parts:
        for key, bucket in part.items():
            out.setdefault(key, Bucket()).add(bucket)
    return out


def phase_bucket(pr: ProfileRecord, phase: str | None, journey: str | None = None) -> Bucket:
    """Return the merged bucket of one phase (or the whole run) and journey (or all) of a profile."""
    if phase is None:
        start = min((w.start_s for w in pr.phases), default=0.0)
        end = max((w.end_s for w in pr.phases), default=0.0)
    else:
        window = next((w for w in pr.phases if w.name == phase), None)
        if window is None:
            return Bucket()
        start, end = window.start_s, window.end_s
    return window_bucket(pr.raw, pr.wall_t0 + start, pr.wall_t0 + end, journey)


def judge(probe: Probe, bucket: Bucket) -> Judgement:
    """Judge a ratio or latency probe on a phase's merged bucket."""
    tol = probe.tolerance
    if probe.kind in PERCENTILE_OF:
        return judge_percentile(bucket.latency, PERCENTILE_OF[probe.kind], at_least=tol.min, at_most=tol.max,
                                min_samples=probe.min_samples)
    hits = bucket.counts["degraded"] if probe.kind is ProbeKind.DEGRADED_RATIO else (
        bucket.counts["success"] + bucket.counts["degraded"])
    return judge_ratio(wilson_interval(hits, bucket.total), at_least=tol.min, at_most=tol.max,
                       min_samples=probe.min_samples)


def probe_result(probe: Probe, pr: ProfileRecord) -> ProbeResult:
    """Measure a ratio or latency probe on the raw samples of its phase and judge it."""
    key = request_key(probe.request) if probe.request is not None else probe.journey
    return _result(probe, judge(probe, phase_bucket(pr, probe.phase, key)))


def judge_counts(probe: Probe, ok: int, degraded: int, total: int) -> ProbeResult:
    """Judge a ratio probe on journey counts alone (a load that recorded no raw samples)."""
    bucket = Bucket({"success": ok - degraded, "degraded": degraded, "failure": total - ok})
    return _result(probe, judge(probe, bucket))


def _result(probe: Probe, judgement: Judgement) -> ProbeResult:
    interval = judgement.interval
    value: float | None
    if isinstance(interval, RatioInterval):
        value, samples = interval.ratio, interval.trials
    else:
        value, samples = interval.value, interval.samples
    low, high = interval.low, interval.high
    return ProbeResult(
        probe.label, probe.kind.value, None if value is None else round(float(value), 4),
        probe.tolerance.describe(), judgement.is_met, judgement.message,
        verdict=judgement.verdict.value, low=None if low is None else round(float(low), 4),
        high=None if high is None else round(float(high), 4), samples=samples,
        more_samples=judgement.more_samples,
    )
