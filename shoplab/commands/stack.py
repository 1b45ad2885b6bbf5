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

from chaos.active import ActiveFault, get_profiles, list_active_faults
from chaos.admin import ShopAdmin
from chaos.errors import ChaosError
from chaos.leases import LeaseTable
from chaos.toxiproxy import ToxiproxyClient
from shop.topology import Topology
from shoplab.runtime.stack import ProcessStatus, Stack, StackError
from shoplab.runtime.target import is_target_mode
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


def _seconds(value: float | None, never: str) -> str:
    return never if value is None else f"{value:.0f} s"


def render_faults(faults: list[ActiveFault], profiles: dict[str, str]) -> Table:
    """Build the active-faults table: kind, target, what, owner, age, time left; then each service's profile."""
    table = Table(title=f"active faults ({len(faults)})" if faults else "active faults: none")
    for col in ("kind", "target", "fault", "owner", "age", "time left"):
        table.add_column(col)
    for f in faults:
        left = _seconds(f.left_s, "[yellow]never[/]")
        table.add_row(f.kind, f.target, f.what, f.owner, _seconds(f.age_s, "-"), left)
    table.caption = "profiles: " + ", ".join(f"{s}={p}" for s, p in profiles.items())
    return table


def print_faults(stack: Stack) -> None:
    """Print every active fault with its owner, age and time left, each service's profile, and a warning."""
    try:
        with ToxiproxyClient(stack.topology.toxiproxy_url) as tp, \
                ShopAdmin(stack.topology, stack.admin_token) as admin:
            faults = list_active_faults(tp, admin, LeaseTable(stack.run_dir))
            profiles = get_profiles(admin)
    except ChaosError as exc:  # a corrupt lease file or a dead toxiproxy: say so, the process table stands
        err_console.print(f"[red]cannot list the active faults:[/] {exc}", soft_wrap=True)
        return
    console.print(render_faults(faults, profiles))
    forever = [f for f in faults if f.never_expires]
    if forever:
        names = "; ".join(f"{f.kind} {f.target} ({f.owner})" for f in forever)
        err_console.print(f"[yellow]warning:[/] {len(forever)} fault(s) never expire: {names}. "
                          "`shoplab fault clear` removes every fault; `--ttl` makes manual faults expire.",
                          soft_wrap=True)


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
    if is_target_mode():
        _fail("SHOPLAB_TARGET is set: the commands drive the shop it names (Helm installs that one, "
              "docs/kubernetes.md); unset it to start the native stack")
    try:
        topo = Topology.from_env()
    except ValueError as exc:
        _fail(str(exc), 2)
    topo = replace(topo, workers=workers or topo.workers, threads=threads or topo.threads)
    if topo.workers > 1:
        err_console.print(f"[yellow]note:[/] {topo.workers} processes per service: breakers, budgets, "
                          "faults and /metrics are per process (a throughput setting, not for experiments)")
    stack = Stack(topology=topo, profile=profile, observability=not no_observability)
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
    except StackError as exc:  # not running, or SHOPLAB_TARGET does not answer
        _fail(str(exc), code=3)
        return
    console.print(render_status(rows))
    if isinstance(stack, Stack):
        print_faults(stack)
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
