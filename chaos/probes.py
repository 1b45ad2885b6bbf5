"""Evaluate the steady-state hypothesis: each probe's value over its phase, against its tolerance.

Definitions (over the probe's phase, or the whole run when it names none):

- ``success_ratio``: journeys that did not fail (success + degraded) / all journeys;
  ``degraded_ratio``: degraded / all; with a 95% Wilson interval and a three-valued
  verdict (``chaos.phase_stats``). From the raw samples (journeys by intended start)
  when the load recorded them, else from the per-second journey counts.
- ``p50_ms``/``p95_ms``/``p99_ms``: the percentile of every completed journey of the
  phase (merged HDR histograms, latency from the intended start) with its
  order-statistic interval. Without raw samples the median (or ``max``/``mean``) of
  the per-second percentiles is shown, and the verdict is inconclusive: a summary of
  per-second percentiles is not the phase's percentile.
- ``retry_amplification``: Δattempts / Δrequests of one edge across the phase; ``*__<service>``
  sums every edge into that service (the extra load the service sees).
- ``breaker_opened``: the edge's breaker was seen open or half-open at least once;
  ``breaker_closed``: it was closed at the phase's last sample.
- ``time_to_recover_s``: seconds from the end of the phase until the per-second
  success ratio stays at or above ``threshold`` for three seconds in a row (journeys by
  the second they ended; of one ``journey`` when the probe names it, by the second they
  were due to start when raw samples exist, skipping seconds with none of it).
- ``degraded_for_s``: the same seconds, but a shop that never recovers counts every
  second observed after the phase (a lower bound: it stayed degraded at least that
  long). Only a ``min`` tolerance may judge it (``stayed degraded >= 60 s``).
- ``audit_clean``: the consistency audit found no violation after the drain.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from chaos.experiment import BROKER_PROBES, LATENCY_PROBES, Probe, ProbeKind
from chaos.phase_stats import judge_counts, probe_result
from chaos.samples import ProbeResult, ProfileRecord, Sample

RATIO_PROBES = (ProbeKind.SUCCESS_RATIO, ProbeKind.DEGRADED_RATIO)
RECOVERY_RUN = 3  # consecutive seconds at or above the threshold that count as recovered


def _window(record: ProfileRecord, phase: str | None) -> list[Sample]:
    if phase is None:
        return list(record.samples)
    return [s for s in record.samples if s.phase == phase]


def _outcomes(samples: Sequence[Sample], journey: str | None) -> tuple[float, float, float]:
    """Return (ok, degraded, total) journeys over samples; fall back on request counts."""
    ok = degraded = total = 0.0
    for s in samples:
        if s.load is None:
            continue
        c = s.load.outcome_counts(journey)
        n = sum(c.values())
        if n > 0:
            ok += c["success"] + c["degraded"]
            degraded += c["degraded"]
            total += n
    if total == 0 and journey is None:
        for s in samples:
            if s.load is not None and s.load.rps > 0:
                total += s.load.rps
                ok += s.load.rps * (1.0 - s.load.fail_ratio)
    return ok, degraded, total


def second_success_ratio(sample: Sample, journey: str | None = None) -> float | None:
    """Return one second's success ratio, of ``journey`` only when named (None: none ended that second)."""
    ok, _deg, total = _outcomes([sample], journey)
    return ok / total if total > 0 else None


def _latency(samples: Sequence[Sample], probe: Probe) -> tuple[float | None, str]:
    key = probe.kind.value
    values: list[float] = []
    for s in samples:
        if s.load is None or s.load.rps <= 0:
            continue
        if probe.journey is not None:
            v = s.load.journeys.get(probe.journey, {}).get(key)
        else:
            v = getattr(s.load, key)
        if v is not None:
            values.append(float(v))
    if not values:
        return None, "no latency measured"
    if probe.aggregate == "max":
        value = max(values)
    elif probe.aggregate == "mean":
        value = statistics.fmean(values)
    else:
        value = statistics.median(values)
    return float(value), f"{probe.aggregate} of {len(values)} per-second values"


