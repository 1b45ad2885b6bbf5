"""``shoplab fault ...``: inject and remove faults by hand (toxics on edges, app-level faults, reset)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click
from rich.console import Console
from rich.table import Table

from chaos.admin import AppFaultRule, ShopAdmin
from chaos.errors import ChaosError
from chaos.faults import ShopFaults
from chaos.toxic_args import parse_toxic_attributes
from chaos.toxiproxy import TOXIC_TYPES, Stream, ToxiproxyClient, make_toxic
from shop.topology import Topology
from shoplab.runtime.errors import StackNotRunning
from shoplab.runtime.stack import Stack

console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[red]error:[/] {message}")
    sys.exit(code)


@contextmanager
def _clients() -> Iterator[tuple[ToxiproxyClient, ShopAdmin]]:
    try:
        stack = Stack.attach()
    except StackNotRunning as exc:
        _fail(str(exc))
    with ToxiproxyClient(stack.topology.toxiproxy_url) as tp, ShopAdmin(stack.topology, stack.admin_token) as admin:
        try:
            yield tp, admin
        except ChaosError as exc:
            _fail(str(exc))


def _edges() -> list[str]:
    return [e.proxy_name for e in Topology.from_env().edges]


def _check_edge(edge: str) -> None:
    if edge not in _edges():
        _fail(f"unknown edge {edge!r}; edges: {', '.join(_edges())}", 2)


@click.group("fault")
def fault() -> None:
    """Inject faults by hand: toxics on an edge (<caller>__<callee>), app-level faults on a service."""


@fault.command("list")
def list_faults() -> None:
    """Show every edge (enabled, toxics) and every service's app-level faults."""
    with _clients() as (tp, admin):
        table = Table(title="edges")
        for col in ("edge", "listen", "enabled", "toxics"):
            table.add_column(col)
        for name, proxy in sorted(tp.list_proxies().items()):
            toxics = "; ".join(f"{t.name}: {t.type} {t.stream} toxicity={t.toxicity:g} {t.attributes}"
                               for t in proxy.toxics) or "-"
            table.add_row(name, proxy.listen, "yes" if proxy.enabled else "[red]DOWN[/]", toxics)
        console.print(table)
        apps = Table(title="app-level faults")
        apps.add_column("service")
        apps.add_column("faults")
        for service in admin.topology.service_names:
            try:
                faults = admin.get_faults(service)
            except ChaosError as exc:
                apps.add_row(service, f"[red]unreachable: {exc}[/]")
                continue
            apps.add_row(service, "; ".join(str(f) for f in faults) or "-")
        console.print(apps)


@fault.command("add")
@click.argument("edge")
@click.argument("toxic_type", metavar="TYPE", type=click.Choice(sorted(TOXIC_TYPES)))
@click.argument("attributes", nargs=-1)
@click.option("--stream", type=click.Choice([s.value for s in Stream]), default="downstream", show_default=True)
@click.option("--toxicity", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="Share of connections hit (rolled per connection, not per request).")
@click.option("--name", default=None, help="Toxic name (default: <type>_<stream>).")
def add(edge: str, toxic_type: str, attributes: tuple[str, ...], stream: str, toxicity: float,
        name: str | None) -> None:
    """Add a toxic to EDGE, e.g. `shoplab fault add orders__payments latency latency_ms=800 jitter_ms=100`."""
    _check_edge(edge)
    try:
        kwargs = parse_toxic_attributes(toxic_type, attributes)
    except ValueError as exc:
        _fail(str(exc), 2)
    spec = make_toxic(toxic_type, stream=Stream(stream), toxicity=toxicity, name=name, **kwargs)
    with _clients() as (tp, _admin):
        toxic = tp.add_toxic(edge, spec)
    console.print(f"added {toxic.name} ({toxic.type} {toxic.attributes}) on {edge}; "
                  f"remove it with `shoplab fault remove {edge} {toxic.name}`")


@fault.command("remove")
@click.argument("edge")
@click.argument("toxic_name", required=False)
def remove(edge: str, toxic_name: str | None) -> None:
    """Remove one toxic from EDGE, or every toxic on it when no name is given."""
    _check_edge(edge)
    with _clients() as (tp, _admin):
        names = [toxic_name] if toxic_name else [t.name for t in tp.list_toxics(edge)]
        for n in names:
            tp.remove_toxic(edge, n)
    console.print(f"removed {', '.join(names) or 'nothing'} from {edge}")


@fault.command("down")
@click.argument("edge")
def down(edge: str) -> None:
    """Take EDGE down (its proxy refuses connections) until `shoplab fault up EDGE`."""
    _check_edge(edge)
    with _clients() as (tp, _admin):
        tp.disable_proxy(edge)
    console.print(f"{edge} is down")


@fault.command("up")
@click.argument("edge")
def up(edge: str) -> None:
    """Bring EDGE back up."""
    _check_edge(edge)
    with _clients() as (tp, _admin):
        tp.enable_proxy(edge)
    console.print(f"{edge} is up")


@fault.command("app")
@click.argument("service")
@click.option("--route", required=True, help="Path prefix, e.g. /charges.")
@click.option("--method", default=None, help="Only this HTTP method (default: any).")
@click.option("--error-rate", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True)
@click.option("--status", type=click.IntRange(400, 599), default=503, show_default=True)
@click.option("--latency-ms", type=click.IntRange(0, 60000), default=0, show_default=True)
def app(service: str, route: str, method: str | None, error_rate: float, status: int, latency_ms: int) -> None:
    """Set an app-level fault on SERVICE (replaces its list), e.g. `--route /charges --error-rate 0.3`."""
    with _clients() as (_tp, admin):
        if service not in admin.topology.service_names:
            _fail(f"unknown service {service!r}; services: {', '.join(admin.topology.service_names)}", 2)
        admin.set_faults(service, [AppFaultRule(route=route, method=method, error_rate=error_rate, status=status,
                                                latency_ms=latency_ms)])
    console.print(f"app fault set on {service}; clear it with `shoplab fault clear {service}`")


@fault.command("clear")
@click.argument("service")
def clear(service: str) -> None:
    """Remove every app-level fault of SERVICE."""
    with _clients() as (_tp, admin):
        admin.clear_faults(service)
    console.print(f"cleared app faults on {service}")


@fault.command("reset")
def reset() -> None:
    """Remove every toxic, bring every edge up and clear every service's app-level faults."""
    with _clients() as (tp, admin):
        problems = ShopFaults(tp, admin, None).sweep()
    for p in problems:
        err_console.print(f"[red]{p}[/]")
    if problems:
        sys.exit(1)
    console.print("every toxic removed, every edge up, every app fault cleared")


command = fault
