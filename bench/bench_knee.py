"""The shop's knee: the highest open-loop journey rate it serves within the SLO, per resilience profile.

``python -m bench knee`` starts its own native stack (port offset ``SHOPLAB_PORT_OFFSET`` + 80,
full instrumentation: Prometheus and Jaeger on) once per profile and ramps the default
journey mix in open loop (``shoplab load --rate R``), one Locust run of ``KNEE_STEP_S``
seconds per step, each rate ``KNEE_FACTOR`` times the last, until a step breaks the SLO:

- journey failure ratio over 1%, or
- a journey's p95 over its limit in ``loadtests/thresholds.example.yaml`` (browse 1.5 s,
  checkout 6 s), or
- fewer than 95% of the scheduled journeys starting on time (the shop is holding every user), or
- the share of scheduled journeys that ended inside the step falling under 95% of what it was at
  the ramp's first step (journeys piling up unfinished). Without this clause a saturated shop
  "held": only the journeys fast enough to end inside the step were judged, so the p95 and the
  failure ratio of the ones that did not finish were never seen (a quiet run "held" 44.7
  journeys/s while 37 % of the arrivals were still running at the step's end, against 25 % at 6/s).

Request p95 is recorded, not judged: sign-up and log-in are argon2 hashes (hundreds of ms
on a busy core by design) and make up enough of the mix to set it alone.

The knee is the last rate that held. ``python -m bench.bench_knee compare OLD_URL NEW_URL``
ramps two running gateways step by step, interleaved, and records both.
``python -m bench knee --before af5c0b6`` does the whole before/after in one run: it checks
the old commit out beside this one (a git worktree in a temporary folder), starts its stack
with its own code (offset + 50) and this code's stack (offset + 65), both fully
instrumented, ramps them interleaved ``KNEE_REPEATS`` times, then stops both and removes
the worktree. Environment: ``KNEE_PROFILES`` (comma-separated, default
``resilient,naive``), ``KNEE_START`` (journeys/s, default 6), ``KNEE_FACTOR`` (1.25),
``KNEE_STEP_S`` (20), ``KNEE_MAX_STEPS`` (10), ``KNEE_REPEATS`` (compare only, default 1).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import machine, write_result
from loadtests.api import LoadResult, LoadSpec, start_load
from loadtests.thresholds import Thresholds
from shop.kit.public_api import LEGACY_PREFIX, V1_PREFIX
from shop.topology import Topology
from shoplab.runtime.stack import running_stack

MAX_JOURNEY_FAILURE_RATIO = 0.01
JOURNEY_P95_MS = {"browse": 1500.0, "checkout": 6000.0}
MIN_ON_TIME_RATIO = 0.95
# A step's share of scheduled journeys that ended inside it, against the first step's (0.74-0.75 on
# every healthy step of the quiet runs: journeys begun in a step's last seconds are still running).
MIN_COMPLETION_KEPT = 0.95
# The before/after comparison walks the API both shops answer (see ``compare``).
COMPARE_API_PREFIX = LEGACY_PREFIX


@dataclass(frozen=True)
class Ramp:
    """How to ramp: first rate, growth factor, seconds per step, most steps."""

    start: float = 6.0
    factor: float = 1.25
    step_s: float = 20.0
    max_steps: int = 10

    @classmethod
    def from_env(cls) -> Ramp:
        """Read ``KNEE_START``, ``KNEE_FACTOR``, ``KNEE_STEP_S`` and ``KNEE_MAX_STEPS``."""
        env = os.environ
        return cls(
            start=float(env.get("KNEE_START", cls.start)),
            factor=float(env.get("KNEE_FACTOR", cls.factor)),
            step_s=float(env.get("KNEE_STEP_S", cls.step_s)),
            max_steps=int(env.get("KNEE_MAX_STEPS", cls.max_steps)),
        )

    def rates(self) -> list[float]:
        """Return the step rates in journeys/s."""
        return [round(self.start * self.factor**i, 2) for i in range(self.max_steps)]


def judge_step(rate: float, result: LoadResult, *, first_completion: float | None = None) -> dict[str, Any]:
    """Summarise one step and say which SLO clauses it broke (an empty list: it held).

    ``first_completion``: the ramp's first step's ``completion_ratio``, the reference for this one's.
    """
    journeys = result.journeys
    total = result.ended_journeys()
    failed = sum(int(j.get("failure", 0)) for j in journeys.values())
    arrivals = result.arrivals or {}
    scheduled = int(arrivals.get("scheduled", 0))
    on_time = int(arrivals.get("on_time", 0))
    totals = result.totals
    p95 = float(totals.get("p95_ms", float("inf")))
    fail_ratio = failed / total if total else 1.0
    on_time_ratio = on_time / scheduled if scheduled else 0.0
    broken = []
    if result.problem or not totals:
        broken.append(f"run broke: {result.problem[:200]}")
    if fail_ratio > MAX_JOURNEY_FAILURE_RATIO:
        broken.append(f"journey failure ratio {fail_ratio:.3f} > {MAX_JOURNEY_FAILURE_RATIO}")
    for journey, limit in JOURNEY_P95_MS.items():
        j_p95 = float(journeys.get(journey, {}).get("p95_ms", 0.0))
        if j_p95 > limit:
            broken.append(f"{journey} p95 {j_p95:.0f} ms > {limit:.0f} ms")
    if on_time_ratio < MIN_ON_TIME_RATIO:
        broken.append(f"on-time arrivals {on_time_ratio:.3f} < {MIN_ON_TIME_RATIO}")
    completion = total / scheduled if scheduled else 0.0
    if first_completion and completion < MIN_COMPLETION_KEPT * first_completion:
        broken.append(f"journeys ended {completion:.3f} of the scheduled < {MIN_COMPLETION_KEPT} x "
                      f"the first step's {first_completion:.3f}")
    return {
        "rate_per_s": rate,
        "journeys": total,
        "failed_journeys": failed,
        "journeys_per_s": round(total / result.duration_s, 2) if result.duration_s else 0.0,
        "requests": int(totals.get("requests", 0)),
        "rps": float(totals.get("rps", 0.0)),
        "p50_ms": float(totals.get("p50_ms", 0.0)),
        "p95_ms": p95,
        "p99_ms": float(totals.get("p99_ms", 0.0)),
        "journey_p95_ms": {k: float(v.get("p95_ms", 0.0)) for k, v in journeys.items()},
        "journey_failures": {k: int(v.get("failure", 0)) for k, v in journeys.items()},
        "top_errors": sorted(result.errors, key=lambda e: -int(e.get("occurrences", 0)))[:5],
        "arrivals": arrivals,
        "completion_ratio": round(completion, 3),
        "loadavg_1m": os.getloadavg()[0],
        "broken": broken,
    }


def run_step(gateway: str, rate: float, step_s: float, out_dir: Path, *, api_prefix: str = V1_PREFIX,
             first: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one open-loop step of the default mix at ``rate`` journeys/s and judge it.

    ``api_prefix``: where the API is; ``first``: the ramp's first step, whose completion this one's is held to.
    """
    spec = LoadSpec(
        host=gateway, shape="steady", users=int(rate * 10) + 20, spawn_rate=float(int(rate * 10) + 20),
        duration_s=step_s, rate_per_s=rate, api_prefix=api_prefix,
        thresholds=Thresholds(max_fail_ratio=None, max_journey_failure_ratio=None),
    )
    run = start_load(spec, out_dir=out_dir)
    try:
        result = run.wait(timeout_s=step_s + 120)
    finally:
        run.stop()
    return judge_step(rate, result, first_completion=first["completion_ratio"] if first else None)


