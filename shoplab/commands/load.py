"""``shoplab load``: run Locust journeys against the gateway, print progress and a summary, gate on thresholds."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from loadtests.api import EXIT_BROKEN, LoadError, LoadResult, LoadRun, LoadSpec, start_load
from loadtests.run_options import build_thresholds, default_out_dir, follow_run
from loadtests.shapes import SHAPES
from loadtests.thresholds import ThresholdError
from shop.topology import Topology
from shoplab import REPO_ROOT

console = Console()
err_console = Console(stderr=True)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_duration_s(text: str) -> float:
    """Parse ``90``, ``90s``, ``2m``, ``1h`` into seconds; raise click.BadParameter otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise click.BadParameter(f"expected a duration like 60s, 2m or 1h, got {text!r}")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]


def render_summary(result: LoadResult) -> list[Table]:
    """Build the journey, route and threshold tables."""
    journeys = Table(title="journeys")
    for col in ("journey", "success", "degraded", "failure", "p50 ms", "p95 ms", "p99 ms"):
        journeys.add_column(col, justify="left" if col == "journey" else "right")
    for name, j in result.journeys.items():
        failure = int(j["failure"])
        journeys.add_row(
            escape(name),
            str(int(j["success"])),
            f"[yellow]{int(j['degraded'])}[/]" if j["degraded"] else "0",
            f"[red]{failure}[/]" if failure else "0",
            f"{j['p50_ms']:.0f}",
            f"{j['p95_ms']:.0f}",
            f"{j['p99_ms']:.0f}",
        )
    routes = Table(title="requests by route (latency in ms)")
    routes.add_column("route", min_width=30, no_wrap=True)
    for col in ("reqs", "fails", "rps", "p50", "p95", "p99"):
        routes.add_column(col, justify="right")
    for r in [*result.routes, result.totals]:
        routes.add_row(
            escape(f"{r['method']} {r['name']}".strip()),  # route templates contain [id]
            str(r["requests"]),
            f"[red]{r['failures']}[/]" if r["failures"] else "0",
            f"{r['rps']:.1f}",
            f"{r['p50_ms']}",
            f"{r['p95_ms']}",
            f"{r['p99_ms']}",
        )
    checks = Table(title="thresholds")
    for col in ("threshold", "limit", "actual", "result"):
        checks.add_column(col)
    for c in result.checks:
        checks.add_row(escape(c.name), f"{c.limit:g}", f"{c.actual:.4g}", "[green]pass[/]" if c.passed else "[red]FAIL[/]")
    return [journeys, routes, checks]


def progress_line(run: LoadRun) -> str | None:
    """Return one line about the newest sample, or None before the first."""
    sample = run.latest()
    if sample is None:
        return None
    counts = {o: sum(j.get(o, 0) for j in sample.journeys.values()) for o in ("success", "degraded", "failure")}
    line = (
        f"t={sample.t:.0f}s users={sample.users} rps={sample.rps:.1f} fail={sample.fail_ratio:.1%} "
        f"p50/95/99={sample.p50_ms:.0f}/{sample.p95_ms:.0f}/{sample.p99_ms:.0f}ms "
        f"journeys ok={counts['success']} degraded={counts['degraded']} failed={counts['failure']}"
    )
    if sample.arrivals:
        a = sample.arrivals
        line += f" arrivals late={a.get('late', 0)} dropped={a.get('dropped', 0)}"
    return line


