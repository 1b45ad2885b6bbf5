"""Summarise the adaptive profile's two experiments from their report folders into one result JSON.

    shoplab run metastable-retry-storm --repeat 3      # full form, profiles interleaved
    shoplab run hedged-reads --repeat 3
    python -m bench.adaptive_summary REPORTS_DIR [HEDGE_LOG]   # every report folder of the two under it

Per run and profile it records each probe's value, interval, sample count and verdict (from
``journal.json``). For hedged-reads it adds, run by run (each run's two profiles ran back to
back on the same machine):

- the product page's p99 in the fault phase (the gateway request ``GET /api/v1/products/[id]``,
  one catalog read per page plus the recommendations it shows) and the browse journey's, each
  from every raw sample of the phase with its 95% order-statistic interval and n, and the cut
  ``1 - adaptive / resilient`` with its interval (``chaos.tails``, written into the journal by
  the run), judged against the issue's bar of a 40% cut;
- the extra catalog load: attempts / requests - 1 over the fault phase on every edge into
  catalog (the gateway's reads, and recommendations' and cart's), and on all of them together,
  from the per-second edge counters in ``samples.jsonl``;

- with ``HEDGE_LOG`` (lines ``<epoch s> <service> <a shoplab_hedges_total sample line>``, the
  services' ``/metrics`` read every few seconds during the runs, with ``<epoch s> loadavg <1m>
  <5m> <15m>`` lines beside them), each profile's hedges sent, won and skipped (no budget
  token) on every edge into catalog over the fault phase, and the load average in it. The
  committed ``bench/results/hedged-reads-repeat3-*.hedges.log.gz`` came from a loop like::

      while sleep 5; do t=$(date +%s); echo "$t loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
        for s in gateway:9580 recommendations:9587 cart:9583; do      # ports + SHOPLAB_PORT_OFFSET
          curl -s http://127.0.0.1:${s#*:}/metrics | grep '^shoplab_hedges_total' | sed "s/^/$t ${s%:*} /"
        done; done >> hedges.log

then the spread (min, median, max) of every figure across the runs. Writes
``bench/results/adaptive-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from bench import write_result

EXPERIMENTS = ("metastable-retry-storm", "hedged-reads")
PRODUCT_PAGE = "GET /api/v1/products/[id]"
CUT_BAR = 0.40  # the issue: hedging cuts the product page's p99 by at least 40%
LOAD_BAR = 0.05  # ... at the cost of at most 5% extra catalog load
FAULT_PHASE = "fault"


def _profile_figures(profile: dict[str, Any]) -> dict[str, Any]:
    figures: dict[str, Any] = {
        p["label"]: {"value": p["value"], "interval": [p.get("low"), p.get("high")], "samples": p.get("samples"),
                     "verdict": p.get("verdict")}
        for p in profile["probes"]
    }
    return {"held": profile["held"], "figures": figures}


def summarise(reports_dir: Path, hedge_log: Path | None = None) -> dict[str, Any]:
    """Return every run of the two experiments under ``reports_dir`` with the spread of each figure."""
    out: dict[str, Any] = {}
    for name in EXPERIMENTS:
        runs = []
        for report in sorted(reports_dir.glob(f"*-{name}")):
            if not (report / "journal.json").exists():  # an interrupted run: no results to read
                continue
            journal = json.loads((report / "journal.json").read_text())
            run: dict[str, Any] = {"report": report.name, "started_at": journal.get("started_at"),
                                   "profiles": {p["profile"]: _profile_figures(p) for p in journal["profiles"]}}
            if name == "hedged-reads":
                run["hedging"] = hedge_gain(journal, report / "samples.jsonl")
                if hedge_log is not None:
                    run["hedging"]["hedges_into_catalog"] = hedge_counts(hedge_log, journal)
            runs.append(run)
        out[name] = {"runs": runs, "spread": _spread(runs)}
    out["hedged-reads"]["hedging_spread"] = _hedging_spread(out["hedged-reads"]["runs"])
    return out


def _spread(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    values: dict[str, list[float]] = {}
    for run in runs:
        for profile, data in run["profiles"].items():
            for label, fig in data["figures"].items():
                v = fig["value"]
                if isinstance(v, int | float) and not isinstance(v, bool):
                    values.setdefault(f"{profile} {label}", []).append(float(v))
    return {k: _min_median_max(v) for k, v in sorted(values.items())}


def _min_median_max(values: list[float]) -> dict[str, Any]:
    return {"n_runs": len(values), "min": min(values), "median": statistics.median(values), "max": max(values)}


def _tail(journal: dict[str, Any], name: str) -> dict[str, Any] | None:
    row = next((t for t in journal.get("tails", []) if t["phase"] == FAULT_PHASE and t["name"] == name), None)
    if row is None:
        return None
    low, high = row["cut_interval"]
    verdict = "met" if low is not None and low >= CUT_BAR else (
        "not met" if high is not None and high < CUT_BAR else "inconclusive")
    return {**row, f"cut_at_least_{CUT_BAR:g}": verdict}


def extra_catalog_load(samples_path: Path, profile: str, phase: str = FAULT_PHASE) -> dict[str, Any]:
    """Return attempts / requests - 1 over ``phase`` on each edge into catalog and on all of them, with counts."""
    if not samples_path.exists():
        return {}
    lines = [json.loads(line) for line in samples_path.read_text().splitlines() if line.strip()]
    mine = [s for s in lines if s["profile"] == profile]
    first = next((i for i, s in enumerate(mine) if s["phase"] == phase), None)
    last = max((i for i, s in enumerate(mine) if s["phase"] == phase), default=None)
    if first is None or last is None:
        return {}
    before, end = mine[max(0, first - 1)]["edges"], mine[last]["edges"]
    out: dict[str, Any] = {}
    total_req = total_att = 0.0
    for edge in sorted(e for e in end if e.endswith("__catalog") and e in before):
        d_req = end[edge]["requests"] - before[edge]["requests"]
        d_att = end[edge]["attempts"] - before[edge]["attempts"]
        if d_req > 0:
            out[edge] = {"requests": d_req, "attempts": d_att, "extra": round(d_att / d_req - 1, 4)}
            total_req, total_att = total_req + d_req, total_att + d_att
    if total_req:
        out["all_catalog"] = {"requests": total_req, "attempts": total_att,
                              "extra": round(total_att / total_req - 1, 4)}
    return out


def hedge_gain(journal: dict[str, Any], samples_path: Path) -> dict[str, Any]:
    """Return one run's p99 cut (product page, browse journey) and each profile's extra catalog load."""
    load = {p["profile"]: extra_catalog_load(samples_path, p["profile"]) for p in journal["profiles"]}
    adaptive = load.get("adaptive", {}).get("all_catalog")
    return {
        "product_page_p99": _tail(journal, PRODUCT_PAGE),
        "browse_p99": _tail(journal, "browse"),
        "extra_catalog_load": load,
        f"adaptive_extra_load_at_most_{LOAD_BAR:g}": None if adaptive is None else adaptive["extra"] <= LOAD_BAR,
    }


def hedge_counts(log: Path, journal: dict[str, Any], phase: str = FAULT_PHASE) -> dict[str, dict[str, float]]:
    """Return each profile's hedges into catalog over ``phase``: ``{profile: {"<caller> <result>": count}}``,
    with the machine's 1-minute load average at its lowest and highest in the phase when the log has it.

    Counters are cumulative: a phase's count is the last reading at or before its end minus the
    last at or before its start (the log reads every few seconds, so the edges blur by that much).
    """
    readings: list[tuple[float, str, float]] = []
    loads: list[tuple[float, float]] = []  # (epoch s, 1-minute load average) from ``<epoch> loadavg 1m 5m 15m`` lines
    for line in log.read_text().splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] == "loadavg":
            loads.append((float(parts[0]), float(parts[2].split()[0])))
        if len(parts) == 3 and parts[2].startswith("shoplab_hedges_total{") and 'dependency="catalog"' in parts[2]:
            labels, value = parts[2].rsplit(" ", 1)
            caller = labels.split('caller="', 1)[1].split('"', 1)[0]
            result = labels.split('result="', 1)[1].split('"', 1)[0]
            readings.append((float(parts[0]), f"{caller} {result}", float(value)))

    def at(t: float) -> dict[str, float]:
        seen: dict[str, float] = {}
        for when, key, value in readings:
            if when <= t:
                seen[key] = value
        return seen

    out: dict[str, dict[str, float]] = {}
    for profile in journal["profiles"]:
        window = next((w for w in profile["phases"] if w["name"] == phase), None)
        t0 = profile.get("wall_t0")
        if window is None or not t0:
            continue
        start, end = at(t0 + window["start_s"]), at(t0 + window["end_s"])
        out[profile["profile"]] = {k: v - start.get(k, 0.0) for k, v in sorted(end.items())}
        during = [la for when, la in loads if t0 + window["start_s"] <= when <= t0 + window["end_s"]]
        if during:
            out[profile["profile"]].update({"loadavg_1m min": min(during), "loadavg_1m max": max(during)})
    return out


def _hedging_spread(runs: list[dict[str, Any]]) -> dict[str, Any]:
    series: dict[str, list[float]] = {}
    for run in runs:
        gain = run.get("hedging", {})
        for label in ("product_page_p99", "browse_p99"):
            row = gain.get(label) or {}
            for key in ("resilient", "adaptive"):
                if row.get(key, {}).get("ms") is not None:
                    series.setdefault(f"{label} {key} ms", []).append(row[key]["ms"])
            if row.get("cut") is not None:
                series.setdefault(f"{label} cut", []).append(row["cut"])
        for profile, edges in gain.get("extra_catalog_load", {}).items():
            for edge, fig in edges.items():
                series.setdefault(f"{profile} extra load {edge}", []).append(fig["extra"])
        for profile, counts in gain.get("hedges_into_catalog", {}).items():
            for key, count in counts.items():
                series.setdefault(f"{profile} hedges {key}", []).append(count)
    return {k: _min_median_max(v) for k, v in sorted(series.items())}


def main(argv: list[str] | None = None) -> None:
    """Summarise the report folders under the given directory (default ``reports``)."""
    parser = argparse.ArgumentParser(prog="python -m bench.adaptive_summary",
                                     description="Summarise hedged-reads / metastable-retry-storm report folders.")
    parser.add_argument("reports_dir", nargs="?", type=Path, default=Path("reports"),
                        help="the folder holding the report folders (default: reports)")
    parser.add_argument("hedge_log", nargs="?", type=Path, default=None,
                        help="the hedge counters sampled during the runs (optional)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not args.reports_dir.is_dir():
        parser.error(f"no such folder: {args.reports_dir}")
    print(write_result("adaptive", summarise(args.reports_dir, args.hedge_log)))


if __name__ == "__main__":
    main()
