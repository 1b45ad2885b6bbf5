"""Summarise the adaptive profile's two experiments from their report folders into one result JSON.

    shoplab run metastable-retry-storm --repeat 3      # full form, profiles interleaved
    shoplab run hedged-reads --repeat 3
    python -m bench.adaptive_summary REPORTS_DIR       # every report folder of the two under it

Per run and profile it records each probe's value, interval, sample count and verdict (from
``journal.json``) and, for hedged-reads, the browse journey's p95/p99 over the whole run from
Locust's merged summary (with n: the fault phase alone has too few journeys to decide a p99),
then the spread (min, median, max) of every figure across the runs and the p99 cut and extra
catalog load of ``adaptive`` against ``resilient``, run by run (each run's two profiles ran
back to back on the same machine). Writes ``bench/results/adaptive-<UTC time>.json``.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

from bench import write_result

EXPERIMENTS = ("metastable-retry-storm", "hedged-reads")


def _profile_figures(report: Path, profile: dict[str, Any]) -> dict[str, Any]:
    figures: dict[str, Any] = {
        p["label"]: {"value": p["value"], "interval": p.get("interval"), "samples": p.get("samples"),
                     "verdict": p.get("verdict")}
        for p in profile["probes"]
    }
    summary = report / "load" / f"locust-{profile['profile']}" / "summary.json"
    if summary.exists():
        browse = json.loads(summary.read_text()).get("journeys", {}).get("browse")
        if browse:
            figures["browse_whole_run"] = {k: browse[k] for k in ("total", "p95_ms", "p99_ms", "failure_ratio")}
    return {"held": profile["held"], "figures": figures}


def summarise(reports_dir: Path) -> dict[str, Any]:
    """Return every run of the two experiments under ``reports_dir`` with the spread of each figure."""
    out: dict[str, Any] = {}
    for name in EXPERIMENTS:
        runs = []
        for report in sorted(reports_dir.glob(f"*-{name}")):
            if not (report / "journal.json").exists():  # an interrupted run: no results to read
                continue
            journal = json.loads((report / "journal.json").read_text())
            runs.append({"report": report.name,
                         "profiles": {p["profile"]: _profile_figures(report, p) for p in journal["profiles"]}})
        out[name] = {"runs": runs, "spread": _spread(runs)}
    hedged = out["hedged-reads"]["runs"]
    out["hedged-reads"]["adaptive_vs_resilient"] = [_hedge_gain(run) for run in hedged]
    return out


def _spread(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    values: dict[str, list[float]] = {}
    for run in runs:
        for profile, data in run["profiles"].items():
            for label, fig in data["figures"].items():
                items = fig.items() if label == "browse_whole_run" else [("value", fig["value"])]
                for key, v in items:
                    if isinstance(v, int | float) and not isinstance(v, bool):
                        values.setdefault(f"{profile} {label} {key}", []).append(float(v))
    return {k: {"n_runs": len(v), "min": min(v), "median": statistics.median(v), "max": max(v)}
            for k, v in sorted(values.items())}


def _hedge_gain(run: dict[str, Any]) -> dict[str, Any]:
    try:
        res = run["profiles"]["resilient"]["figures"]["browse_whole_run"]["p99_ms"]
        ada = run["profiles"]["adaptive"]["figures"]["browse_whole_run"]["p99_ms"]
        amp = run["profiles"]["adaptive"]["figures"]["retry_amplification[gateway__catalog]@fault"]["value"]
    except KeyError:
        return {"report": run["report"], "complete": False}
    return {"report": run["report"], "browse_p99_ms": {"resilient": res, "adaptive": ada},
            "p99_cut": round(1 - ada / res, 3) if res else None, "extra_catalog_load": round(amp - 1, 4)}


def main(argv: list[str] | None = None) -> None:
    """Summarise the report folders under the given directory (default ``reports``)."""
    args = sys.argv[1:] if argv is None else argv
    reports_dir = Path(args[0] if args else "reports")
    path = write_result("adaptive", summarise(reports_dir))
    print(path)


if __name__ == "__main__":
    main()
