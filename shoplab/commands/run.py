"""``shoplab run EXPERIMENT`` and ``shoplab demo``: run a chaos experiment and write its report."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from chaos.errors import ChaosError, ExperimentInvalid
from chaos.experiment import Experiment, load_experiment, resolve_experiment_path
from shoplab import REPO_ROOT

FLAGSHIP = "flagship"
console = Console()
err_console = Console(stderr=True)


def reports_root() -> Path:
    """Return where reports go (``SHOPLAB_REPORTS_DIR``, default ``reports/`` in the checkout)."""
    return Path(os.environ.get("SHOPLAB_REPORTS_DIR") or REPO_ROOT / "reports")


@contextlib.contextmanager
def ensure_stack(*, say: Any) -> Iterator[Any]:
    """Yield the running stack (``SHOPLAB_RUN_DIR``), starting one first if none runs; stop only what we started."""
    from shoplab.runtime.stack import ShopStack, Stack, StackNotRunning

    try:
        running: ShopStack | None = Stack.attach()
    except StackNotRunning:
        running = None
    if running is not None:
        yield running
        return
    stack = Stack(observability=False)
    say(f"no stack running in {stack.run_dir}: starting one")
    with console.status("starting the shop...") as status:
        stack.up(progress=lambda msg: status.update(msg))
    try:
        yield stack
    finally:
        say("stopping the stack this run started")
        stack.down()


def load_for_run(name_or_path: str, *, profiles: str | None, quick: bool) -> Experiment:
    """Load and validate the experiment (refused before anything starts), applying the options."""
    from shop.topology import Topology

    exp = load_experiment(resolve_experiment_path(name_or_path), topology=Topology.from_env())
    if profiles:
        exp = exp.with_profiles(tuple(p.strip() for p in profiles.split(",") if p.strip()))
    return exp.quickened() if quick else exp


def run_experiment_cli(exp: Experiment, *, quick: bool, reports_dir: Path | None = None) -> tuple[int, Path | None]:
    """Run ``exp`` on the native stack, write the report, print the table; return (exit code, report dir)."""
    from chaos.console import ConsoleObserver, print_comparison
    from chaos.journal import get_versions
    from chaos.report import report_dir_name, write_report
    from chaos.runner import Runner, exit_code
    from chaos.signals import raise_on_sigterm, signals_deferred
    from chaos.toxiproxy import ToxiproxyClient
    from chaos.wiring import stack_deps
    from shoplab.runtime.stack import StackError
    from shoplab.runtime.tools import ToolMissing

    out = (reports_dir or reports_root()) / report_dir_name(exp.name)
    out.mkdir(parents=True, exist_ok=True)
    console.print(f"[bold]{exp.title}[/] — profiles {', '.join(exp.profiles)}, "
                  f"{exp.duration_s:g} s of phases each{' (quick)' if quick else ''}")
    record = None
    with raise_on_sigterm():
        try:
            with ensure_stack(say=lambda m: console.print(f"[dim]{m}[/]")) as stack:
                toxiproxy_version = None
                with contextlib.suppress(ChaosError), ToxiproxyClient(stack.topology.toxiproxy_url) as tp:
                    toxiproxy_version = tp.version()
                original_profile = _get_profile(stack)
                try:
                    with stack_deps(stack, out / "load", observers=[ConsoleObserver(console)]) as deps:
                        record = Runner(exp, deps).run()
                        record.quick = quick
                finally:
                    with signals_deferred():
                        _restore_profile(stack, original_profile)
                settings = {
                    "port_offset": stack.topology.port_offset, "run_dir": str(stack.run_dir), "quick": quick,
                    "profiles": list(exp.profiles), "sample_interval_s": deps.sample_interval_s,
                    "argv": sys.argv, "load": {"shape": exp.load.shape, "users": exp.load.users,
                                               "spawn_rate": exp.load.spawn_rate},
                }
                with signals_deferred():
                    index = write_report(out, record, settings=settings, versions=get_versions(toxiproxy_version))
        except (ChaosError, StackError, ToolMissing) as exc:
            err_console.print(f"[red]error:[/] {exc}")
            return 1, None
        except KeyboardInterrupt:
            # interrupted outside the runner (starting or stopping the stack): nothing was faulted
            err_console.print("[red]interrupted[/]")
            return 130, None
    print_comparison(record, console)
    console.print(f"report: {index}")
    code = exit_code(record)
    if record.interrupted:
        err_console.print(f"[red]interrupted by {record.interrupted}[/]: every fault was rolled back")
    elif code:
        err_console.print("[red]a hypothesis that must hold did not hold[/] (see the report)")
    return code, out


def _get_profile(stack: Any) -> str | None:
    """Return the gateway's resilience profile (the shop's, unless switched by hand)."""
    from chaos.admin import ShopAdmin

    with ShopAdmin(stack.topology, stack.admin_token) as admin:
        try:
            return admin.get_profile("gateway")
        except ChaosError:
            return None


def _restore_profile(stack: Any, profile: str | None) -> None:
    """Leave the shop in the profile it had before the run."""
    from chaos.admin import PROFILES, ShopAdmin

    if profile not in PROFILES:
        return
    with ShopAdmin(stack.topology, stack.admin_token) as admin:
        try:
            admin.set_profile(profile)
        except ChaosError as exc:
            err_console.print(f"[yellow]could not restore profile {profile}: {exc}[/]")


@click.command("run")
@click.argument("experiment")
@click.option("--profiles", default=None, help="Comma-separated profiles to compare (default: the experiment's).")
@click.option("--quick", is_flag=True, help="Shorten every phase (for tests and a first look).")
@click.option("--reports-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the report folder goes (default: reports/ or SHOPLAB_REPORTS_DIR).")
def run(experiment: str, profiles: str | None, quick: bool, reports_dir: Path | None) -> None:
    """Run EXPERIMENT (a YAML path or a shipped name) and write reports/<UTC time>-<name>/."""
    try:
        exp = load_for_run(experiment, profiles=profiles, quick=quick)
    except ExperimentInvalid as exc:
        err_console.print(f"[red]experiment refused:[/] {exc}")
        sys.exit(2)
    code, _ = run_experiment_cli(exp, quick=quick, reports_dir=reports_dir)
    sys.exit(code)


@click.command("demo")
@click.option("--quick", is_flag=True, help="Shorter phases.")
def demo(quick: bool) -> None:
    """Run the flagship experiment (naive vs resilient), starting the stack if needed; print the report path."""
    exp = load_for_run(FLAGSHIP, profiles=None, quick=quick)
    code, out = run_experiment_cli(exp, quick=quick)
    if out is not None:
        console.print(f"[bold]open {out / 'index.html'}[/] (it works offline)")
    sys.exit(code)


COMMANDS = [run, demo]
