"""The shoplab locustfile: shopper users, the shape named by ``SHOPLAB_LOAD_SHAPE``, per-second samples.

Run by ``loadtests.api.start_load`` (never imported by the CLI process: locust
monkey-patches gevent). The master (or the single local process) writes
``samples.jsonl`` (one line per second), ``raw.jsonl`` (every journey's outcome and
latency, bucketed per second of intended start: ``loadtests.raw_samples``) and, after
the run, ``summary.json`` into ``SHOPLAB_LOAD_OUT_DIR``; workers ship their journey
tallies, raw-sample deltas and arrival counters to the master with every stats report.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import gevent
import locust.runners
from locust import events
from locust.runners import STATE_INIT, MasterRunner, WorkerRunner

from loadtests.arrivals import ArrivalSchedule, ArrivalStats
from loadtests.journeys import BrowsingShopper, BuyingShopper, LoadState
from loadtests.locust_shapes import get_shape_class
from loadtests.outcomes import JourneyTally
from loadtests.sampling import Snapshot, make_sample
from loadtests.settings import LoadSettings

__all__ = ["BrowsingShopper", "BuyingShopper", "SelectedShape"]

# Workers report every 3 s by default; the experiment runner reads one sample per second.
locust.runners.WORKER_REPORT_INTERVAL = 1.0

# Locust takes the first LoadTestShape it finds in this module: bind only the selected one.
SelectedShape = get_shape_class(os.environ.get("SHOPLAB_LOAD_SHAPE", "steady") or "steady")

# A run always ends by itself: past duration + this grace, the process terminates itself.
HARD_STOP_GRACE_S = 60.0
# Open loop: the longest warm-up (users spawned and signed in) before arrivals start anyway, and a pause after it.
WARMUP_CAP_S = 120.0
WARMUP_SETTLE_S = 0.5


@events.init.add_listener
def on_init(environment: Any, **_kw: Any) -> None:
    """Attach the per-process state and the watchdog; wire worker→master journey reports."""
    settings = LoadSettings.from_env()
    state = LoadState(settings=settings)
    environment.shoplab = state
    environment.shoplab_arrivals = ArrivalStats()
    environment.shoplab_started = None
    environment.shoplab_worker_requests = {}
    environment.shoplab_raw_lines = []  # the workers' raw-sample lines not yet written
    environment.shoplab_warm = {}  # master: each worker's warm-up done?
    gevent.spawn(_watchdog, settings, os.getppid())

    runner = environment.runner
    if isinstance(runner, WorkerRunner):

        @events.report_to_master.add_listener
        def on_report(client_id: str, data: dict[str, Any], **_kw2: Any) -> None:
            # ship deltas and start afresh, as Locust does with its own request stats
            data["shoplab"] = {"tally": state.tally.to_dict(), "arrivals": _take_arrivals(state),
                               "raw": state.raw.take(), "warm": state.warm.is_set()}
            state.tally = JourneyTally()

    if isinstance(runner, MasterRunner):

        @events.worker_report.add_listener
        def on_worker_report(client_id: str, data: dict[str, Any], **_kw2: Any) -> None:
            # per-worker request counts let a run show that every worker contributed
            delta = int((data.get("stats_total") or {}).get("num_requests", 0))
            counts = environment.shoplab_worker_requests
            counts[client_id] = counts.get(client_id, 0) + delta
            extra = data.get("shoplab")
            if extra:
                state.tally.merge(extra["tally"])
                environment.shoplab_arrivals.merge(extra["arrivals"])
                environment.shoplab_raw_lines.extend(extra.get("raw") or ())
                environment.shoplab_warm[client_id] = bool(extra.get("warm"))

    if not isinstance(runner, WorkerRunner):
        # A headless shape run installs Locust's own SIGTERM handler only after the shape
        # ends, so until then SIGTERM would kill this process without any report.
        gevent.signal_handler(signal.SIGTERM, _stop_gracefully, environment)
        out_dir = Path(settings.out_dir or ".")
        out_dir.mkdir(parents=True, exist_ok=True)
        sampler = _Sampler(environment, out_dir)
        environment.shoplab_sampler = sampler

        @events.quit.add_listener
        def on_quit(exit_code: int, **_kw2: Any) -> None:
            sampler.finish(exit_code)


def _take_arrivals(state: LoadState) -> dict[str, Any]:
    if state.schedule is None:
        return {}
    stats = state.schedule.stats
    state.schedule.stats = ArrivalStats()
    return stats.to_dict()


@events.test_start.add_listener
def on_test_start(environment: Any, **_kw: Any) -> None:
    """Start the open-loop schedule in user processes and the sampler in the master."""
    state: LoadState = environment.shoplab
    runner = environment.runner
    environment.shoplab_started = time.monotonic()
    if state.settings.rate_per_s and not isinstance(runner, MasterRunner):
        processes = max(1, state.settings.workers)
        index = getattr(runner, "worker_index", 0) if isinstance(runner, WorkerRunner) else 0
        index = max(0, index)
        state.schedule = ArrivalSchedule(
            rate_per_s=state.settings.rate_per_s / processes,
            start=time.monotonic() + WARMUP_CAP_S,  # moved to the end of the warm-up by _warm_up
            # interleave the workers' arrivals instead of bunching them
            offset_s=index / state.settings.rate_per_s,
        )
        expected = state.settings.users if not isinstance(runner, WorkerRunner) else state.settings.users // processes
        gevent.spawn(_warm_up, state, max(1, expected))
    else:
        state.warm.set()  # closed loop: no warm-up
    sampler = getattr(environment, "shoplab_sampler", None)
    if sampler is not None:
        sampler.start()


def _warm_up(state: LoadState, expected_users: int) -> None:
    """Start the open-loop schedule once this process's users are spawned and signed in (bounded wait)."""
    deadline = time.monotonic() + WARMUP_CAP_S
    while state.ready_users < expected_users and time.monotonic() < deadline:
        gevent.sleep(0.1)
    gevent.sleep(WARMUP_SETTLE_S)  # a last user of an uneven share across workers, and the shop's queues drain
    assert state.schedule is not None
    state.schedule.start = time.monotonic()
    state.warm.set()


