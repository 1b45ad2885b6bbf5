"""Memory under soak: the whole process tree, Prometheus and Jaeger included, under open-loop load.

``python -m bench soak [--minutes 10] [--rate R]`` starts a native stack (port offset
``SHOPLAB_PORT_OFFSET`` + 90, full instrumentation: Prometheus and Jaeger on) and drives
the default journey mix in open loop (``shoplab load --rate R``) for ``--minutes``. The
default rate is half the resilient knee of the newest ``bench/results/knee-*.json``.
Every ``SOAK_SAMPLE_S`` seconds (default 5) it sums the memory of supervisord and every
process under it, as PSS (shared pages split among the processes sharing them: what the
tree holds) and as RSS (each shared page counted in every process), and records each
program's PSS.

Verdict (``judge_soak``, on the PSS sum; the RSS sum is judged the same way and recorded):
pass when the largest total is at most 1 GiB and the curve is
flat over the last 5 minutes (the last half of a shorter run): the least-squares line
through that window's totals rises by at most 5 % of the window's mean over the window.
Locust itself is not part of the shop and is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from bench import RESULTS_DIR, machine, write_result
from loadtests.api import LoadSpec, start_load
from loadtests.thresholds import Thresholds
from shop.topology import Topology
from shoplab.runtime.stack import Stack, running_stack

CAP_MIB = 1024.0
FLAT_WINDOW_S = 300.0
MAX_WINDOW_GROWTH = 0.05
SAMPLE_S = float(os.environ.get("SOAK_SAMPLE_S", "5"))
FALLBACK_RATE = 3.0


@dataclass(frozen=True)
class SoakVerdict:
    """What the memory curve says: the peak, the window judged flat or not, and why it failed."""

    peak_mib: float
    window_s: float
    window_samples: int
    window_mean_mib: float
    window_growth_mib: float
    window_growth_ratio: float
    passed: bool
    failures: tuple[str, ...]


def judge_soak(curve: list[tuple[float, float]], *, cap_mib: float = CAP_MIB, window_s: float = FLAT_WINDOW_S,
               max_growth: float = MAX_WINDOW_GROWTH) -> SoakVerdict:
    """Judge a curve of ``(seconds since start, total MiB)``: under the cap, and flat over the last window.

    The window is the last ``window_s`` seconds, or the last half of a shorter run. Its
    growth is the least-squares slope times the window's length; it is flat when that is
    at most ``max_growth`` of the window's mean (a falling curve is flat).
    """
    if len(curve) < 3:
        return SoakVerdict(0.0, 0.0, len(curve), 0.0, 0.0, 0.0, False, ("fewer than 3 samples",))
    end = curve[-1][0]
    span = min(window_s, (end - curve[0][0]) / 2)
    window = [(t, mib) for t, mib in curve if t >= end - span]
    if len(window) < 3:
        window = curve[-3:]
    times = [t for t, _ in window]
    values = [mib for _, mib in window]
    slope = statistics.linear_regression(times, values).slope
    length = times[-1] - times[0]
    growth = slope * length
    mean = statistics.fmean(values)
    ratio = growth / mean if mean else 0.0
    peak = max(mib for _, mib in curve)
    failures = []
    if peak > cap_mib:
        failures.append(f"peak {peak:.0f} MiB > {cap_mib:.0f} MiB")
    if ratio > max_growth:
        failures.append(f"grew {growth:.0f} MiB ({ratio:.1%}) over the last {length:.0f} s > {max_growth:.0%}")
    return SoakVerdict(round(peak, 1), round(length, 1), len(window), round(mean, 1), round(growth, 1),
                       round(ratio, 4), not failures, tuple(failures))


def default_rate(results_dir: Path = RESULTS_DIR) -> float:
    """Return half the resilient knee of the newest ``knee-*.json`` (``FALLBACK_RATE`` without one)."""
    for path in sorted(results_dir.glob("knee-2*.json"), reverse=True):
        knee = json.loads(path.read_text()).get("profiles", {}).get("resilient", {}).get("knee_journeys_per_s")
        if knee:
            return round(float(knee) / 2, 2)
    return FALLBACK_RATE


def tree_memory_mib(stack: Stack) -> tuple[float, float, dict[str, float]]:
    """Return the RSS sum and the PSS sum of supervisord and everything under it, in MiB, and each program's PSS.

    RSS counts a shared page once per process (libpython, the .so files, a gunicorn
    master's pages its worker still shares), so its sum overstates the tree; PSS splits
    each shared page among its sharers, so its sum is the memory the tree really holds.
    """
    shares: dict[str, float] = {}
    roots: list[psutil.Process] = []
    for status in stack.status():
        if status.pid:
            try:
                roots.append(psutil.Process(status.pid))
            except psutil.NoSuchProcess:
                continue
            shares[status.name] = _memory_of([roots[-1]])[1]
    if not roots:
        return 0.0, 0.0, shares
    try:
        supervisor = roots[0].parent()
    except psutil.NoSuchProcess:
        supervisor = None
    rss, pss = _memory_of([supervisor] if supervisor is not None else roots)
    return rss, pss, shares


def _memory_of(roots: list[psutil.Process]) -> tuple[float, float]:
    seen: dict[int, tuple[int, int]] = {}
    for root in roots:
        try:
            for proc in [root, *root.children(recursive=True)]:
                try:
                    info = proc.memory_full_info()
                    seen[proc.pid] = (info.rss, info.pss)
                except psutil.NoSuchProcess:
                    continue
        except psutil.NoSuchProcess:
            continue
    return (round(sum(r for r, _ in seen.values()) / 2**20, 1), round(sum(p for _, p in seen.values()) / 2**20, 1))


def run_soak(stack: Stack, rate: float, minutes: float, out_dir: Path) -> dict[str, Any]:
    """Drive the stack at ``rate`` journeys/s for ``minutes`` and sample the tree's memory; return the record."""
    duration_s = minutes * 60
    spec = LoadSpec(
        host=stack.service_url("gateway"), shape="steady", users=int(rate * 10) + 20,
        spawn_rate=float(int(rate * 10) + 20), duration_s=duration_s, rate_per_s=rate,
        thresholds=Thresholds(max_fail_ratio=None, max_journey_failure_ratio=None),
    )
    samples: list[dict[str, Any]] = []
    run = start_load(spec, out_dir=out_dir)
    started = time.monotonic()
    try:
        while run.is_running() and time.monotonic() - started < duration_s + 60:
            rss, pss, shares = tree_memory_mib(stack)
            samples.append({"t_s": round(time.monotonic() - started, 1), "pss_mib": pss, "rss_sum_mib": rss,
                            "programs_pss_mib": shares, "loadavg_1m": round(os.getloadavg()[0], 2)})
            if len(samples) % 12 == 1:
                print(f"  {samples[-1]['t_s']:6.0f} s: PSS {pss:7.1f} MiB (RSS sum {rss:7.1f}), "
                      f"load {samples[-1]['loadavg_1m']:.1f}", flush=True)
            time.sleep(SAMPLE_S)
        result = run.wait(timeout_s=120)
    finally:
        run.stop()
    journeys = result.journeys
    return {
        "samples": samples,
        "journeys": sum(int(j.get("total", 0)) for j in journeys.values()),
        "failed_journeys": sum(int(j.get("failure", 0)) for j in journeys.values()),
        "arrivals": result.arrivals,
        "requests": int(result.totals.get("requests", 0)),
        "problem": result.problem,
    }


def main(argv: list[str] | None = None) -> None:
    """Soak a fresh stack and print and write the memory curve and its verdict."""
    parser = argparse.ArgumentParser(prog="python -m bench soak")
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "10")))
    parser.add_argument("--rate", type=float, default=None, help="journeys/s (default: half the resilient knee)")
    args = parser.parse_args(argv or [])
    rate = args.rate if args.rate is not None else default_rate()
    m = machine()
    print(f"machine: {m['cores']} cores, load {m['loadavg_1m']:.2f} (shared: other work may run); "
          f"soak at {rate} journeys/s for {args.minutes:g} min, RSS every {SAMPLE_S:g} s", flush=True)
    offset = Topology.from_env().port_offset + 90
    with tempfile.TemporaryDirectory(prefix="slbsoak") as tmp, running_stack(
        Path(tmp) / "stack", Topology.from_env().with_offset(offset), observability=True, timeout_s=120
    ) as stack:
        record = run_soak(stack, rate, args.minutes, Path(tmp) / "load")
    verdict = judge_soak([(s["t_s"], s["pss_mib"]) for s in record["samples"]])
    verdict_rss = judge_soak([(s["t_s"], s["rss_sum_mib"]) for s in record["samples"]])
    first, last = record["samples"][0], record["samples"][-1]
    loads = [s["loadavg_1m"] for s in record["samples"]]
    path = write_result("soak", {
        "rate_per_s": rate, "minutes": args.minutes, "sample_s": SAMPLE_S,
        "rule": {"cap_mib": CAP_MIB, "flat_window_s": FLAT_WINDOW_S, "max_window_growth": MAX_WINDOW_GROWTH,
                 "flatness": "least-squares growth over the window <= max_window_growth x the window's mean",
                 "judged_on": "PSS sum of the tree (shared pages split among their sharers); RSS sum also judged"},
        "verdict": asdict(verdict), "verdict_on_rss_sum": asdict(verdict_rss), "loadavg_1m_range": [min(loads), max(loads)], **record,
    })
    print(f"{record['journeys']} journeys ({record['failed_journeys']} failed) at {rate} journeys/s; "
          f"tree PSS {first['pss_mib']:.0f} -> {last['pss_mib']:.0f} MiB, peak {verdict.peak_mib:.0f} MiB "
          f"(RSS sum {first['rss_sum_mib']:.0f} -> {last['rss_sum_mib']:.0f}, peak {verdict_rss.peak_mib:.0f}); "
          f"last {verdict.window_s:.0f} s: {verdict.window_growth_mib:+.0f} MiB ({verdict.window_growth_ratio:+.1%}) "
          f"on {m['cores']} cores, load {min(loads):.1f}-{max(loads):.1f}")
    print("PASS" if verdict.passed else "FAIL: " + "; ".join(verdict.failures))
    print("on the RSS sum: " + ("PASS" if verdict_rss.passed else "FAIL: " + "; ".join(verdict_rss.failures)))
    print(f"written to {path}")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