@click.command("load")
@click.option("--shape", type=click.Choice(sorted(SHAPES)), default="steady", show_default=True)
@click.option("--users", type=click.IntRange(min=1), default=10, show_default=True, help="Peak users (the concurrency bound with --rate).")
@click.option("--spawn-rate", type=float, default=None, help="Users started per second (default: all within ~1 s).")
@click.option("--duration", "duration", default="60s", show_default=True, help="Run length, e.g. 20s, 2m.")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True, help="Locust worker processes (0: one local process).")
@click.option("--rate", "rate", type=float, default=None, help="Open loop: journeys started per second, whatever the latency.")
@click.option("--host", default=None, help="Gateway URL (default: the native gateway at SHOPLAB_PORT_OFFSET).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Output folder (default: reports/load-<UTC time>).")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--think-scale", type=float, default=1.0, show_default=True, help="Multiply every think time (0.1: ten times busier users).")
@click.option("--steps", type=click.IntRange(min=1), default=5, show_default=True, help="Stairs of the step shape.")
@click.option("--user-class", "user_classes", multiple=True, help="Only these user classes (BrowsingShopper, BuyingShopper).")
@click.option("--thresholds", "thresholds_file", type=click.Path(exists=True, path_type=Path), default=None, help="YAML/JSON thresholds file.")
@click.option("--max-fail-ratio", type=float, default=None, help="Failed requests / requests allowed (default 0.01).")
@click.option("--max-journey-failure-ratio", type=float, default=None, help="Failed journeys / journeys allowed (default 0.01).")
@click.option("--p95", multiple=True, help="JOURNEY=MS: p95 limit of a journey (repeatable).")
@click.option("--p99", multiple=True, help="JOURNEY=MS: p99 limit of a journey (repeatable).")
def command(
    shape: str,
    users: int,
    spawn_rate: float | None,
    duration: str,
    workers: int,
    rate: float | None,
    host: str | None,
    out_dir: Path | None,
    seed: int,
    think_scale: float,
    steps: int,
    user_classes: tuple[str, ...],
    thresholds_file: Path | None,
    max_fail_ratio: float | None,
    max_journey_failure_ratio: float | None,
    p95: tuple[str, ...],
    p99: tuple[str, ...],
) -> None:
    """Run shopper journeys against the gateway; the exit code says whether every threshold held."""
    try:
        thresholds = build_thresholds(thresholds_file, max_fail_ratio, max_journey_failure_ratio, p95, p99)
    except ThresholdError as exc:
        raise click.BadParameter(str(exc)) from exc
    duration_s = parse_duration_s(duration)
    host = host or Topology.from_env().service_url("gateway")
    if out_dir is None:
        out_dir = default_out_dir(REPO_ROOT, datetime.now(UTC))
    spec = LoadSpec(
        host=host,
        shape=shape,
        users=users,
        spawn_rate=spawn_rate or float(users),
        duration_s=duration_s,
        workers=workers,
        rate_per_s=rate,
        seed=seed,
        think_scale=think_scale,
        steps=steps,
        user_classes=user_classes,
        thresholds=thresholds,
    )
    try:
        run = start_load(spec, out_dir=out_dir)
    except LoadError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        sys.exit(EXIT_BROKEN)
    mode = f"open loop {rate:g}/s" if rate else "closed loop"
    console.print(
        f"load: {shape} shape, {users} users, {duration_s:g} s, {mode}, "
        f"{workers or 'no'} workers -> {host}  (outputs in {out_dir})"
    )
    try:
        result = follow_run(run, lambda _sample: console.print(progress_line(run), highlight=False, soft_wrap=True))
    except KeyboardInterrupt:
        console.print("interrupted: stopping Locust")
        run.stop()
        result = run.wait(timeout_s=0)
    finally:
        run.stop()
    if result.problem:
        err_console.print(f"[red]problem:[/] {result.problem}")
    if result.totals:
        for table in render_summary(result):
            console.print(table)
    if result.arrivals:
        console.print(f"open-loop arrivals: {result.arrivals}")
    ended = result.ended_of_scheduled()
    if ended:
        done, scheduled = ended
        console.print(f"journeys ended: {done} of {scheduled} scheduled ({done / scheduled:.0%}); the other "
                      f"{max(0, scheduled - done)} were still running when the run stopped and are in no table above")
    verdict = {0: "[green]PASSED[/]", 1: "[red]FAILED thresholds[/]"}.get(result.exit_code, "[red]BROKEN[/]")
    console.print(f"{verdict}  report: {result.outputs.get('html', out_dir)}")
    sys.exit(result.exit_code)
