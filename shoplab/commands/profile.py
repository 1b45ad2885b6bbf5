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
import httpx
from rich.console import Console
from rich.table import Table

from shop.kit.errors import ValidationFailed
from shop.kit.resilience.policy import PROFILES, parse_value
from shop.topology import Topology

console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 1) -> None:
    err_console.print(f"[red]error:[/] {message}")
    sys.exit(code)


def parse_override(raw: str) -> tuple[str, str, Any]:
    """Parse ``dep.key=value`` into (dependency, key, validated value); raise click.BadParameter."""
    target, sep, text = raw.partition("=")
    dep, dot, key = target.strip().partition(".")
    if not sep or not dot or not dep or not key:
        raise click.BadParameter(f"{raw!r} is not dependency.key=value (e.g. catalog.read_timeout_s=0.3)")
    lowered = text.strip().lower()
    value: Any
    if lowered in ("null", "none", "off"):
        value = None
    elif lowered in ("true", "false"):
        value = lowered == "true"
    else:
        try:
            value = int(text) if text.strip().lstrip("-").isdigit() else float(text)
        except ValueError:
            raise click.BadParameter(f"{raw!r}: {text!r} is not a number, true/false or null") from None
    try:
        return dep, key, parse_value(key, value)
    except ValidationFailed as exc:
        raise click.BadParameter(f"{raw!r}: {exc.message}") from None


def build_requests(
    topology: Topology, profile: str, overrides: Iterable[tuple[str, str, Any]], services: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Return the ``PUT /admin/resilience`` body for each service; an override reaches every caller of its dependency."""
    chosen = list(services)
    bodies: dict[str, dict[str, Any]] = {s: {"profile": profile, "overrides": {}} for s in chosen}
    for dep, key, value in overrides:
        callers = [s for s in chosen if dep in topology.service(s).calls]
        if not callers:
            raise click.BadParameter(f"no selected service calls {dep!r}: the override {dep}.{key} would do nothing")
        for service in callers:
            bodies[service]["overrides"].setdefault(dep, {})[key] = value
    return bodies


@click.command("profile")
@click.argument("name", required=False, type=click.Choice(list(PROFILES)))
@click.option("--override", "-o", "overrides", multiple=True, metavar="DEP.KEY=VALUE",
              help="Per-dependency policy override, e.g. catalog.read_timeout_s=0.3 (repeatable).")
@click.option("--service", "-s", "services", multiple=True, help="Only these services (default: every one).")
def command(name: str | None, overrides: tuple[str, ...], services: tuple[str, ...]) -> None:
    """Switch every service to resilience profile NAME at run time (or show the profiles)."""
    from shoplab.runtime.stack import Stack, StackNotRunning

    try:
        stack = Stack.attach()
    except StackNotRunning as exc:
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
    failed = []
    with httpx.Client(headers=stack.admin_headers(), timeout=5.0) as http:
        for service, body in bodies.items():
            url = topology.service_url(service) + "/admin/resilience"
            try:
                resp = http.get(url) if body is None else http.put(url, json=body)
            except httpx.HTTPError as exc:
                failed.append(service)
                table.add_row(service, "-", "-", f"[red]unreachable: {exc!r}[/]")
                continue
            if resp.status_code != 200:
                failed.append(service)
                table.add_row(service, "-", "-", f"[red]{resp.status_code}: {resp.text[:200]}[/]")
                continue
            data = resp.json()
            shown = ", ".join(f"{d}.{k}={v}" for d, kv in data.get("overrides", {}).items() for k, v in kv.items())
            table.add_row(service, data.get("profile", "?"), shown or "-", "ok" if body is not None else "")
    console.print(table)
    if failed:
        _fail(f"not switched: {', '.join(failed)} (is the stack healthy? `shoplab status`)")
