"""Start a Locust run as its own processes and read it per second (the experiment runner's API).

Usage::

    run = start_load(LoadSpec(host=gateway_url, shape="steady", users=10, duration_s=60), out_dir=path)
    run.latest()          # LoadSample | None, refreshed every second
    result = run.wait(timeout_s=120)
    run.stop()            # idempotent; always kills the Locust processes

Never imports locust: Locust monkey-patches gevent, so it runs in child processes
(``python -m locust -f loadtests/locustfile.py``), a master plus K workers when
``workers > 0``. The master writes ``samples.jsonl`` (one JSON line per second) and
``summary.json`` (after the run) into ``out_dir``; this module tails and parses them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.errors import LoadTestError
from loadtests.settings import LoadSettings
from loadtests.shapes import ShapeParams, get_profile
from loadtests.thresholds import ThresholdCheck, Thresholds, evaluate_thresholds

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
OUTPUT_PREFIX = "locust"
# Locust needs a moment to start, spawn, stop and write its reports after the shape ends.
STARTUP_ALLOWANCE_S = 30.0


class LoadError(LoadTestError, RuntimeError):
    """A load run could not start or produced no results; the message says why."""


@dataclass(frozen=True)
class LoadSpec:
    """What to run: where, which shape, how many users for how long, open loop or not."""

    host: str
    shape: str = "steady"
    users: int = 10
    spawn_rate: float = 10.0
    duration_s: float = 60.0
    workers: int = 0
    rate_per_s: float | None = None
    seed: int = 1
    think_scale: float = 1.0
    order_timeout_s: float = 30.0
    steps: int = 5
    user_classes: tuple[str, ...] = ()
    buyer_mix: str = ""
    thresholds: Thresholds = field(default_factory=Thresholds)

    def validate(self) -> None:
        """Raise LoadError when the spec cannot run (bad shape, non-local host, bad counts)."""
        try:
            get_profile(self.shape, ShapeParams(self.users, self.spawn_rate, self.duration_s))
        except ValueError as exc:
            raise LoadError(str(exc)) from exc
        if self.workers < 0:
            raise LoadError(f"workers must be >= 0, got {self.workers}")
        if self.rate_per_s is not None and self.rate_per_s <= 0:
            raise LoadError(f"rate_per_s must be positive, got {self.rate_per_s}")
        try:
            self.settings(Path(".")).buyer_weights()
        except ValueError as exc:
            raise LoadError(str(exc)) from exc
        if not (self.host.startswith("http://127.0.0.1") or self.host.startswith("http://localhost")):
            # load only ever goes to this machine
            raise LoadError(f"load goes to 127.0.0.1 only, got host {self.host!r}")

    def settings(self, out_dir: Path) -> LoadSettings:
        """Return the settings the Locust processes read from the environment."""
        return LoadSettings(
            shape=self.shape,
            users=self.users,
            spawn_rate=self.spawn_rate,
            duration_s=self.duration_s,
            rate_per_s=self.rate_per_s,
            workers=self.workers,
            seed=self.seed,
            think_scale=self.think_scale,
            order_timeout_s=self.order_timeout_s,
            steps=self.steps,
            buyer_mix=self.buyer_mix,
            out_dir=str(out_dir),
        )


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


class LoadRun:
    """A running load test: Locust master (or one local process) plus workers."""

    def __init__(self, spec: LoadSpec, out_dir: Path, processes: list[subprocess.Popen[bytes]]) -> None:
        self.spec = spec
        self.out_dir = out_dir
        self.processes = processes
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._samples: list[LoadSample] = []
        self._offset = 0
        self._partial = b""
        self._result: LoadResult | None = None
        self._stopped = False

    @property
    def samples_path(self) -> Path:
        """Return the per-second samples file."""
        return self.out_dir / "samples.jsonl"

    def _refresh(self) -> None:
        with self._lock:
            try:
                with self.samples_path.open("rb") as fh:
                    fh.seek(self._offset)
                    chunk = fh.read()
            except FileNotFoundError:
                return
            if len(chunk) == 0:
                return
            self._offset += len(chunk)
            data = self._partial + chunk
            *lines, self._partial = data.split(b"\n")
            for line in lines:
                if line.strip():
                    self._samples.append(LoadSample.from_dict(json.loads(line)))

    def latest(self) -> LoadSample | None:
        """Return the newest per-second sample, or None before the first one."""
        self._refresh()
        with self._lock:
            return self._samples[-1] if self._samples else None

    def samples(self) -> list[LoadSample]:
        """Return every per-second sample so far."""
        self._refresh()
        with self._lock:
            return list(self._samples)

    def is_running(self) -> bool:
        """Return True while the master (or local) process runs."""
        return self.processes[0].poll() is None

    def wait(self, timeout_s: float | None = None) -> LoadResult:
        """Wait up to ``timeout_s`` from now for the run to end by itself (then stop it) and return its result."""
        if self._result is not None:
            return self._result
        if timeout_s is None:
            remaining = self.spec.duration_s + STARTUP_ALLOWANCE_S + 60.0 - (time.monotonic() - self.started)
            timeout_s = max(remaining, 10.0)
        problem = ""
        try:
            self.processes[0].wait(timeout=max(0.0, timeout_s))
        except subprocess.TimeoutExpired:
            problem = f"the run did not end within {timeout_s:.0f} s and was stopped"
        self.stop()
        self._result = self._collect(problem)
        return self._result

    def stop(self) -> None:
        """Stop every Locust process (SIGTERM lets Locust write its reports; SIGKILL after 10 s). Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        # master first: it tells the workers to quit and collects their final reports
        for proc in self.processes:
            _terminate(proc, grace_s=10.0)
        for proc in self.processes:
            if proc.poll() is None:
                _kill_group(proc)

    def outputs(self) -> dict[str, Path]:
        """Return the paths of every output this run writes (some exist only after it ends)."""
        out = self.out_dir
        return {
            "dir": out,
            "samples": out / "samples.jsonl",
            "summary": out / "summary.json",
            "result": out / "result.json",
            "html": out / f"{OUTPUT_PREFIX}.html",
            "json": out / f"{OUTPUT_PREFIX}.json",
            "csv_stats": out / f"{OUTPUT_PREFIX}_stats.csv",
            "csv_history": out / f"{OUTPUT_PREFIX}_stats_history.csv",
            "csv_failures": out / f"{OUTPUT_PREFIX}_failures.csv",
            "log_master": out / "locust-master.log",
        }

    def _collect(self, problem: str) -> LoadResult:
        summary_path = self.out_dir / "summary.json"
        outputs = {k: v for k, v in self.outputs().items() if v.exists()}
        if not summary_path.exists():
            log = _tail(self.out_dir / "locust-master.log")
            problem = problem or "Locust wrote no summary"
            result = LoadResult(
                exit_code=EXIT_BROKEN,
                totals={},
                journeys={},
                routes=[],
                errors=[],
                checks=[],
                outputs=outputs,
                duration_s=time.monotonic() - self.started,
                problem=f"{problem}; master log tail:\n{log}",
            )
        else:
            summary = json.loads(summary_path.read_text())
            totals = summary["totals"]
            checks = evaluate_thresholds(
                self.spec.thresholds,
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
        (self.out_dir / "result.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
        result.outputs["result"] = self.out_dir / "result.json"
        return result


def _terminate(proc: subprocess.Popen[bytes], *, grace_s: float) -> None:
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=grace_s)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        _kill_group(proc)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # each Locust process leads its own session: kill exactly that group
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        pass


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def locust_command(spec: LoadSpec, out_dir: Path, *, role: str, master_port: int) -> list[str]:
    """Return the argv of one Locust process (``local``, ``master`` or ``worker``)."""
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--loglevel", "INFO"]
    if role == "worker":
        cmd += ["--worker", "--master-host", "127.0.0.1", "--master-port", str(master_port)]
        return cmd + list(spec.user_classes)
    cmd += [
        "--headless",
        "--host",
        spec.host,
        "--csv",
        str(out_dir / OUTPUT_PREFIX),
        "--csv-full-history",
        "--html",
        str(out_dir / f"{OUTPUT_PREFIX}.html"),
        "--only-summary",
        "--exit-code-on-error",
        "0",
        "--stop-timeout",
        "0",
    ]
    if role == "master":
        cmd += [
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            str(master_port),
            "--expect-workers",
            str(spec.workers),
            "--expect-workers-max-wait",
            "60",
        ]
    return cmd + list(spec.user_classes)


def start_load(spec: LoadSpec, out_dir: Path) -> LoadRun:
    """Validate ``spec``, start Locust (a local process, or a master and ``spec.workers`` workers) and return the run."""
    spec.validate()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("samples.jsonl", "summary.json", "result.json"):
        (out_dir / stale).unlink(missing_ok=True)
    repo_root = str(LOCUSTFILE.parent.parent)
    pythonpath = os.pathsep.join(p for p in (repo_root, os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, **spec.settings(out_dir).to_env(), "PYTHONUNBUFFERED": "1", "PYTHONPATH": pythonpath}
    master_port = free_port() if spec.workers else 0
    processes: list[subprocess.Popen[bytes]] = []
    roles = ["master" if spec.workers else "local"] + ["worker"] * spec.workers
    try:
        for i, role in enumerate(roles):
            log_name = "locust-master.log" if i == 0 else f"locust-worker-{i}.log"
            with (out_dir / log_name).open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        locust_command(spec, out_dir, role=role, master_port=master_port),
                        env=env,
                        cwd=repo_root,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
    except OSError as exc:
        for proc in processes:
            _kill_group(proc)
        raise LoadError(f"could not start Locust: {exc}") from exc
    return LoadRun(spec, out_dir, processes)
