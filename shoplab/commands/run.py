"""``shoplab run EXPERIMENT`` and ``shoplab demo``: run a chaos experiment and write its report."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from chaos import session
from chaos.errors import ExperimentInvalid

FLAGSHIP = "flagship"
console = Console()
err_console = Console(stderr=True)


@click.command("run")
@click.argument("experiment")
@click.option("--profiles", default=None, help="Comma-separated profiles to compare (default: the experiment's).")
@click.option("--quick", is_flag=True, help="Shorten every phase (for tests and a first look).")
@click.option("--reports-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the report folder goes (default: reports/ or SHOPLAB_REPORTS_DIR).")
@click.option("--repeat", type=click.IntRange(1, 20), default=1, show_default=True,
              help="Run the whole experiment N times (profile order alternating) and report spread and agreement.")
def run(experiment: str, profiles: str | None, quick: bool, reports_dir: Path | None, repeat: int) -> None:
    """Run EXPERIMENT (a YAML path or a shipped name) and write reports/<UTC time>-<name>/."""
    try:
        exp = session.load_for_run(experiment, profiles=profiles, quick=quick)
    except ExperimentInvalid as exc:
        err_console.print(f"[red]experiment refused:[/] {exc}")
        sys.exit(2)
    if repeat > 1:
        sys.exit(session.run_repeated_cli(exp, repeat=repeat, quick=quick, reports_dir=reports_dir))
    code, _ = session.run_experiment_cli(exp, quick=quick, reports_dir=reports_dir)
    sys.exit(code)


@click.command("demo")
@click.option("--quick", is_flag=True, help="Shorter phases.")
def demo(quick: bool) -> None:
    """Run the flagship experiment (naive vs resilient), starting the stack if needed; print the report path."""
    exp = session.load_for_run(FLAGSHIP, profiles=None, quick=quick)
    code, out = session.run_experiment_cli(exp, quick=quick)
    if out is not None:
        console.print(f"[bold]open {out / 'index.html'}[/] (it works offline)")
    sys.exit(code)


COMMANDS = [run, demo]