def _amplification(record: ProfileRecord, samples: Sequence[Sample], edge: str) -> tuple[float | None, str]:
    if not samples:
        return None, "no samples"
    # `*__<service>`: every edge into it, Σ Δattempts / Σ Δrequests (the extra load the service sees).
    edges = sorted({e for s in samples for e in s.edges if e.endswith(edge[1:])}) if edge.startswith("*__") else [edge]
    deltas = [d for d in (_edge_deltas(record, samples, e) for e in edges) if d is not None]
    if not deltas:
        return None, f"no {edge} series in the metrics"
    d_att, d_req = sum(d[0] for d in deltas), sum(d[1] for d in deltas)
    if d_req <= 0:
        return None, f"no requests on {edge} in the window"
    over = f" on {len(deltas)} edges" if edge.startswith("*__") else ""
    return d_att / d_req, f"{d_att:g} attempts / {d_req:g} requests{over}"


def _edge_deltas(record: ProfileRecord, samples: Sequence[Sample], edge: str) -> tuple[float, float] | None:
    # Counters are cumulative: start from the last sample before the window when there is one.
    first_index = record.samples.index(samples[0])
    before = record.samples[first_index - 1] if first_index > 0 else None
    start = (before.edges.get(edge) if before else None) or samples[0].edges.get(edge)
    end = next((s.edges[edge] for s in reversed(samples) if edge in s.edges), None)
    if start is None or end is None:
        return None
    return end.attempts - start.attempts, end.requests - start.requests


def _judged_by_start(record: ProfileRecord, probe: Probe) -> bool:
    """Say whether a recovery probe counts journeys by the second they were due (one journey, raw samples)."""
    return probe.journey is not None and bool(record.raw)


def _seconds_after(record: ProfileRecord, probe: Probe, end_s: float) -> tuple[list[tuple[float, float]], str]:
    """Return (t, success ratio) of each judged second from ``end_s`` on, and what a second counts.

    A probe on one journey, when the load recorded raw samples, counts the journeys *due to
    start* in each second (as the ratio probes do): a checkout made during the trigger that
    ends after it, successful or not, is not evidence about the shop after it. Seconds within
    ``journey_horizon_s`` of the last sample are left out: their slow journeys may not have
    ended, and counting only the quick ones would look like a recovery. Otherwise a
    second counts the journeys that *ended* in it (Locust's per-second stats). Seconds when no
    such journey counted are skipped.
    """
    if _judged_by_start(record, probe):
        # a journey due later than this may still have been running when the load stopped
        last_t = (record.samples[-1].t if record.samples else end_s) - record.journey_horizon_s
        out = []
        for (second, name), bucket in sorted(record.raw.items()):
            t = second + 0.5 - record.wall_t0  # the second's midpoint on the phases' clock
            if name == probe.journey and bucket.total > 0 and end_s <= t <= last_t:
                ok = bucket.counts.get("success", 0) + bucket.counts.get("degraded", 0)
                out.append((t, ok / bucket.total))
        return out, f"{probe.journey} journeys by the second they were due to start"
    ended = [(s.t, r) for s in record.samples
             if s.t >= end_s and (r := second_success_ratio(s, probe.journey)) is not None]
    return ended, "journeys by the second they ended"


def _time_to_recover(record: ProfileRecord, probe: Probe) -> tuple[float | None, str]:
    window = next((w for w in record.phases if w.name == probe.phase), None)
    if window is None:
        return None, f"phase {probe.phase} did not run"
    seconds, counted = _seconds_after(record, probe, window.end_s)
    # By start, the last judged seconds are the ones whose slow journeys barely had time to end:
    # a recovery there must show its three seconds in a row like any other.
    by_start = _judged_by_start(record, probe)
    run = 0
    first_t: float | None = None
    for t, ratio in seconds:
        if ratio >= probe.threshold:
            if run == 0:
                first_t = t
            run += 1
            if run >= RECOVERY_RUN:
                assert first_t is not None
                return (max(0.0, first_t - window.end_s),
                        f"success ratio >= {probe.threshold:g} from t={first_t:.0f}s ({counted})")
        else:
            run, first_t = 0, None
    if first_t is not None and not by_start:  # recovered through the end of the run, just fewer seconds left
        return (max(0.0, first_t - window.end_s),
                f"success ratio >= {probe.threshold:g} from t={first_t:.0f}s to the end ({counted})")
    return None, f"success ratio never stayed >= {probe.threshold:g} after {probe.phase} ({counted})"


def _degraded_for(record: ProfileRecord, probe: Probe) -> tuple[float | None, str]:
    value, detail = _time_to_recover(record, probe)
    window = next((w for w in record.phases if w.name == probe.phase), None)
    if value is not None or window is None:
        return value, detail
    judged = [t for t, _ in _seconds_after(record, probe, window.end_s)[0]]
    if not judged:
        return None, f"no journeys counted after {probe.phase}"
    return max(judged) - window.end_s, f"{detail}: degraded for all {len(judged)} seconds observed (a lower bound)"


