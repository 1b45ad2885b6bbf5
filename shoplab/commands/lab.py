"""``shoplab lab list | start NN | check NN | hint NN | solution NN | reset``: guided lab scenarios for trainers.

``start`` puts the running shop (started if needed) in the lab's starting state and
prints the task; ``check`` runs the lab's short experiment on the live settings and
prints each measured number next to its target (exit 0 only on pass); ``hint`` prints
the next hint; ``solution`` applies the trainer's configuration; ``reset`` returns the
shop to its default (profile resilient, no overrides, no toxics, no app faults).
Progress (hints shown, lab 01's answer) is kept in ``<run dir>/labs.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chaos.console import ConsoleObserver
from chaos.session import RichSessionUI, attach_or_start, reports_root
from shop.topology import Topology
from shoplab.runtime.stack import Stack, StackError, StackNotRunning, default_run_dir
from shoplab.runtime.tools import ToolMissing

if TYPE_CHECKING:
    from labs.model import Lab

# labs/ is imported inside the commands only: an install without it (the service image) keeps a working CLI.
console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 1) -> None:
    err_console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(code)


def _lab(number: str) -> Lab:
    from labs.model import LabInvalid, find_lab  # lazy: see the note on labs/ above

    try:
        return find_lab(number, topology=Topology.from_env())
    except LabInvalid as exc:
        _fail(str(exc), 2)
        raise


def _attach() -> Any:
    try:
        return Stack.attach()
    except StackNotRunning as exc:
        _fail(f"{exc} (or `shoplab lab start NN`, which starts it)")


def _ensure_running() -> Any:
    """Return the running stack, starting one (left running, like `shoplab up -d`) when none runs."""
    ui = RichSessionUI(console, err_console)
    try:
        stack, _ = attach_or_start(ui, observability=None, note=" (stop it with `shoplab down`)")
    except (StackError, ToolMissing) as exc:
        _fail(str(exc))
    return stack


# -- commands ---------------------------------------------------------------------------------------
@click.group("lab")
def lab() -> None:
    """Guided lab scenarios: a story, a broken starting state, a task and a measured check."""


@lab.command("list")
def list_labs() -> None:
    """List the labs."""
    from labs.model import LabInvalid, load_all  # lazy: see the note on labs/ above
    from labs.progress import read_progress

    try:
        labs = load_all(topology=Topology.from_env())
    except LabInvalid as exc:
        _fail(str(exc), 2)
        return
    current = read_progress(default_run_dir()).get("lab")
    table = Table(title="shoplab labs")
    for col in ("lab", "title", "what you learn"):
        table.add_column(col)
    for item in labs:
        mark = " [bold](current)[/]" if item.number == current else ""
        table.add_row(item.number + mark, item.title, item.summary)
    console.print(table)
    console.print("start one with `shoplab lab start NN`; its story and steps are in labs/NN-*/README.md")


@lab.command("start")
@click.argument("number")
def start(number: str) -> None:
    """Put the shop (started if needed) in lab NUMBER's starting state and print the task."""
    from labs import session  # lazy: see the note on labs/ above

    item = _lab(number)
    stack = _ensure_running()
    try:
        done = session.start(stack, item)
    except Exception as exc:  # the admin API or toxiproxy refused: say what and stop
        _fail(f"could not set the starting state: {exc} (is the shop healthy? `shoplab status`)")
        return
    console.rule(f"[bold]lab {item.number}: {item.title}")
    for line in done:
        console.print(f"  [dim]• {escape(line)}[/]")
    console.print()
    console.print(escape(item.task.replace("\n", "\n\n")))
    console.print()
    console.print(f"the story and steps: {item.readme}")
    console.print(f"when you think it is fixed: [bold]shoplab lab check {item.number}[/]"
                  + (" --answer EDGE" if item.check.needs_answer else "")
                  + f"; stuck? [bold]shoplab lab hint {item.number}[/]")