def knee_of(steps: list[dict[str, Any]]) -> float | None:
    """Return the last rate before the first step that broke the SLO (None: the first broke)."""
    knee = None
    for step in steps:
        if step["broken"]:
            break
        knee = step["rate_per_s"]
    return knee


def _print_step(label: str, step: dict[str, Any]) -> None:
    verdict = "held" if not step["broken"] else "broke: " + "; ".join(step["broken"])
    print(f"  {label}{step['rate_per_s']:6.2f} journeys/s -> {step['journeys_per_s']:6.2f} done/s, "
          f"{step['rps']:6.1f} req/s, p50/p95 {step['p50_ms']:.0f}/{step['p95_ms']:.0f} ms, "
          f"{step['failed_journeys']}/{step['journeys']} failed, load {step['loadavg_1m']:.1f}: {verdict}", flush=True)


def ramp_gateway(gateway: str, ramp: Ramp, out_dir: Path) -> list[dict[str, Any]]:
    """Ramp one gateway until a step breaks the SLO; return every step."""
    steps: list[dict[str, Any]] = []
    for i, rate in enumerate(ramp.rates()):
        step = run_step(gateway, rate, ramp.step_s, out_dir / f"step-{i}", first=steps[0] if steps else None)
        _print_step("", step)
        steps.append(step)
        if step["broken"]:
            break
    return steps


