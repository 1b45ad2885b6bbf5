"""``shoplab profile [NAME] [--override dep.key=value ...]``: switch (or show) the whole shop's resilience profile.

Every service gets ``PUT /admin/resilience`` with the profile; an override
``catalog.read_timeout_s=0.3`` goes to every service that calls catalog. Values are
JSON-ish: numbers, ``true``/``false``, ``null`` (switches a mechanism off, e.g.
``catalog.breaker_fail_max=null``). Without NAME it shows each service's profile.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from chaos import profiles
from shop.kit.resilience.policy import PROFILES
from shop.topology import Topology
from shoplab.runtime.stack import Stack, StackError

console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 1) -> None:
    err_console.print(f"[red]error:[/] {message}")
    sys.exit(code)


def parse_override(raw: str) -> profiles.Override:
    """Parse ``dep.key=value`` into (dependency, key, validated value); raise click.BadParameter."""
    try:
        return profiles.parse_override(raw)
    except profiles.ProfileInvalid as exc:
        raise click.BadParameter(str(exc)) from None


def build_requests(
    topology: Topology, profile: str, overrides: Iterable[profiles.Override], services: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Return each service's ``PUT /admin/resilience`` body; raise click.BadParameter for a useless override."""
    try:
        return profiles.build_requests(topology, profile, overrides, services)
    except profiles.ProfileInvalid as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("profile")
@click.argument("name", required=False, type=click.Choice(list(PROFILES)))
@click.option("--override", "-o", "overrides", multiple=True, metavar="DEP.KEY=VALUE",
              help="Per-dependency policy override, e.g. catalog.read_timeout_s=0.3 (repeatable).")
@click.option("--service", "-s", "services", multiple=True, help="Only these services (default: every one).")
def command(name: str | None, overrides: tuple[str, ...], services: tuple[str, ...]) -> None:
    """Switch every service to resilience profile NAME at run time (or show the profiles)."""
    try:
        stack = Stack.attach()
    except StackError as exc:  # not running, or SHOPLAB_TARGET does not answer
        _fail(str(exc))
        return
    topology = stack.topology
    for service in services:
        if service not in topology.service_names:
            _fail(f"unknown service {service!r}; services: {', '.join(topology.service_names)}", 2)
    chosen = list(services or topology.service_names)
    if name is None:
        if overrides:
            _fail("--override needs a profile NAME", 2)
        bodies: dict[str, dict[str, Any] | None] = dict.fromkeys(chosen)
    else:
        parsed = [parse_override(raw) for raw in overrides]
        bodies = dict(build_requests(topology, name, parsed, chosen))

    table = Table(title=f"resilience profile{'' if name is None else ' → ' + name}")
    for col in ("service", "profile", "overrides", "result"):
        table.add_column(col)
    answers = profiles.send_profile_requests(topology, stack.admin_headers(), bodies)
    for answer in answers:
        if not answer.ok:
            table.add_row(answer.service, "-", "-", f"[red]{answer.problem}[/]")
            continue
        shown = ", ".join(f"{d}.{k}={v}" for d, kv in answer.overrides.items() for k, v in kv.items())
        table.add_row(answer.service, answer.profile, shown or "-", "ok" if bodies[answer.service] is not None else "")
    console.print(table)
    failed = [a.service for a in answers if not a.ok]
    if failed:
        _fail(f"not switched: {', '.join(failed)} (is the stack healthy? `shoplab status`)")