@lab.command("check")
@click.argument("number")
@click.option("--quick", is_flag=True, help="Shorter phases (tests, a first look).")
@click.option("--answer", default=None, metavar="EDGE", help="Your answer, for labs that ask one (e.g. lab 01).")
@click.option("--reports-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the report folder goes (default: reports/ or SHOPLAB_REPORTS_DIR).")
def check(number: str, quick: bool, answer: str | None, reports_dir: Path | None) -> None:
    """Run lab NUMBER's short experiment on the live settings; print each number next to its target."""
    from labs import session  # lazy: see the note on labs/ above
    from labs.progress import read_progress
    from labs.runner import check_stack_ready

    item = _lab(number)
    stack = _attach()
    progress = read_progress(stack.run_dir)
    if progress.get("lab") != item.number:
        console.print(f"[yellow]note:[/] the last lab started here is {progress.get('lab') or 'none'}; "
                      f"`shoplab lab start {item.number}` sets lab {item.number}'s starting state")
    if item.check.needs_answer:
        answer = answer or progress.get("answers", {}).get(item.number)
        if answer is not None:
            edges = [e.proxy_name for e in stack.topology.edges]
            if answer not in edges:
                _fail(f"--answer {answer!r} is not an edge; edges: {', '.join(edges)}", 2)
    elif answer is not None:
        _fail(f"lab {item.number} asks no answer: drop --answer", 2)
    down = check_stack_ready(stack)
    if down:
        _fail(f"the shop is not healthy ({'; '.join(down)}): see `shoplab status`")
    exp = item.quick_experiment() if quick else item.check.experiment
    console.rule(f"[bold]check lab {item.number}: {item.title}")
    console.print(f"{exp.duration_s:g} s of load on the live settings{' (quick)' if quick else ''}"
                  + (f", with {answer} healed" if answer else ""))
    result, index = session.check(stack, item, quick=quick, answer=answer, reports_root=reports_dir or reports_root(),
                                  observers=[ConsoleObserver(console)])
    table = Table(title=f"lab {item.number}: measured vs target")
    for col in ("", "measure", "measured", "target", "detail"):
        table.add_column(col, overflow="fold")  # a learner must read the whole label, not an ellipsis
    for r in result.results:
        table.add_row("[green]✔[/]" if r.met else "[red]✘[/]", escape(r.label), escape(_shown(r)),
                      escape(r.tolerance), escape(r.detail))
    console.print(table)
    for problem in result.problems:
        err_console.print(f"[red]problem:[/] {escape(problem)}")
    if index is not None:
        console.print(f"report: {index}")
    if result.passed:
        console.print(f"[bold green]PASS[/]: lab {item.number} is solved. Read the debrief in {item.readme}")
        sys.exit(0)
    console.print(f"[bold red]FAIL[/]: not yet. `shoplab lab hint {item.number}` gives the next hint.")
    sys.exit(1)


def _shown(result: Any) -> str:
    """Return a measured value as the table shows it (the answer itself for answer targets)."""
    if result.kind == "answer":
        return str(result.detail.split(":")[0])
    if result.value is None:
        return "-"
    if isinstance(result.value, bool):
        return str(result.value).lower()
    return f"{result.value:g}"


@lab.command("hint")
@click.argument("number")
def hint(number: str) -> None:
    """Print lab NUMBER's next hint."""
    from labs.session import next_hint  # lazy: see the note on labs/ above

    item = _lab(number)
    shown = next_hint(default_run_dir(), item)
    if shown is None:
        console.print(f"no more hints for lab {item.number} ({len(item.hints)} given); "
                      f"`shoplab lab solution {item.number}` applies the solution")
        for i, text in enumerate(item.hints, 1):
            console.print(f"[dim]hint {i}:[/] {escape(text)}")
        return
    console.print(f"[bold]hint {shown + 1}/{len(item.hints)}:[/] {escape(item.hints[shown])}")


@lab.command("solution")
@click.argument("number")
def solution(number: str) -> None:
    """Apply lab NUMBER's solution to the running shop and print what it changed."""
    from labs.runner import apply_settings, get_live_settings  # lazy: see the note on labs/ above
    from labs.session import record_answer

    item = _lab(number)
    stack = _attach()
    sol = item.solution
    before = get_live_settings(stack)
    try:
        apply_settings(stack, sol.settings)
    except Exception as exc:
        _fail(f"could not apply the solution: {exc}")
    after = get_live_settings(stack)
    console.rule(f"[bold]lab {item.number} solution")
    console.print(f"configuration: [bold]{escape(sol.settings.command())}[/]")
    table = Table(title="what changed")
    for col in ("service", "before", "after"):
        table.add_column(col)
    changed = 0
    for service in stack.topology.service_names:
        b, a = before.get(service, {}), after.get(service, {})
        if b != a:
            changed += 1
            table.add_row(service, escape(_describe(b)), escape(_describe(a)))
    if changed:
        console.print(table)
    else:
        console.print("the live configuration already was the solution")
    if sol.answer:
        record_answer(stack.run_dir, item, sol.answer)
        console.print(f"answer: [bold]{sol.answer}[/] (recorded: `shoplab lab check {item.number}` uses it)")
    if sol.explanation:
        console.print(escape(sol.explanation))
    console.print(f"now: [bold]shoplab lab check {item.number}[/]")


def _describe(live: dict[str, Any]) -> str:
    overrides = ", ".join(f"{d}.{k}={v}" for d, kv in sorted(live.get("overrides", {}).items())
                          for k, v in sorted(kv.items()))
    return f"{live.get('profile')}" + (f" ({overrides})" if overrides else "")


@lab.command("reset")
def reset() -> None:
    """Return the shop to its default: profile resilient, no overrides, no toxics, no app faults."""
    from labs import session  # lazy: see the note on labs/ above

    stack = _attach()
    try:
        done = session.reset(stack)
    except Exception as exc:
        _fail(f"could not reset: {exc}")
        return
    for line in done:
        console.print(f"  [dim]• {escape(line)}[/]")
    console.print("the shop is back to its default state")


command = lab
