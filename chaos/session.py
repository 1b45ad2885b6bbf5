"""Run one experiment as a session: attach or start a stack, run, restore the profile, write the report.

``run_session`` does the work and returns a ``SessionOutcome``; it talks to the
person only through a ``SessionUI`` (a side note, a warning, a progress line).
``run_experiment_cli`` is the terminal form that ``shoplab run``, ``shoplab demo``
and ``shoplab gate resilience`` share: it runs the session and prints its outcome.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chaos.admin import ShopAdmin
from chaos.console import ConsoleObserver, print_comparison
from chaos.errors import ChaosError
from chaos.experiment import Experiment, load_experiment, resolve_experiment_path
from chaos.faults import LeasedFaults, ensure_proxies
from chaos.journal import get_versions
from chaos.leases import LeaseKeeper, LeaseTable, lease_ttl_s, new_run_owner
from chaos.numbers import fmt
from chaos.repeats import repeat_json, run_order, write_repeat_json
from chaos.report import report_dir_name, write_report
from chaos.runner import Observer, Runner, RunRecord, exit_code
from chaos.signals import raise_on_sigterm, signals_deferred
from chaos.toxiproxy import ToxiproxyClient
from chaos.wiring import stack_deps
from shop.kit.resilience.policy import PROFILES
from shop.topology import Topology
from shoplab import REPO_ROOT
from shoplab.runtime.stack import Stack, StackError, StackNotRunning
from shoplab.runtime.tools import ToolMissing

ProgressFn = Callable[[str], None]

console = Console()
err_console = Console(stderr=True)


class SessionUI(Protocol):
    """How a session speaks to the person running it."""

    def say(self, message: str) -> None:
        """Show a side note (a stack started or stopped)."""

    def warn(self, message: str) -> None:
        """Show something that went wrong but does not stop the session."""

    def progress(self, title: str) -> AbstractContextManager[ProgressFn]:
        """Show a slow step under way; the yielded function updates its line."""


class RichSessionUI:
    """Speak through rich consoles: dim side notes, yellow warnings, a spinner for slow steps."""

    def __init__(self, out: Console, err: Console) -> None:
        self.out = out
        self.err = err

    def say(self, message: str) -> None:
        """Print a dim side note."""
        self.out.print(f"[dim]{message}[/]")

    def warn(self, message: str) -> None:
        """Print a yellow warning on stderr."""
        self.err.print(f"[yellow]{message}[/]")

    @contextlib.contextmanager
    def progress(self, title: str) -> Iterator[ProgressFn]:
        """Show a spinner whose line each progress message replaces."""
        with self.out.status(title) as status:
            yield lambda msg: status.update(msg)


@dataclass
class SessionOutcome:
    """What a session did: its exit code, the report folder and index, the record, or why it stopped."""

    code: int
    out: Path | None = None
    index: Path | None = None
    record: RunRecord | None = None
    error: str | None = None


def reports_root() -> Path:
    """Return where reports go (``SHOPLAB_REPORTS_DIR``, default ``reports/`` in the checkout)."""
    return Path(os.environ.get("SHOPLAB_REPORTS_DIR") or REPO_ROOT / "reports")


def load_for_run(name_or_path: str, *, profiles: str | None, quick: bool) -> Experiment:
    """Load and validate the experiment (refused before anything starts), applying the options."""
    exp = load_experiment(resolve_experiment_path(name_or_path), topology=Topology.from_env())
    if profiles:
        exp = exp.with_profiles(tuple(p.strip() for p in profiles.split(",") if p.strip()))
    return exp.quickened() if quick else exp


def attach_or_start(ui: SessionUI, *, observability: bool | None, note: str = "") -> tuple[Any, bool]:
    """Return the running stack (``SHOPLAB_RUN_DIR``), starting one first if none runs, and whether it was started."""
    try:
        return Stack.attach(), False
    except StackNotRunning:
        pass
    stack = Stack(observability=observability)
    ui.say(f"no stack running in {stack.run_dir}: starting one{note}")
    with ui.progress("starting the shop...") as progress:
        stack.up(progress=progress)
    return stack, True


@contextlib.contextmanager
def ensure_stack(ui: SessionUI) -> Iterator[Any]:
    """Yield the running stack, starting one (without observability) if none runs; stop only what we started."""
    stack, started = attach_or_start(ui, observability=False)
    if not started:
        yield stack
        return
    try:
        yield stack
    finally:
        ui.say("stopping the stack this run started")
        stack.down()


def get_profile(stack: Any) -> str | None:
    """Return the gateway's resilience profile (the shop's, unless switched by hand)."""
    with ShopAdmin(stack.topology, stack.admin_token) as admin:
        try:
            return admin.get_profile("gateway")
        except ChaosError:
            return None


def restore_profile(stack: Any, profile: str | None, ui: SessionUI) -> None:
    """Leave the shop in the profile it had before the run."""
    if profile not in PROFILES:
        return
    with ShopAdmin(stack.topology, stack.admin_token) as admin:
        try:
            admin.set_profile(profile)
        except ChaosError as exc:
            ui.warn(f"could not restore profile {profile}: {exc}")


def run_session(exp: Experiment, *, quick: bool, ui: SessionUI, reports_dir: Path | None = None,
                observers: tuple[Observer, ...] = ()) -> SessionOutcome:
    """Run ``exp`` on the native stack and write the report; return what happened (errors included)."""
    out = (reports_dir or reports_root()) / report_dir_name(exp.name)
    out.mkdir(parents=True, exist_ok=True)
    with raise_on_sigterm():
        try:
            with ensure_stack(ui) as stack:
                ensure_proxies(stack.topology, f"run the experiment {exp.name}")
                toxiproxy_version = None
                with contextlib.suppress(ChaosError), ToxiproxyClient(stack.topology.toxiproxy_url) as tp:
                    toxiproxy_version = tp.version()
                original_profile = get_profile(stack)
                # Every fault and the profile switch carry this run's lease: if the run dies, the reaper
                # undoes them once the keeper stops renewing.
                table, owner, ttl_s = LeaseTable(stack.run_dir), new_run_owner(), lease_ttl_s()
                original_profile = table.adopt_profile_leases(owner) or original_profile
                if original_profile in PROFILES:
                    table.add(owner, "profile", "*", f"profile switched by {owner}", ttl_s=ttl_s,
                              restore=original_profile)
                try:
                    with LeaseKeeper(table, owner, ttl_s), \
                            stack_deps(stack, out / "load", observers=observers) as deps:
                        deps.faults = LeasedFaults(deps.faults, table, owner, ttl_s)
                        record = Runner(exp, deps).run()
                        record.quick = quick
                finally:
                    with signals_deferred():
                        restore_profile(stack, original_profile, ui)
                        table.remove_where(lambda lease: not (lease.owner == owner and lease.kind == "profile"))
                settings = {
                    "port_offset": stack.topology.port_offset, "run_dir": str(stack.run_dir), "quick": quick,
                    "profiles": list(exp.profiles), "sample_interval_s": deps.sample_interval_s,
                    "argv": sys.argv, "load": {"shape": exp.load.shape, "users": exp.load.users,
                                               "spawn_rate": exp.load.spawn_rate,
                                               "rate_per_s": exp.load.rate_per_s},
                }
                with signals_deferred():
                    index = write_report(out, record, settings=settings, versions=get_versions(toxiproxy_version))
        except (ChaosError, StackError, ToolMissing) as exc:
            return SessionOutcome(1, error=str(exc))
        except KeyboardInterrupt:
            # interrupted outside the runner (starting or stopping the stack): nothing was faulted
            return SessionOutcome(130, error="interrupted")
    return SessionOutcome(exit_code(record), out, index, record)


def print_outcome(outcome: SessionOutcome, out: Console, err: Console) -> None:
    """Print a session's comparison table, report path and verdict (or why it stopped)."""
    if outcome.record is None:
        err.print("[red]interrupted[/]" if outcome.code == 130 else f"[red]error:[/] {outcome.error}")
        return
    print_comparison(outcome.record, out)
    out.print(f"report: {outcome.index}")
    for pr in outcome.record.profiles:
        if pr.aborted:
            err.print(f"[red]{pr.profile} aborted[/]: guard {pr.aborted['guard']} fired at t={pr.aborted['t']:.1f} s; "
                      "every fault was rolled back")
    if outcome.record.interrupted:
        err.print(f"[red]interrupted by {outcome.record.interrupted}[/]: every fault was rolled back")
    elif outcome.code:
        err.print("[red]a hypothesis that must hold did not hold[/] (see the report)")
        for pr in outcome.record.profiles:
            for res in pr.probes:
                if pr.must_hold and res.outcome == "inconclusive":
                    # an undecided probe fails the run; say how many more samples would decide it
                    err.print(f"  {escape(pr.profile)}: {escape(res.label)} {escape(res.detail)}")


