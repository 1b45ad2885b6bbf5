"""Turn fault specs into faults that apply and roll back: toxics, downed edges, app faults, processes.

A fault's ``rollback`` is safe to call when ``apply`` failed half-way or never
ran, and twice: it undoes only what is there. ``LeasedFaults`` wraps a factory so
that every fault it applies carries a lease (owner, expiry) in the run dir's lease
table: written before the fault is applied, dropped once it is rolled back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

from chaos.admin import ShopAdmin
from chaos.errors import AdminError, FaultError, ProxiesOff, ToxiproxyError
from chaos.experiment import (
    AppFaultSpec,
    DownFaultSpec,
    FaultSpec,
    ProcessAction,
    ProcessFaultSpec,
    ToxicFaultSpec,
)
from chaos.leases import Lease, LeaseTable
from chaos.toxiproxy import ToxiproxyClient
from shop.topology import Topology


class Fault(Protocol):
    """Something that breaks the shop until it is rolled back."""

    @property
    def description(self) -> str:
        """Say what the fault does."""
        ...

    def apply(self) -> None:
        """Break the shop; raise FaultError when it cannot."""

    def rollback(self) -> None:
        """Undo ``apply`` (idempotent); raise FaultError when it cannot."""


class ProcessControl(Protocol):
    """The part of the native supervisor process faults need (``shoplab.runtime.stack.Stack``)."""

    def kill_process(self, name: str) -> None: ...
    def stop_process(self, name: str) -> None: ...
    def start_process(self, name: str) -> None: ...
    def signal_process(self, name: str, signal: str) -> None: ...


class _SpecFault:
    """What every live fault shares: its spec, its description, and one error mapping."""

    spec: Any

    @property
    def description(self) -> str:
        """Say what the fault does."""
        return str(self.spec.describe())

    @contextlib.contextmanager
    def _failing(self, verb: str, *errors: type[Exception]) -> Iterator[None]:
        """Turn an adapter's error into FaultError naming the fault, keeping the cause."""
        try:
            yield
        except errors as exc:
            raise FaultError(f"cannot {verb} {self.description}: {exc}") from exc


class ToxicFault(_SpecFault):
    """A Toxiproxy toxic on one edge's proxy."""

    def __init__(self, spec: ToxicFaultSpec, toxiproxy: ToxiproxyClient) -> None:
        self.spec = spec
        self._toxiproxy = toxiproxy

    def apply(self) -> None:
        """Add the toxic."""
        with self._failing("apply", ToxiproxyError):
            self._toxiproxy.add_toxic(self.spec.edge, self.spec.toxic)

    def rollback(self) -> None:
        """Remove the toxic if it is there."""
        with self._failing("roll back", ToxiproxyError):
            names = {t.name for t in self._toxiproxy.list_toxics(self.spec.edge)}
            if self.spec.toxic.toxic_name in names:
                self._toxiproxy.remove_toxic(self.spec.edge, self.spec.toxic.toxic_name)


class DownFault(_SpecFault):
    """An edge taken down by disabling its proxy."""

    def __init__(self, spec: DownFaultSpec, toxiproxy: ToxiproxyClient) -> None:
        self.spec = spec
        self._toxiproxy = toxiproxy

    def apply(self) -> None:
        """Disable the proxy."""
        with self._failing("apply", ToxiproxyError):
            self._toxiproxy.disable_proxy(self.spec.edge)

    def rollback(self) -> None:
        """Enable the proxy again."""
        with self._failing("roll back", ToxiproxyError):
            self._toxiproxy.enable_proxy(self.spec.edge)


class AppFault(_SpecFault):
    """App-level faults on one service through its admin API."""

    def __init__(self, spec: AppFaultSpec, admin: ShopAdmin) -> None:
        self.spec = spec
        self._admin = admin

    def apply(self) -> None:
        """Install the rules (replacing the service's list)."""
        with self._failing("apply", AdminError):
            self._admin.set_faults(self.spec.service, self.spec.rules)

    def rollback(self) -> None:
        """Clear the service's app-level faults."""
        with self._failing("roll back", AdminError):
            self._admin.clear_faults(self.spec.service)


class ProcessFault(_SpecFault):
    """A process killed, stopped or paused through the supervisor."""

    def __init__(self, spec: ProcessFaultSpec, processes: ProcessControl) -> None:
        self.spec = spec
        self._processes = processes

    def apply(self) -> None:
        """Kill, stop or pause the process."""
        name = self.spec.process
        # The supervisor's own errors vary; keep the cause whatever it is.
        with self._failing("apply", Exception):
            if self.spec.action is ProcessAction.KILL:
                self._processes.kill_process(name)
            elif self.spec.action is ProcessAction.STOP:
                self._processes.stop_process(name)
            else:
                self._processes.signal_process(name, "STOP")

    def rollback(self) -> None:
        """Start the process again, or continue it when it was paused."""
        name = self.spec.process
        with self._failing("roll back", Exception):
            if self.spec.action is ProcessAction.PAUSE:
                self._processes.signal_process(name, "CONT")
            else:
                self._processes.start_process(name)