def main(argv: list[str] | None = None) -> None:
    """Ramp a fresh stack per profile and print and write the knee of each (``--before REF``: old against new)."""
    parser = argparse.ArgumentParser(prog="python -m bench knee")
    parser.add_argument("--before", metavar="REF", help="ramp this commit's shop beside the current one, interleaved")
    args = parser.parse_args(argv or [])
    if args.before:
        before_after(args.before)
        return
    m = machine()
    ramp = Ramp.from_env()
    profiles = [p for p in os.environ.get("KNEE_PROFILES", "resilient,naive").split(",") if p]
    print(f"machine: {m['cores']} cores, load average {m['loadavg_1m']:.2f} (shared: other work may run)", flush=True)
    offset = int(os.environ.get("SHOPLAB_PORT_OFFSET", "0")) + 80
    per_profile: dict[str, Any] = {}
    for profile in profiles:
        print(f"profile {profile}:", flush=True)
        with tempfile.TemporaryDirectory(prefix="slbenchknee") as tmp, running_stack(
            Path(tmp) / "stack", Topology.from_env().with_offset(offset), observability=True, profile=profile
        ) as stack:
            steps = ramp_gateway(stack.service_url("gateway"), ramp, Path(tmp) / "load")
        knee = knee_of(steps)
        per_profile[profile] = {"knee_journeys_per_s": knee, "steps": steps}
        print(f"knee ({profile}): {knee if knee is not None else 'below the first step'} journeys/s "
              f"on {m['cores']} cores", flush=True)
    slo = {"max_journey_failure_ratio": MAX_JOURNEY_FAILURE_RATIO, "journey_p95_ms": JOURNEY_P95_MS,
           "min_on_time_ratio": MIN_ON_TIME_RATIO, "min_completion_kept": MIN_COMPLETION_KEPT}
    path = write_result("knee", {"ramp": asdict(ramp), "slo": slo, "profiles": per_profile})
    print(f"written to {path}")


