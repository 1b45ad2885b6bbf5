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
from pathlib import Path

from loadtests.errors import LoadError
from loadtests.results import (
    EXIT_BROKEN,
    EXIT_OK,
    EXIT_THRESHOLDS,
    OUTPUT_PREFIX,
    LoadResult,
    LoadSample,
    collect_result,
    run_outputs,
)
from loadtests.spec import LoadSpec

# The runner's whole API in one import; the parts live in spec.py, results.py and errors.py.
__all__ = [
    "EXIT_BROKEN", "EXIT_OK", "EXIT_THRESHOLDS", "LoadError", "LoadResult", "LoadRun", "LoadSample", "LoadSpec",
    "free_port", "locust_command", "start_load",
]

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# Locust needs a moment to start, spawn, stop and write its reports after the shape ends.
STARTUP_ALLOWANCE_S = 30.0


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
        self._result = collect_result(self.spec, self.out_dir, started=self.started, problem=problem)
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
        return run_outputs(self.out_dir)

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
    for stale in ("samples.jsonl", "raw.jsonl", "summary.json", "result.json"):
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
