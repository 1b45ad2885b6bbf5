"""Show a run in the terminal: one progress line per second and the side-by-side table at the end."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chaos.journal import run_tails
from chaos.numbers import comparison_rows, fmt
from chaos.runner import RunEvent, RunRecord
from loadtests.stats.percentiles import PercentileInterval


class ConsoleObserver:
    """Print the runner's events with rich (an observer: it never breaks the run)."""

    def __init__(self, console: Console | None = None, *, every_s: int = 5) -> None:
        self.console = console or Console()
        self.every_s = every_s

    def __call__(self, event: RunEvent) -> None:
        c = self.console
        if event.kind == "profile_started":
            c.rule(f"[bold]profile {event.profile}")
        elif event.kind == "phase_started":
            c.print(f"[cyan]▶ phase {escape(event.phase)}[/]: {escape(event.message)}")
        elif event.kind == "fault":
            color = "red" if "failed" in event.message else "yellow"
            c.print(f"  [{color}]{escape(event.message)}[/]")
        elif event.kind == "sample" and event.sample is not None:
            s = event.sample
            if int(s.t) % self.every_s:
                return
            load = s.load
            text = (f"  t={s.t:5.0f}s {s.phase:<10} "
                    + (f"rps={load.rps:6.1f} fail={load.fail_ratio * 100:5.1f}% p95={load.p95_ms or 0:7.0f} ms"
                       if load else "no load stats yet"))
            opened = [e for e, c2 in s.edges.items() if c2.breaker == "open"]
            if opened:
                text += f" [red]open: {', '.join(opened)}[/]"
            if s.unreachable:
                text += f" [dim]unreachable: {', '.join(s.unreachable)}[/]"
            c.print(text)
        elif event.kind == "profile_done" and event.record is not None:
            pr = event.record
            met = sum(1 for p in pr.probes if p.met)
            verdict = "[green]held[/]" if pr.held else "[red]not held[/]"
            c.print(f"  hypothesis {verdict} for {pr.profile}: {met}/{len(pr.probes)} probes met")
        elif event.kind == "note":
            c.print(f"  [dim]{escape(event.message)}[/]")


def print_comparison(record: RunRecord, console: Console | None = None) -> None:
    """Print the side-by-side table of profiles."""
    console = console or Console()
    table = Table(title=f"{record.experiment.title}: profiles side by side", show_lines=False)
    table.add_column("")
    for pr in record.profiles:
        table.add_column(pr.profile + (" (must hold)" if pr.must_hold else ""))
    for label, cells in comparison_rows(record):
        # labels carry [journey] and [edge]: escape them, or rich takes them for markup
        styled = [f"[green]{escape(c)}[/]" if c.startswith(("✔", "HELD")) else
                  (f"[red]{escape(c)}[/]" if c.startswith(("✘", "NOT")) else
                   (f"[yellow]{escape(c)}[/]" if c.startswith("?") else escape(c))) for c in cells]
        table.add_row(escape(label), *styled)
    console.print(table)
    tails = run_tails(record)
    if tails:
        tail_table = Table(title=f"p99 in the fault phases: {tails[0].control} against the must-hold profile "
                                 "(95% order-statistic intervals; the cut's interval from both)")
        for column in ("phase", "journey or request", tails[0].control, "must hold", "cut [interval]"):
            tail_table.add_column(escape(column))
        for row in tails:
            tail_table.add_row(
                escape(row.phase), escape(row.name), _p99_cell(row.control_p),
                f"{escape(row.candidate)}: {_p99_cell(row.candidate_p)}",
                escape(f"{fmt(row.cut, '%')} [{fmt(row.cut_low, '%')}, {fmt(row.cut_high, '%')}]"))
        console.print(tail_table)


def _p99_cell(p: PercentileInterval) -> str:
    return escape(f"{fmt(p.value, ' ms')} [{fmt(p.low)}, {fmt(p.high)}] n={p.samples}")