def compare(old_url: str, new_url: str, *, labels: dict[str, str] | None = None) -> None:
    """Ramp two running gateways step by step, interleaved (old then new at each rate), and write both.

    Both are driven through the unversioned ``/api`` paths (``COMPARE_API_PREFIX``): a shop from before
    ``/api/v1`` answers nothing else (every journey failed at once against af5c0b6), and the current
    one still serves them with the same handlers, adding only the deprecation headers.
    """
    m = machine()
    ramp = Ramp.from_env()
    repeats = int(os.environ.get("KNEE_REPEATS", "1"))
    print(f"machine: {m['cores']} cores, load average {m['loadavg_1m']:.2f} (shared: other work may run)", flush=True)
    rounds: list[dict[str, Any]] = []
    path: Path | None = None
    summary: dict[str, list[float | None]] = {}
    with tempfile.TemporaryDirectory(prefix="slbenchknee") as tmp:
        for r in range(repeats):
            steps: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
            for i, rate in enumerate(ramp.rates()):
                for name, url in (("old", old_url), ("new", new_url)) if (r + i) % 2 == 0 else (
                        ("new", new_url), ("old", old_url)):
                    if steps[name] and steps[name][-1]["broken"]:
                        continue
                    step = run_step(url, rate, ramp.step_s, Path(tmp) / f"r{r}-{name}-{i}",
                                    api_prefix=COMPARE_API_PREFIX, first=steps[name][0] if steps[name] else None)
                    _print_step(f"[{name}] ", step)
                    steps[name].append(step)
                if all(s and s[-1]["broken"] for s in steps.values()):
                    break
            knees = {name: knee_of(s) for name, s in steps.items()}
            print(f"round {r + 1}: knee old {knees['old']} journeys/s, new {knees['new']} journeys/s "
                  f"on {m['cores']} cores", flush=True)
            rounds.append({"knees": knees, "steps": steps})
            # Rewritten after every round, so an interrupted run keeps the rounds it finished.
            summary = {name: [r["knees"][name] for r in rounds] for name in ("old", "new")}
            path = write_result("knee-compare", {"ramp": asdict(ramp), "old_url": old_url, "new_url": new_url,
                                                 "api_prefix": COMPARE_API_PREFIX,
                                                 "min_completion_kept": MIN_COMPLETION_KEPT, **(labels or {}), "knees": summary,
                                                 "rounds": rounds}, path=path)
    print(f"knees over {repeats} interleaved rounds: old {summary['old']}, new {summary['new']} journeys/s", flush=True)
    print(f"written to {path}")


REPO_ROOT = Path(__file__).resolve().parent.parent
# 15 apart (a stack spans 11 proxy ports), clear of the soak (+90) and the test stacks (+75, +100 x n).
OLD_SHIFT, NEW_SHIFT = 50, 65


@contextmanager
def old_shop(ref: str, offset: int, tmp: Path) -> Iterator[str]:
    """Check ``ref`` out beside this checkout, run its stack with its own code, yield its gateway URL, clean up."""
    tree = tmp / "old"
    subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", str(tree), ref], check=True,
                   capture_output=True)
    try:
        tools = REPO_ROOT / ".tools"
        if tools.exists():
            (tree / ".tools").symlink_to(tools.resolve())  # the same installed toxiproxy, Prometheus and Jaeger
        # The old services import their code from their working folder (``python -m``) and its shoplab from
        # PYTHONPATH, ahead of this checkout's editable install.
        env = {**os.environ, "PYTHONPATH": str(tree), "SHOPLAB_RUN_DIR": str(tmp / "old-run"),
               "SHOPLAB_PORT_OFFSET": str(offset)}
        shoplab = [sys.executable, "-m", "shoplab"]
        subprocess.run([*shoplab, "up", "-d", "--timeout", "180"], cwd=tree, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        try:
            yield Topology(port_offset=offset).service_url("gateway")
        finally:
            subprocess.run([*shoplab, "down", "--purge"], cwd=tree, env=env, check=False, stdout=subprocess.DEVNULL)
    finally:
        subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(tree)], check=False,
                       capture_output=True)


def before_after(ref: str) -> None:
    """Ramp the shop at ``ref`` and the current one side by side, interleaved, and write both knees."""
    # SIGTERM unwinds like Ctrl-C, so both stacks stop and the worktree goes even when the run is ended early.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    base = Topology.from_env().port_offset
    head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="slbkneeba") as tmp, old_shop(ref, base + OLD_SHIFT, Path(tmp)) as old_url, \
            running_stack(Path(tmp) / "new", Topology.from_env().with_offset(base + NEW_SHIFT), observability=True,
                          timeout_s=180) as new:
        compare(old_url, new.service_url("gateway"), labels={"old_ref": ref, "new_ref": head or "HEAD"})


if __name__ == "__main__":
    if sys.argv[1:2] == ["compare"] and len(sys.argv) == 4:
        compare(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1:])
