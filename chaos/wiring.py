"""Wire the runner's seams to a running native shop (the one place real adapters are built)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chaos.admin import ShopAdmin
from chaos.faults import ShopFaults
from chaos.load import LocustLoad
from chaos.metrics import ShopMetrics
from chaos.profiles import Override
from chaos.runner import Observer, RunnerDeps, SystemClock
from chaos.samples import AuditOutcome
from chaos.toxiproxy import ToxiproxyClient

AUDIT_TIMEOUT_S = 60.0


class StackShop:
    """Switch profiles through the admin API and audit through ``shoplab.runtime.audit``."""

    def __init__(self, stack: Any, admin: ShopAdmin) -> None:
        self.stack = stack
        self.admin = admin

    def set_profile(self, profile: str, overrides: Sequence[Override] = ()) -> None:
        """Switch every service to ``profile``, with ``overrides`` on the callers of their dependencies."""
        self.admin.set_profile(profile, overrides=overrides)

    def audit(self) -> AuditOutcome:
        """Wait for pending orders to drain, check every invariant and say what broke."""
        return run_shop_audit(self.stack)


def run_shop_audit(stack: Any) -> AuditOutcome:
    """Run the shop's consistency audit (``shoplab.runtime.audit``): drain, read every admin API, check."""
    from shoplab.runtime.audit import run_audit

    base_urls = {name: stack.service_url(name) for name in stack.topology.service_names}
    try:
        report = run_audit(base_urls, stack.admin_token, AUDIT_TIMEOUT_S)
    except Exception as exc:  # an audit that cannot run is not a clean audit
        return AuditOutcome(False, (), f"the audit could not run: {exc!r}")
    detail = f"drained={report.drained} pending={report.pending_work} counts={report.counts}"
    return AuditOutcome(report.ok, tuple(str(v) for v in report.violations), detail)


@contextmanager
def stack_deps(stack: Any, out_dir: Path, *, observers: Sequence[Observer] = (),
               run_audit: bool = True) -> Iterator[RunnerDeps]:
    """Yield the runner's seams on a running stack; close every client afterwards."""
    topology = stack.topology
    toxiproxy = ToxiproxyClient(topology.toxiproxy_url)
    admin = ShopAdmin(topology, stack.admin_token)
    # with the broker, the consumer's queue-depth and delivery-lag gauges are read each second too
    metrics = ShopMetrics(topology, broker=bool(getattr(stack, "with_broker", False)))
    try:
        yield RunnerDeps(
            clock=SystemClock(),
            faults=ShopFaults(toxiproxy, admin, stack, topology=topology),
            shop=StackShop(stack, admin),
            metrics=metrics,
            load=LocustLoad(topology.service_url("gateway"), out_dir),
            observers=observers,
            run_audit=run_audit,
        )
    finally:
        for closer in (metrics.close, admin.close, toxiproxy.close):
            with contextlib.suppress(Exception):
                closer()
