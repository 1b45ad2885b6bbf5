"""Read what a load run wrote: one sample per second while it runs, its result when it ends."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.spec import LoadSpec
from loadtests.thresholds import ThresholdCheck, evaluate_thresholds

OUTPUT_PREFIX = "locust"


@dataclass(frozen=True)
class LoadSample:
    """One second of a run: rate, failures and latency over that second; journey counts so far."""

    t: float
    rps: float
    fail_ratio: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    journeys: dict[str, dict[str, int]]
    requests: int = 0
    failures: int = 0
    users: int = 0
    arrivals: dict[str, Any] | None = None
    warming_up: bool = False  # open loop: users still spawning and signing in, no arrival due yet
    cpu_percent: float | None = None  # the busiest load process's CPU use (psutil, through Locust)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadSample:
        """Parse one line of samples.jsonl."""
        return cls(
            t=float(data["t"]),
            rps=float(data["rps"]),
            fail_ratio=float(data["fail_ratio"]),
            p50_ms=float(data["p50_ms"]),
            p95_ms=float(data["p95_ms"]),
            p99_ms=float(data["p99_ms"]),
            journeys={k: {o: int(n) for o, n in v.items()} for k, v in data.get("journeys", {}).items()},
            requests=int(data.get("requests", 0)),
            failures=int(data.get("failures", 0)),
            users=int(data.get("users", 0)),
            arrivals=data.get("arrivals"),
            warming_up=bool(data.get("warming_up", False)),
            cpu_percent=None if data.get("cpu_percent") is None else float(data["cpu_percent"]),
        )


@dataclass(frozen=True)
class LoadResult:
    """A finished run: totals, per-journey and per-route stats, threshold checks, outputs, exit code."""

    exit_code: int
    totals: dict[str, Any]
    journeys: dict[str, dict[str, float]]
    routes: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    checks: list[ThresholdCheck]
    outputs: dict[str, Path]
    duration_s: float
    arrivals: dict[str, Any] | None = None
    worker_requests: dict[str, int] = field(default_factory=dict)
    problem: str = ""

    @property
    def passed(self) -> bool:
        """Return True when every threshold held."""
        return self.exit_code == 0

    def degraded_journeys(self) -> int:
        """Return how many journeys ended degraded."""
        return sum(int(j.get("degraded", 0)) for j in self.journeys.values())

    def ended_journeys(self) -> int:
        """Return how many journeys ended (succeeded, degraded or failed) inside the run."""
        return sum(int(j.get("total", 0)) for j in self.journeys.values())

    def ended_of_scheduled(self) -> tuple[int, int] | None:
        """Return (journeys that ended, journeys the open-loop schedule started), None without a schedule.

        The difference were still running when the run stopped: no table counts them, so a
        saturated shop looks only as slow as the journeys fast enough to end.
        """
        scheduled = int((self.arrivals or {}).get("scheduled", 0))
        return (self.ended_journeys(), scheduled) if scheduled else None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able copy."""
        return {
            "exit_code": self.exit_code,
            "totals": self.totals,
            "journeys": self.journeys,
            "routes": self.routes,
            "errors": self.errors,
            "checks": [c.to_dict() for c in self.checks],
            "outputs": {k: str(v) for k, v in self.outputs.items()},
            "duration_s": self.duration_s,
            "arrivals": self.arrivals,
            "worker_requests": self.worker_requests,
            "problem": self.problem,
        }


# Exit codes: 0 every threshold held; 1 a threshold failed; 2 the run itself broke.
EXIT_OK, EXIT_THRESHOLDS, EXIT_BROKEN = 0, 1, 2


def run_outputs(out_dir: Path) -> dict[str, Path]:
    """Return the paths of every output a run writes into ``out_dir`` (some exist only after it ends)."""
    return {
        "dir": out_dir,
        "samples": out_dir / "samples.jsonl",
        "summary": out_dir / "summary.json",
        "result": out_dir / "result.json",
        "html": out_dir / f"{OUTPUT_PREFIX}.html",
        "json": out_dir / f"{OUTPUT_PREFIX}.json",
        "csv_stats": out_dir / f"{OUTPUT_PREFIX}_stats.csv",
        "csv_history": out_dir / f"{OUTPUT_PREFIX}_stats_history.csv",
        "csv_failures": out_dir / f"{OUTPUT_PREFIX}_failures.csv",
        "log_master": out_dir / "locust-master.log",
    }


def collect_result(spec: LoadSpec, out_dir: Path, *, started: float, problem: str) -> LoadResult:
    """Read a finished run's summary, judge its thresholds, write result.json; return the result."""
    summary_path = out_dir / "summary.json"
    outputs = {k: v for k, v in run_outputs(out_dir).items() if v.exists()}
    if not summary_path.exists():
        log = _tail(out_dir / "locust-master.log")
        problem = problem or "Locust wrote no summary"
        result = LoadResult(
            exit_code=EXIT_BROKEN,
            totals={},
            journeys={},
            routes=[],
            errors=[],
            checks=[],
            outputs=outputs,
            duration_s=time.monotonic() - started,
            problem=f"{problem}; master log tail:\n{log}",
        )
    else:
        summary = json.loads(summary_path.read_text())
        totals = summary["totals"]
        checks = evaluate_thresholds(
            spec.thresholds,
            requests=int(totals["requests"]),
            failures=int(totals["failures"]),
            journeys=summary["journeys"],
        )
        code = EXIT_OK if all(c.passed for c in checks) else EXIT_THRESHOLDS
        if problem:
            code = EXIT_BROKEN
        result = LoadResult(
            exit_code=code,
            totals=totals,
            journeys=summary["journeys"],
            routes=summary["routes"],
            errors=summary["errors"],
            checks=checks,
            outputs=outputs,
            duration_s=float(summary["duration_s"]),
            arrivals=summary.get("arrivals"),
            worker_requests=summary.get("worker_requests", {}),
            problem=problem,
        )
    (out_dir / "result.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
    result.outputs["result"] = out_dir / "result.json"
    return result


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