def ensure_proxies(topology: Topology, action: str) -> None:
    """Raise ProxiesOff, naming ``action``, when the stack runs with ``SHOPLAB_PROXIES=off``."""
    if not topology.proxies:
        raise ProxiesOff(
            f"cannot {action}: this stack runs with SHOPLAB_PROXIES=off, so no edge has a proxy to fault; "
            "restart it with proxies (`shoplab down`, then `shoplab up -d` without SHOPLAB_PROXIES=off)"
        )


class FaultFactory(Protocol):
    """Build live faults from specs (the runner's seam for fakes)."""

    def build(self, spec: FaultSpec) -> Fault: ...
    def sweep(self) -> list[str]: ...


class ShopFaults:
    """Build faults against a running shop: its Toxiproxy, admin API and supervisor."""

    def __init__(self, toxiproxy: ToxiproxyClient, admin: ShopAdmin, processes: ProcessControl | None,
                 *, topology: Topology | None = None) -> None:
        self.toxiproxy = toxiproxy
        self.admin = admin
        self.processes = processes
        self.topology = topology or Topology()

    def build(self, spec: FaultSpec) -> Fault:
        """Return the live fault for one spec; raise ProxiesOff for an edge fault on a stack without proxies."""
        if isinstance(spec, (ToxicFaultSpec, DownFaultSpec)):
            ensure_proxies(self.topology, spec.describe())
        if isinstance(spec, ToxicFaultSpec):
            return ToxicFault(spec, self.toxiproxy)
        if isinstance(spec, DownFaultSpec):
            return DownFault(spec, self.toxiproxy)
        if isinstance(spec, AppFaultSpec):
            return AppFault(spec, self.admin)
        if self.processes is None:
            raise FaultError(f"cannot {spec.describe()}: no supervisor attached")
        return ProcessFault(spec, self.processes)

    def sweep(self) -> list[str]:
        """Remove every toxic, enable every proxy and clear every app fault; return problems."""
        problems = []
        try:
            if self.topology.proxies:
                self.toxiproxy.reset()
        except ToxiproxyError as exc:
            problems.append(f"toxiproxy reset failed: {exc}")
        problems += [f"clearing app faults on {s} failed" for s in self.admin.clear_all_faults()]
        return problems


def lease_target(spec: FaultSpec) -> tuple[str, str, str] | None:
    """Return the (kind, target, toxic name or process action) a fault's lease records."""
    if isinstance(spec, ToxicFaultSpec):
        return "toxic", spec.edge, spec.toxic.toxic_name
    if isinstance(spec, DownFaultSpec):
        return "down", spec.edge, ""
    if isinstance(spec, AppFaultSpec):
        return "app", spec.service, ""
    if isinstance(spec, ProcessFaultSpec):
        # the reaper continues a paused process or starts a killed/stopped one again
        return "process", spec.process, spec.action.value
    return None


class LeasedFault:
    """A fault whose lease is written before it is applied and dropped once it is rolled back."""

    def __init__(self, inner: Fault, spec: FaultSpec, table: LeaseTable, owner: str, ttl_s: float) -> None:
        self.inner = inner
        self.spec = spec
        self.table = table
        self.owner = owner
        self.ttl_s = ttl_s
        self.lease: Lease | None = None

    @property
    def description(self) -> str:
        """Say what the fault does."""
        return self.inner.description

    def apply(self) -> None:
        """Lease the fault first (a kill right after apply must not leak it), then apply it."""
        target = lease_target(self.spec)
        if target is not None and self.lease is None:
            kind, where, name = target
            self.lease = self.table.add(self.owner, kind, where, self.description, ttl_s=self.ttl_s, name=name)
        self.inner.apply()

    def rollback(self) -> None:
        """Roll the fault back, then drop its lease (kept when the rollback failed: the reaper retries)."""
        self.inner.rollback()
        if self.lease is not None:
            self.table.remove(self.lease.id)
            self.lease = None


class LeasedFaults:
    """Wrap a fault factory so that every fault it builds carries ``owner``'s lease."""

    def __init__(self, inner: FaultFactory, table: LeaseTable, owner: str, ttl_s: float) -> None:
        self.inner = inner
        self.table = table
        self.owner = owner
        self.ttl_s = ttl_s

    def build(self, spec: FaultSpec) -> Fault:
        """Return the leased live fault for one spec."""
        return LeasedFault(self.inner.build(spec), spec, self.table, self.owner, self.ttl_s)

    def sweep(self) -> list[str]:
        """Sweep every fault, then drop the fault leases the sweep made void (profile leases stay)."""
        problems = self.inner.sweep()
        if not problems:
            self.table.remove_where(lambda lease: lease.kind == "profile")
        return problems
