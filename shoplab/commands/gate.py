"""``shoplab gate contracts|e2e|resilience|explore``: the CI gates; the exit code says whether each held."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from chaos import session
from chaos.errors import ExperimentInvalid
from chaos.explore import session as explore_session
from chaos.explore.options import explore_options, settings_from_options
from contracts.gate import GateReport, run_contract_gate
from shop.topology import Topology
from shoplab import REPO_ROOT
from shoplab.runtime.stack import PortTaken, Stack, StackError, default_run_dir
from shoplab.runtime.tools import ToolMissing

# Not a terminal (CI logs): wide enough for the 7-provider matrix without wrapping its cells.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True)

_STYLE = {"verified": "[green]verified[/]", "failed": "[red]failed[/]", "missing": "[yellow]missing[/]"}


@click.group("gate")
def command() -> None:
    """Run a CI gate; the exit code says whether it held."""


def render_matrix(report: GateReport) -> Table:
    """Build the consumer × provider table of a contract gate report."""
    consumers = list(dict.fromkeys(e.caller for e in report.edges))
    providers = list(dict.fromkeys(e.callee for e in report.edges))
    table = Table(title="contracts: consumer × provider")
    table.add_column("consumer \\ provider")
    for provider in providers:
        table.add_column(provider, justify="center")
    for consumer in consumers:
        cells = []
        for provider in providers:
            try:
                cells.append(_STYLE[report.status_of(consumer, provider).value])
            except KeyError:
                cells.append("[dim]·[/]")
        table.add_row(consumer, *cells)
    return table


@command.command("contracts")
@click.option("--use-running", is_flag=True,
              help="Verify against the stack already running in the run folder instead of starting one.")
@click.option("--run-dir", type=click.Path(path_type=Path), default=None,
              help="Run folder of the stack (default: SHOPLAB_RUN_DIR/gate-contracts, or the running one).")
@click.option("--extra-edge", "extra_edges", multiple=True, metavar="CALLER:CALLEE",
              help="Judge the topology as if it had this edge too (shows what a new arrow needs).")
def contracts_gate(use_running: bool, run_dir: Path | None, extra_edges: tuple[str, ...]) -> None:
    """Run every consumer test, verify every provider against the pacts, print the matrix."""
    extra = []
    for raw in extra_edges:
        caller, sep, callee = raw.partition(":")
        if not sep or not caller or not callee:
            raise click.BadParameter(f"{raw!r} is not CALLER:CALLEE", param_hint="--extra-edge")
        extra.append((caller, callee))
    topology = Topology(port_offset=Topology.from_env().port_offset, extra_edges=tuple(extra))
    stack = None
    try:
        if use_running:
            stack = Stack.attach(run_dir)
        else:
            run_dir = run_dir or default_run_dir() / "gate-contracts"
        with console.status("contract gate") as status:
            report = run_contract_gate(topology, stack=stack, run_dir=run_dir,
                                       progress=lambda msg: status.update(msg))
    except PortTaken as exc:
        err_console.print(f"[red]error:[/] {exc}", markup=True, highlight=False)
        err_console.print("A stack already runs here? Verify against it: `shoplab gate contracts --use-running`.")
        sys.exit(2)
    except (StackError, ToolMissing) as exc:
        err_console.print(f"[red]error:[/] {exc}")
        sys.exit(2)
    console.print(render_matrix(report))
    if any(e.detail == "consumer tests failed" for e in report.edges):
        console.print("[red]consumer tests failed[/]; last lines of their run:", markup=True)
        console.print(report.consumer_output[-3000:], markup=False, highlight=False)
    failures = report.failures()
    for line in failures:
        console.print(f"[red]✗[/] {line}")
    if not report.ok:
        console.print("[red]contract gate failed[/]: fix the edges above; refresh stale pacts with "
                      "`make test-contracts` and commit contracts/pacts/.")
        sys.exit(1)
    console.print(f"[green]contract gate passed[/]: {len(report.edges)} edges verified")


@command.command("e2e", context_settings={"ignore_unknown_options": True})
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def e2e_gate(pytest_args: tuple[str, ...]) -> None:
    """Walk the public checkout flow end to end on a native stack (the e2e test tier); extra args go to pytest."""
    cmd = [sys.executable, "-m", "pytest", "-m", "e2e", "-q", *pytest_args]
    console.print(f"[dim]{' '.join(cmd)}[/]")
    code = subprocess.run(cmd, cwd=REPO_ROOT, check=False).returncode
    if code == 0:
        console.print("[green]e2e gate passed[/]")
    else:
        console.print(f"[red]e2e gate failed[/] (pytest exit {code})")
    sys.exit(code)


RESILIENCE_GATE_EXPERIMENTS = ("flagship", "retry-storm", "orders-worker-killed")


@command.command("resilience")
@click.option("--experiments", default=",".join(RESILIENCE_GATE_EXPERIMENTS), show_default=True,
              help="Comma-separated shipped experiments (or YAML paths) that must hold.")
@click.option("--full", is_flag=True, help="Full phase durations (the gate runs them --quick by default).")
def resilience_gate(experiments: str, full: bool) -> None:
    """Run the resilience experiments; fail unless every hypothesis that must hold held."""
    names = [n.strip() for n in experiments.split(",") if n.strip()]
    try:  # refuse a bad file before anything starts
        loaded = [(name, session.load_for_run(name, profiles=None, quick=not full)) for name in names]
    except ExperimentInvalid as exc:
        err_console.print(f"[red]experiment refused:[/] {exc}")
        sys.exit(2)
    results = []
    for name, exp in loaded:
        console.rule(name)
        code, out = session.run_experiment_cli(exp, quick=not full)
        results.append((name, code, out))
    table = Table(title="resilience gate")
    for col in ("experiment", "verdict", "report"):
        table.add_column(col)
    for name, code, out in results:
        verdict = "[green]held[/]" if code == 0 else f"[red]failed (exit {code})[/]"
        table.add_row(name, verdict, str(out / "index.html") if out else "-")
    console.print(table)
    worst = max((code for _, code, _ in results), default=0)
    if worst:
        console.print("[red]resilience gate failed[/]")
    else:
        console.print(f"[green]resilience gate passed[/]: {len(results)} experiments held")
    sys.exit(worst)


@command.command("explore")
@explore_options
@click.option("--expected", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Expected matrix (default: chaos/explore/expected.json).")
def explore_gate(journeys: str | None, modes: str | None, edges: str | None, budget: str | None, repeats: int,
                 plant: str | None, out_dir: Path | None, expected: Path | None) -> None:
    """Explore under ``resilient`` and fail on any cell worse than the expected matrix, naming it."""
    settings = settings_from_options(journeys, "resilient", modes, edges, False, budget, repeats, plant)
    matrix, paths = explore_session.run_exploration(settings, out_dir, lambda msg: console.print(msg, markup=False))
    result = explore_session.gate(matrix, expected or explore_session.EXPECTED)
    for regression in result.regressions:
        console.print(f"[red]worse[/] {regression}", markup=True)
    if result.unknown:
        console.print(f"{len(result.unknown)} cells are not in the expected matrix (not judged): "
                      + ", ".join(result.unknown[:5]))
    if not result.ok:
        why = "no cell matched the expected matrix" if not result.compared else f"{len(result.regressions)} cells got worse"
        console.print(f"[red]explore gate failed[/]: {why}; report: {paths['html']}")
        sys.exit(1)
    console.print(f"[green]explore gate passed[/]: {result.compared} cells as good as expected; report: {paths['html']}")