def run_probe(probe: Probe, record: ProfileRecord) -> ProbeResult:
    """Measure one probe on a profile's record and check its tolerance."""
    samples = _window(record, probe.phase)
    value: float | bool | None
    detail = ""
    kind = probe.kind
    if record.raw and (kind in LATENCY_PROBES or kind in RATIO_PROBES):
        return probe_result(probe, record)
    if probe.request is not None:  # per-request numbers exist only in the raw samples
        return ProbeResult(probe.label, kind.value, None, probe.tolerance.describe(), False,
                           "inconclusive: no raw samples, so no per-request numbers", verdict="inconclusive")
    if kind in RATIO_PROBES:
        ok, degraded, total = _outcomes(samples, probe.journey)
        return judge_counts(probe, round(ok), round(degraded), round(total))
    if kind in LATENCY_PROBES:
        value, detail = _latency(samples, probe)
        shown = None if value is None else round(float(value), 4)
        return ProbeResult(probe.label, kind.value, shown, probe.tolerance.describe(), False,
                           f"inconclusive: {detail}, no raw samples (a summary of per-second percentiles "
                           "is not the phase's percentile)", verdict="inconclusive")
    if kind is ProbeKind.RETRY_AMPLIFICATION:
        assert probe.edge is not None
        value, detail = _amplification(record, samples, probe.edge)
    elif kind is ProbeKind.BREAKER_OPENED:
        assert probe.edge is not None
        states = [s.edges[probe.edge].breaker for s in samples if probe.edge in s.edges]
        known = [st for st in states if st is not None]
        value = any(st in ("open", "half_open") for st in known) if known else None
        detail = f"{sum(1 for st in known if st != 'closed')} of {len(known)} seconds not closed" if known else "no breaker series"
    elif kind is ProbeKind.BREAKER_CLOSED:
        edge = probe.edge
        assert edge is not None
        known = [st for st in (s.edges[edge].breaker for s in samples if edge in s.edges) if st is not None]
        value = (known[-1] == "closed") if known else None
        detail = f"last state {known[-1]}" if known else "no breaker series"
    elif kind is ProbeKind.TIME_TO_RECOVER_S:
        value, detail = _time_to_recover(record, probe)
    elif kind is ProbeKind.DEGRADED_FOR_S:
        value, detail = _degraded_for(record, probe)
    elif kind in BROKER_PROBES:
        value, detail = _broker_gauge(samples, kind)
    else:  # AUDIT_CLEAN
        if record.audit is None:
            value, detail = None, "the audit did not run"
        else:
            value = record.audit.clean
            detail = "; ".join(record.audit.violations[:3]) or record.audit.detail or "no violations"
    if value is not None and not isinstance(value, bool):
        value = round(float(value), 4)
    met = probe.tolerance.is_met(value)
    verdict = "inconclusive" if value is None else ("met" if met else "not met")
    return ProbeResult(probe.label, kind.value, value, probe.tolerance.describe(), met, detail, verdict=verdict)


def _broker_gauge(samples: Sequence[Sample], kind: ProbeKind) -> tuple[float | None, str]:
    """Return the phase's highest (or last) queue depth, or its highest delivery lag, from the consumer's gauges."""
    gauges = [s.broker for s in samples if s.broker is not None]
    if kind is ProbeKind.DELIVERY_LAG_MAX_S:
        series = [g.delivery_lag_s for g in gauges if g.delivery_lag_s is not None]
    else:
        series = [g.queue_depth for g in gauges if g.queue_depth is not None]
    if not series:
        return None, "no broker series (a stack started with --broker exposes them)"
    value = series[-1] if kind is ProbeKind.QUEUE_DEPTH_LAST else max(series)
    return value, f"{len(series)} of {len(samples)} seconds read"


def evaluate_hypothesis(probes: Sequence[Probe], record: ProfileRecord) -> list[ProbeResult]:
    """Run every probe of the hypothesis on one profile's record; a probe error is a miss."""
    results = []
    for probe in probes:
        try:
            results.append(run_probe(probe, record))
        except Exception as exc:  # one broken probe must not hide the others
            results.append(ProbeResult(probe.label, probe.kind.value, None, probe.tolerance.describe(), False,
                                       f"probe failed: {exc!r}", verdict="inconclusive"))
    return results
