"""``shoplab audit``: wait for pending orders to drain, then check every invariant of the shop."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from shoplab.runtime.audit import run_audit
from shoplab.runtime.stack import Stack, StackError

console = Console()
err_console = Console(stderr=True)


@click.command("audit")
@click.option("--run-dir", type=click.Path(path_type=Path), default=None,
              help="Run folder of the stack (default: $SHOPLAB_RUN_DIR or .shoplab).")
@click.option("--drain-timeout", "drain_timeout_s", default=60.0, show_default=True,
              help="Seconds to wait for pending orders and events to drain before checking.")
@click.option("--allow-pending", is_flag=True,
              help="Accept orders still pending after the deadline (work queued) instead of failing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def command(run_dir: Path | None, drain_timeout_s: float, allow_pending: bool, as_json: bool) -> None:
    """Check the consistency invariants of the running shop (docs/invariants.md); exit 1 on any violation."""
    try:
        stack = Stack.attach(run_dir)
    except StackError as exc:  # not running, or SHOPLAB_TARGET does not answer
        err_console.print(f"[red]error:[/] {exc}")
        sys.exit(2)
    base_urls = {name: stack.service_url(name) for name in stack.topology.service_names}
    with console.status("auditing...") as status:
        report = run_audit(base_urls, stack.admin_token, drain_timeout_s, allow_pending=allow_pending,
                           progress=lambda msg: status.update(msg))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        counts = ", ".join(f"{n} {what}" for what, n in report.counts.items())
        console.print(f"audited {counts}; drained: {'yes' if report.drained else 'no'}")
        for violation in report.violations:
            # escape: "[invariant]" would otherwise be read as rich markup and vanish.
            console.print(f"[red]violation[/] {escape(str(violation))}", highlight=False)
        if report.ok:
            console.print("[green]every invariant holds[/]")
        else:
            console.print(f"[red]{len(report.violations)} violation(s)[/]")
    sys.exit(0 if report.ok else 1)
