"""Interrupt shipped experiments at random moments of their fault phase; count what is left after the lease TTL.

Each run is ``shoplab run <shipped> --quick --profiles naive`` on one shared stack
(so the run switches the profile too). Once the fault phase is seen on the real
APIs, the runner gets SIGINT, SIGTERM or SIGKILL after a random delay. Leftovers
are counted through Toxiproxy's API and every service's ``/admin/faults`` and
``/admin/resilience`` (never through our lease table), and the time until none is
left is recorded. ``python -m bench interrupts`` runs the 20-run form (7 SIGINT,
7 SIGTERM, 6 SIGKILL); the e2e test runs a 3-run form on the test stack.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import write_result
from shop.topology import Topology
from shoplab import REPO_ROOT
from shoplab.runtime.stack import running_stack

# Shipped experiments whose faults are toxics, downed edges or app faults (process faults carry no lease).
SHIPPED = ("flagship", "catalog-reset-peer", "recommendations-down", "payments-503-burst", "retry-storm",
           "cart-timeout", "payments-slow", "gateway-catalog-bandwidth")
PLAN = ["SIGINT"] * 7 + ["SIGTERM"] * 7 + ["SIGKILL"] * 6
QUICK_FAULT_PHASE_S = 5.0  # the shortest quick fault phase of the shipped experiments (min_phase_s)
SLACK_S = 3.0  # the reaper's 1 s pass plus undoing a few faults on a busy machine


@dataclass
class Leftovers:
    """What is still broken, read from the real APIs."""

    toxics: int
    disabled_proxies: int
    app_faults: int
    changed_profiles: int

    @property
    def total(self) -> int:
        """Return how many things are left."""
        return self.toxics + self.disabled_proxies + self.app_faults + self.changed_profiles


def count_leftovers(toxiproxy_url: str, service_urls: dict[str, str], admin_token: str,
                    expected_profile: str = "resilient") -> Leftovers:
    """Count toxics, disabled proxies, app faults and services not in ``expected_profile``."""
    with httpx.Client(timeout=5, headers={"Authorization": f"Bearer {admin_token}"}) as http:
        proxies = http.get(f"{toxiproxy_url}/proxies").json()
        app = profiles = 0
        for url in service_urls.values():
            app += len(http.get(f"{url}/admin/faults").json().get("faults", []))
            profiles += http.get(f"{url}/admin/resilience").json().get("profile") != expected_profile
    return Leftovers(sum(len(p.get("toxics") or []) for p in proxies.values()),
                     sum(not p.get("enabled", True) for p in proxies.values()), app, profiles)


@dataclass
class InterruptResult:
    """One interrupted run: what, when, how it ended, what was left and for how long."""

    experiment: str
    signal: str
    delay_into_fault_s: float
    exit_code: int | None
    left_right_after: int
    seconds_until_clean: float | None
    left_after_ttl: dict[str, int]


def _faults_on(leftovers: Leftovers) -> bool:
    return leftovers.toxics + leftovers.disabled_proxies + leftovers.app_faults > 0


def _locust_pids(folder: Path) -> list[int]:
    pids = []
    for proc_dir in Path("/proc").iterdir():
        if proc_dir.name.isdigit():
            try:
                cmdline = (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "locust" in cmdline and str(folder) in cmdline:
                pids.append(int(proc_dir.name))
    return pids


def interrupt_run(env: dict[str, str], reports: Path, experiment: str, sig: str, rng: random.Random, *,
                  toxiproxy_url: str, service_urls: dict[str, str], admin_token: str,
                  ttl_s: float) -> InterruptResult:
    """Run one shipped experiment, signal it at a random moment of its fault phase, count what is left."""
    def left() -> Leftovers:
        return count_leftovers(toxiproxy_url, service_urls, admin_token)

    proc = subprocess.Popen([sys.executable, "-m", "shoplab", "run", experiment, "--quick", "--profiles", "naive"],
                            cwd=REPO_ROOT, env={**env, "SHOPLAB_REPORTS_DIR": str(reports)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not _faults_on(left()):  # polling the real APIs for the fault phase
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{experiment}: the fault phase never showed (exit {proc.poll()})")
            time.sleep(0.1)
        delay = rng.uniform(0.0, QUICK_FAULT_PHASE_S * 0.8)
        time.sleep(delay)
        signalled = time.monotonic()
        proc.send_signal(getattr(signal, sig))
        code = proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for pid in _locust_pids(reports):  # a killed runner cannot stop its own Locust
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    right_after = left().total
    clean_at: float | None = None
    while time.monotonic() < signalled + ttl_s + SLACK_S:
        if left().total == 0:
            clean_at = time.monotonic() - signalled
            break
        time.sleep(0.2)
    after = left()
    return InterruptResult(experiment, sig, round(delay, 2), code, right_after,
                           None if clean_at is None else round(clean_at, 2),
                           {k: v for k, v in asdict(after).items()})


def run_interrupts(env: dict[str, str], reports: Path, plan: list[str], *, seed: int, toxiproxy_url: str,
                   service_urls: dict[str, str], admin_token: str, ttl_s: float) -> list[InterruptResult]:
    """Run the plan's signals against shipped experiments in a shuffled order; return every result."""
    rng = random.Random(seed)
    signals = list(plan)
    rng.shuffle(signals)
    results = []
    for i, sig in enumerate(signals):
        experiment = SHIPPED[i % len(SHIPPED)]
        results.append(interrupt_run(env, reports / f"{i:02d}", experiment, sig, rng, toxiproxy_url=toxiproxy_url,
                                     service_urls=service_urls, admin_token=admin_token, ttl_s=ttl_s))
        print(results[-1], flush=True)
    return results


def main() -> None:
    """Run the 20 interrupted runs on a stack of their own and write the result."""
    offset = int(os.environ.get("SHOPLAB_PORT_OFFSET", "0")) + 500
    with tempfile.TemporaryDirectory(prefix="slintr") as tmp:
        with running_stack(Path(tmp) / "run", Topology(port_offset=offset), observability=False) as stack:
            env = {**os.environ, "SHOPLAB_RUN_DIR": str(stack.run_dir), "SHOPLAB_PORT_OFFSET": str(offset)}
            urls = {s: stack.service_url(s) for s in stack.topology.service_names}
            started = time.time()
            results = run_interrupts(env, Path(tmp) / "reports", PLAN, seed=17,
                                     toxiproxy_url=stack.topology.toxiproxy_url, service_urls=urls,
                                     admin_token=stack.admin_token, ttl_s=15.0)
    summary: dict[str, Any] = {
        "runs": len(results), "seed": 17, "ttl_s": 15.0, "wall_s": round(time.time() - started, 1),
        "left_after_ttl": sum(sum(r.left_after_ttl.values()) for r in results),
        "by_signal": {sig: {"runs": sum(r.signal == sig for r in results),
                            "left_right_after": [r.left_right_after for r in results if r.signal == sig],
                            "seconds_until_clean": [r.seconds_until_clean for r in results if r.signal == sig]}
                      for sig in ("SIGINT", "SIGTERM", "SIGKILL")},
        "results": [asdict(r) for r in results],
    }
    print(write_result("interrupts", summary))
