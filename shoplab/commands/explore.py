"""``shoplab explore``: every journey × every edge it crosses × every fault mode × profile, as one matrix."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from chaos.explore.options import explore_options, settings_from_options
from chaos.explore.session import run_exploration

console = Console()


@click.command("explore")
@explore_options
@click.option("--profiles", help="Comma-separated profiles (default: naive,resilient).")
@click.option("--pairs", is_flag=True, help="Also inject pairs of faults (pruned: see the report).")
def command(journeys: str | None, modes: str | None, edges: str | None, budget: str | None, repeats: int,
            plant: str | None, out_dir: Path | None, profiles: str | None, pairs: bool) -> None:
    """Run each journey with one fault at a time on each edge it crosses; write the matrix (HTML, JSON, JUnit)."""
    settings = settings_from_options(journeys, profiles, modes, edges, pairs, budget, repeats, plant)
    matrix, paths = run_exploration(settings, out_dir, console.print)
    failures = sum(c.outcome == "failure" for c in matrix.cells)
    console.print(f"{len(matrix.cells)} cells in {matrix.meta['duration_s']} s, {failures} failed; "
                  f"report: {paths['html']} (also {paths['json'].name}, {paths['junit'].name})")
