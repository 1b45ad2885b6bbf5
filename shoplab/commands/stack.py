"""``shoplab up | status | down``: start, inspect and stop the native stack."""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import replace
from types import FrameType

import click
from rich.console import Console
from rich.table import Table

from shop.topology import Topology
from shoplab.runtime.stack import ProcessStatus, Stack, StackError, StackNotRunning
from shoplab.runtime.tools import ToolMissing

console = Console(stderr=False)
err_console = Console(stderr=True)


def render_status(rows: list[ProcessStatus], title: str = "shoplab") -> Table:
    """Build the status table: service, URL, pid, state, health."""
    table = Table(title=title)
    for col in ("service", "url", "pid", "state", "health"):
        table.add_column(col)
    for row in rows:
        health = {True: "[green]ok[/]", False: "[red]failing[/]", None: "-"}[row.healthy]
        state = row.state if row.state == "RUNNING" else f"[red]{row.state}[/]"
        table.add_row(row.name, row.url or "-", str(row.pid or "-"), state, health)
    return table


def _fail(message: str, code: int = 1) -> None:
    err_console.print(f"[red]error:[/] {message}", soft_wrap=True)
    sys.exit(code)


@click.command("up")
@click.option("-d", "--detach", is_flag=True, help="Return once ready and leave the stack running.")
@click.option("--profile", default=None, help="Initial resilience profile (default: resilient).")
@click.option("--no-observability", is_flag=True, help="Do not start Prometheus and Jaeger.")
@click.option("--timeout", "timeout_s", default=90.0, show_default=True, help="Seconds to wait for readiness.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="gunicorn processes per service (default: SHOPLAB_WORKERS or 1).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads per gunicorn process (default: SHOPLAB_THREADS or 8).")
def up(detach: bool, profile: str | None, no_observability: bool, timeout_s: float,
       workers: int | None, threads: int | None) -> None:
    """Start toxiproxy, every edge proxy, the services and the worker; wait until ready."""
    try:
        topo = Topology.from_env()
    except ValueError as exc:
        _fail(str(exc), 2)
    topo = replace(topo, workers=workers or topo.workers, threads=threads or topo.threads)
    if topo.workers > 1:
        err_console.print(f"[yellow]note:[/] {topo.workers} processes per service: breakers, budgets, "
                          "faults and /metrics are per process (a throughput setting, not for experiments)")
    stack = Stack(topology=topo, profile=profile, observability=False if no_observability else None)
    started = time.monotonic()
    try:
        with console.status("starting the shop...") as status:
            stack.up(timeout_s=timeout_s, progress=lambda msg: status.update(msg))
    except (StackError, ToolMissing) as exc:
        _fail(str(exc))
    console.print(render_status(stack.status(), f"shoplab is up ({time.monotonic() - started:.1f} s)"))
    console.print(f"run folder: {stack.run_dir}")
    if detach:
        console.print("stop it with `shoplab down`")
        return
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    console.print("running in the foreground: Ctrl-C stops everything")
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    with console.status("stopping the shop..."):
        stack.down()
    console.print("stopped")


@click.command("status")
def status() -> None:
    """Show each process, its URL, pid, state and health; the log tail of any that is down."""
    try:
        stack = Stack.attach()
        rows = stack.status()
    except StackNotRunning as exc:
        _fail(str(exc), code=3)
        return
    console.print(render_status(rows))
    down = [r for r in rows if not r.is_up]
    for row in down:
        console.print(f"\n[red]{row.name} is {row.state.lower()}[/]; last log lines:")
        console.print(row.log_tail or "(empty log)", markup=False, highlight=False)
    if down:
        sys.exit(1)


@click.command("down")
@click.option("--purge", is_flag=True, help="Also delete the services' data and logs.")
def down(purge: bool) -> None:
    """Stop exactly what `shoplab up` started; keep the data unless --purge."""
    stack = Stack()
    if not stack.is_running() and not purge:
        console.print(f"no shoplab stack is running in {stack.run_dir}")
        return
    with console.status("stopping the shop..."):
        stack.down(purge=purge)
    console.print("stopped" + (" and purged" if purge else ""))


COMMANDS = [up, status, down]