@events.test_stopping.add_listener
def on_test_stopping(environment: Any, **_kw: Any) -> None:
    """Count arrivals that came due but found no free user as dropped."""
    schedule = environment.shoplab.schedule
    if schedule is not None:
        schedule.account_until(time.monotonic())


def _stop_gracefully(environment: Any) -> None:
    """End the shape early: Locust then stops the users, quits the workers and writes its reports."""
    runner = environment.runner
    if runner.shape_greenlet is not None:
        gevent.spawn(runner.stop)
        return
    if runner.state == STATE_INIT:
        # no test under way (e.g. still waiting for workers): nothing to report, exit now
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    # otherwise the run is already ending and Locust's own SIGTERM handler shuts it down


def _watchdog(settings: LoadSettings, parent_pid: int) -> None:
    """Terminate this process if its launcher died or the run overstayed (bounded load)."""
    deadline = time.monotonic() + settings.duration_s + HARD_STOP_GRACE_S + 120.0
    while True:
        gevent.sleep(1.0)
        if os.getppid() != parent_pid or time.monotonic() > deadline:
            os.kill(os.getpid(), signal.SIGTERM)
            return


class _Sampler:
    """Write one sample per second to samples.jsonl and the final summary.json (master/local only)."""

    def __init__(self, environment: Any, out_dir: Path) -> None:
        self.environment = environment
        self.out_dir = out_dir
        self.samples_path = out_dir / "samples.jsonl"
        self.raw_path = out_dir / "raw.jsonl"
        self.previous: Snapshot | None = None
        self.started: float | None = None
        self.greenlet: gevent.Greenlet | None = None
        self.finished = False

    def start(self) -> None:
        """Begin sampling (idempotent)."""
        if self.greenlet is not None:
            return
        self.started = time.monotonic()
        self.samples_path.write_text("")
        self.raw_path.write_text("")
        self.greenlet = gevent.spawn(self._loop)

    def _loop(self) -> None:
        while True:
            gevent.sleep(1.0)
            self.write_sample()

    def snapshot(self) -> Snapshot:
        """Read the cumulative stats now."""
        env = self.environment
        total = env.runner.stats.total
        state: LoadState = env.shoplab
        arrivals: dict[str, Any] | None = None
        if state.settings.rate_per_s:
            merged = ArrivalStats()
            merged.merge(env.shoplab_arrivals.to_dict())
            if state.schedule is not None:
                merged.merge(state.schedule.stats.to_dict())
            arrivals = merged.to_dict()
        return Snapshot(
            t=time.monotonic() - (self.started or time.monotonic()),
            requests=total.num_requests,
            failures=total.num_failures,
            histogram=dict(total.response_times),
            journeys=state.tally.counts,
            users=env.runner.user_count,
            arrivals=arrivals,
        )

    def write_sample(self) -> None:
        """Append one sample line."""
        current = self.snapshot()
        sample = make_sample(self.previous, current)
        state: LoadState = self.environment.shoplab
        sample["cpu_percent"] = _generator_cpu(self.environment.runner)
        if state.settings.rate_per_s:
            # the runner starts its phases once the warm-up is over (no arrival is due before then)
            warm = self.environment.shoplab_warm
            sample["warming_up"] = (not warm or not all(warm.values())) if state.schedule is None \
                else not state.warm.is_set()
        self.previous = current
        with self.samples_path.open("a") as fh:
            fh.write(json.dumps(sample) + "\n")
        self.write_raw()

    def write_raw(self) -> None:
        """Append the raw-sample lines that arrived since the last call (this process's and the workers')."""
        env = self.environment
        lines = [*env.shoplab_raw_lines, *env.shoplab.raw.take()]
        env.shoplab_raw_lines = []
        if lines:
            with self.raw_path.open("a") as fh:
                fh.writelines(json.dumps(line) + "\n" for line in lines)

    def finish(self, exit_code: int) -> None:
        """Write the last sample and summary.json."""
        if self.finished:
            return
        self.finished = True
        if self.greenlet is not None:
            self.greenlet.kill(block=False)
            self.write_sample()
        else:
            self.write_raw()
        env = self.environment
        stats = env.runner.stats
        state: LoadState = env.shoplab
        last = self.previous
        summary = {
            "settings": vars(state.settings),
            "locust_exit_code": exit_code,
            "duration_s": round(last.t, 3) if last else 0.0,
            "totals": _entry_dict(stats.total, last.t if last else 0.0),
            "routes": [
                _entry_dict(e, last.t if last else 0.0)
                for e in sorted(stats.entries.values(), key=lambda e: (e.name, e.method))
            ],
            "errors": [
                {"method": e.method, "name": e.name, "error": str(e.error), "occurrences": e.occurrences}
                for e in stats.errors.values()
            ],
            "journeys": state.tally.summary(),
            "journey_tally": state.tally.to_dict(),
            "arrivals": last.arrivals if last else None,
            "worker_requests": dict(getattr(env, "shoplab_worker_requests", {})),
        }
        # Locust's own --json-file serializes through get_stripped_report(), which resets every
        # entry (it is meant for worker reports) and would zero the routes above; write it here instead.
        entries = [e.serialize() for e in stats.entries.values() if e.num_requests or e.num_failures]
        (self.out_dir / "locust.json").write_text(json.dumps(entries, indent=2, default=str))
        tmp = self.out_dir / "summary.json.tmp"
        tmp.write_text(json.dumps(summary, indent=2, default=str))
        tmp.replace(self.out_dir / "summary.json")


def _generator_cpu(runner: Any) -> float:
    """Return the busiest load process's CPU use in percent (Locust measures it with psutil)."""
    usage = [float(getattr(runner, "current_cpu_usage", 0.0) or 0.0)]
    if isinstance(runner, MasterRunner):
        usage += [float(c.cpu_usage or 0.0) for c in runner.clients.values()]
    return round(max(usage), 1)


def _entry_dict(entry: Any, duration_s: float) -> dict[str, Any]:
    requests = entry.num_requests
    return {
        "method": entry.method or "",
        "name": entry.name,
        "requests": requests,
        "failures": entry.num_failures,
        "fail_ratio": round(entry.num_failures / requests, 4) if requests else 0.0,
        "rps": round(requests / duration_s, 3) if duration_s > 0 else 0.0,
        "avg_ms": round(entry.avg_response_time, 2),
        "p50_ms": entry.get_response_time_percentile(0.50) if requests else 0,
        "p95_ms": entry.get_response_time_percentile(0.95) if requests else 0,
        "p99_ms": entry.get_response_time_percentile(0.99) if requests else 0,
        "max_ms": round(entry.max_response_time or 0, 2),
    }