def run_repeated_cli(exp: Experiment, *, repeat: int, quick: bool, reports_dir: Path | None = None) -> int:
    """Run ``exp`` ``repeat`` times (profile order alternating), print each probe's spread; return the exit code."""
    records, reports = [], []
    for index in range(repeat):
        console.print(f"[bold]run {index + 1} of {repeat}[/]")
        outcome = run_session(run_order(exp, index), quick=quick, ui=RichSessionUI(console, err_console),
                              reports_dir=reports_dir, observers=(ConsoleObserver(console, every_s=15),))
        print_outcome(outcome, console, err_console)
        if outcome.record is None:
            return outcome.code
        records.append(outcome.record)
        reports.append(str(outcome.out) if outcome.out else None)
        if outcome.record.interrupted:
            break
    summary = repeat_json(exp, records, reports)
    path = write_repeat_json((reports_dir or reports_root()) / f"{report_dir_name(exp.name)}-repeat.json", summary)
    print_repeats(summary, console)
    console.print(f"repeat summary: {path}")
    return 0 if all(r.passed for r in records) and summary["verdicts_agree"] and len(records) == repeat else 1


def print_repeats(summary: dict[str, Any], out: Console) -> None:
    """Print every probe's per-run values, spread and verdict agreement."""
    table = Table(title=f"{summary['experiment']}: {summary['runs']} runs")
    for column in ("profile", "probe", "values (n)", "spread", "verdicts", "agree"):
        table.add_column(column)
    for s in summary["series"]:
        values = ", ".join(f"{fmt(v)} ({n})" if n is not None else fmt(v) for v, n in zip(s["values"], s["samples"],
                                                                                           strict=True))
        spread = "—" if s["spread_pct"] is None else f"±{s['spread_pct']:.1f}%"
        inside = s["values_inside_each_others_interval"]
        agree = ("yes" if s["verdicts_agree"] else "[red]no[/]") + ("" if inside is None else
                                                                     f"; inside each other's CI: {'yes' if inside else 'no'}")
        table.add_row(escape(s["profile"]), escape(s["probe"]), values, spread, ", ".join(s["verdicts"]), agree)
    out.print(table)


def run_experiment_cli(exp: Experiment, *, quick: bool, reports_dir: Path | None = None) -> tuple[int, Path | None]:
    """Run ``exp`` on the native stack, write the report, print the table; return (exit code, report dir)."""
    console.print(f"[bold]{exp.title}[/] — profiles {', '.join(exp.profiles)}, "
                  f"{exp.duration_s:g} s of phases each{' (quick)' if quick else ''}")
    outcome = run_session(exp, quick=quick, ui=RichSessionUI(console, err_console), reports_dir=reports_dir,
                          observers=(ConsoleObserver(console),))
    print_outcome(outcome, console, err_console)
    return outcome.code, outcome.out
