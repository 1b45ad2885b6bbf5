"""``shoplab fault ...``: inject and remove faults by hand (toxics on edges, app-level faults, reset).

Every manual fault is recorded in the run dir's lease table with owner ``manual``:
with ``--ttl`` it expires (the stack's reaper removes it), without it never does
and ``shoplab status`` warns about it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click
from rich.console import Console
from rich.table import Table

from chaos.active import clear_all, parse_duration_s
from chaos.admin import AppFaultRule, ShopAdmin
from chaos.errors import ChaosError, ProxiesOff
from chaos.faults import ShopFaults, ensure_proxies
from chaos.leases import MANUAL, LeaseTable
from chaos.toxic_args import parse_toxic_attributes
from chaos.toxiproxy import TOXIC_TYPES, Stream, ToxiproxyClient, make_toxic
from shop.topology import Topology
from shoplab.runtime.errors import StackError
from shoplab.runtime.stack import Stack

console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[red]error:[/] {message}")
    sys.exit(code)


@contextmanager
def _leased_clients(*, needs_proxies: bool = True) -> Iterator[tuple[ToxiproxyClient, ShopAdmin, LeaseTable]]:
    try:
        stack = Stack.attach()
        if needs_proxies:
            ensure_proxies(stack.topology, "reach the edge proxies")
    except (StackError, ProxiesOff) as exc:  # not running, SHOPLAB_TARGET does not answer, or no proxies
        _fail(str(exc))
    with ToxiproxyClient(stack.topology.toxiproxy_url) as tp, ShopAdmin(stack.topology, stack.admin_token) as admin:
        try:
            yield tp, admin, LeaseTable(stack.run_dir)
        except ChaosError as exc:
            _fail(str(exc))


@contextmanager
def _clients() -> Iterator[tuple[ToxiproxyClient, ShopAdmin]]:
    with _leased_clients() as (tp, admin, _table):
        yield tp, admin


def _ttl(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration_s(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


TTL_OPTION = click.option("--ttl", "ttl_s", default=None, callback=_ttl, metavar="DURATION",
                          help="Remove the fault after this long, e.g. 90s, 10m, 1h (default: never).")


def _expiry(ttl_s: float | None) -> str:
    return f"; it expires in {ttl_s:g} s" if ttl_s is not None else "; it never expires (add --ttl to make it)"


def _edges() -> list[str]:
    return [e.proxy_name for e in Topology.from_env().proxied_edges]


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
@TTL_OPTION
def add(edge: str, toxic_type: str, attributes: tuple[str, ...], stream: str, toxicity: float,
        name: str | None, ttl_s: float | None) -> None:
    """Add a toxic to EDGE, e.g. `shoplab fault add orders__payments latency latency_ms=800 jitter_ms=100`."""
    _check_edge(edge)
    try:
        kwargs = parse_toxic_attributes(toxic_type, attributes)
    except ValueError as exc:
        _fail(str(exc), 2)
    spec = make_toxic(toxic_type, stream=Stream(stream), toxicity=toxicity, name=name, **kwargs)
    with _leased_clients() as (tp, _admin, table):
        # Leased before it is added, so the reaper owns it even if this command dies half-way.
        lease = table.add(MANUAL, "toxic", edge, f"{spec.type} on {edge}", ttl_s=ttl_s, name=spec.toxic_name)
        try:
            toxic = tp.add_toxic(edge, spec)
        except ChaosError:
            table.remove(lease.id)
            raise
    console.print(f"added {toxic.name} ({toxic.type} {toxic.attributes}) on {edge}; "
                  f"remove it with `shoplab fault remove {edge} {toxic.name}`{_expiry(ttl_s)}")


@fault.command("remove")
@click.argument("edge")
@click.argument("toxic_name", required=False)
def remove(edge: str, toxic_name: str | None) -> None:
    """Remove one toxic from EDGE, or every toxic on it when no name is given."""
    _check_edge(edge)
    with _leased_clients() as (tp, _admin, table):
        names = [toxic_name] if toxic_name else [t.name for t in tp.list_toxics(edge)]
        for n in names:
            tp.remove_toxic(edge, n)
        table.remove_where(lambda x: not (x.kind == "toxic" and x.target == edge and x.name in names))
    console.print(f"removed {', '.join(names) or 'nothing'} from {edge}")


@fault.command("down")
@click.argument("edge")
@TTL_OPTION
def down(edge: str, ttl_s: float | None) -> None:
    """Take EDGE down (its proxy refuses connections) until `shoplab fault up EDGE` or the --ttl runs out."""
    _check_edge(edge)
    with _leased_clients() as (tp, _admin, table):
        table.remove_where(lambda x: not (x.kind == "down" and x.target == edge))
        table.add(MANUAL, "down", edge, f"{edge} down", ttl_s=ttl_s)
        tp.disable_proxy(edge)
    console.print(f"{edge} is down{_expiry(ttl_s)}")


@fault.command("up")
@click.argument("edge")
def up(edge: str) -> None:
    """Bring EDGE back up."""
    _check_edge(edge)
    with _leased_clients() as (tp, _admin, table):
        tp.enable_proxy(edge)
        table.remove_where(lambda x: not (x.kind == "down" and x.target == edge))
    console.print(f"{edge} is up")


@fault.command("app")
@click.argument("service")
@click.option("--route", required=True, help="Path prefix, e.g. /charges.")
@click.option("--method", default=None, help="Only this HTTP method (default: any).")
@click.option("--error-rate", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True)
@click.option("--status", type=click.IntRange(400, 599), default=503, show_default=True)
@click.option("--latency-ms", type=click.IntRange(0, 60000), default=0, show_default=True)
@TTL_OPTION
def app(service: str, route: str, method: str | None, error_rate: float, status: int, latency_ms: int,
        ttl_s: float | None) -> None:
    """Set an app-level fault on SERVICE (replaces its list), e.g. `--route /charges --error-rate 0.3`."""
    with _leased_clients(needs_proxies=False) as (_tp, admin, table):
        if service not in admin.topology.service_names:
            _fail(f"unknown service {service!r}; services: {', '.join(admin.topology.service_names)}", 2)
        # The admin API replaces the service's list: one lease per service.
        table.remove_where(lambda x: not (x.kind == "app" and x.target == service))
        table.add(MANUAL, "app", service, f"app fault on {service} {route}", ttl_s=ttl_s)
        admin.set_faults(service, [AppFaultRule(route=route, method=method, error_rate=error_rate, status=status,
                                                latency_ms=latency_ms)])
    console.print(f"app fault set on {service}; clear it with `shoplab fault clear {service}`{_expiry(ttl_s)}")


@fault.command("clear")
@click.argument("service", required=False)
def clear(service: str | None) -> None:
    """Remove every app-level fault of SERVICE; without SERVICE, every active fault (and restore profiles)."""
    with _leased_clients(needs_proxies=False) as (tp, admin, table):
        if service is None:
            # a killed or paused process (a broker, the worker) is started or continued through the supervisor
            problems = clear_all(tp, admin, table, lambda: Stack.attach(table.path.parent))
        else:
            admin.clear_faults(service)
            table.remove_where(lambda x: not (x.kind == "app" and x.target == service))
    if service is not None:
        console.print(f"cleared app faults on {service}")
        return
    for p in problems:
        err_console.print(f"[red]{p}[/]")
    if problems:
        sys.exit(1)
    console.print("every toxic removed, every edge up, every app fault cleared, every switched profile restored")


@fault.command("reset")
def reset() -> None:
    """Remove every toxic, bring every edge up and clear every service's app-level faults."""
    with _leased_clients(needs_proxies=False) as (tp, admin, table):
        problems = ShopFaults(tp, admin, None, topology=admin.topology).sweep()
        if not problems:
            table.remove_where(lambda x: x.kind == "profile")
    for p in problems:
        err_console.print(f"[red]{p}[/]")
    if problems:
        sys.exit(1)
    console.print("every toxic removed, every edge up, every app fault cleared")


command = fault
