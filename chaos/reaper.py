"""Remove expired faults: the ``shoplab-reaper`` process supervised with the stack.

Every second it reads the run dir's lease table and undoes each expired lease
through the real APIs (remove the toxic, enable the proxy, clear the service's
app faults, switch the profile back), then drops the lease. A lease whose undo
fails stays, so the next pass retries. A corrupt lease file is reported (once
per change of the file) and the reaper keeps running.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from chaos.admin import ShopAdmin
from chaos.errors import ChaosError
from chaos.leases import Lease, LeaseFileCorrupt, LeaseTable
from chaos.toxiproxy import ToxiproxyClient
from shop.topology import Topology
from shoplab.runtime.errors import StackError
from shoplab.runtime.target import is_target_mode, load_target

log = logging.getLogger("shoplab.reaper")
INTERVAL_S = 1.0


def undo_lease(lease: Lease, toxiproxy: ToxiproxyClient, admin: ShopAdmin) -> None:
    """Undo what one lease covers (idempotent); raise ChaosError when an API refuses."""
    if lease.kind == "toxic":
        if lease.name in {t.name for t in toxiproxy.list_toxics(lease.target)}:
            toxiproxy.remove_toxic(lease.target, lease.name)
    elif lease.kind == "down":
        toxiproxy.enable_proxy(lease.target)
    elif lease.kind == "app":
        admin.clear_faults(lease.target)
    elif lease.kind == "profile" and lease.restore:
        services = None if lease.target == "*" else [lease.target]
        admin.set_profile(lease.restore, services)


def reap_once(table: LeaseTable, toxiproxy: ToxiproxyClient, admin: ShopAdmin) -> tuple[list[Lease], list[str]]:
    """Undo and drop every expired lease; return (reaped, problems). Raise LeaseFileCorrupt."""
    reaped: list[Lease] = []
    problems: list[str] = []
    # Fault leases first, then profiles: a profile switched back under a live fault is fine either way.
    for lease in sorted(table.expired(), key=lambda x: x.kind == "profile"):
        try:
            undo_lease(lease, toxiproxy, admin)
        except ChaosError as exc:
            problems.append(f"cannot undo {lease.description} ({lease.owner}): {exc}")
            continue
        table.remove(lease.id)
        reaped.append(lease)
    return reaped, problems


def run_reaper(run_dir: Path, topology: Topology, admin_token: str, *, interval_s: float = INTERVAL_S,
               should_stop: Callable[[], bool] = lambda: False) -> None:
    """Reap expired leases every ``interval_s`` until ``should_stop``; log what was removed."""
    table = LeaseTable(run_dir)
    last_corrupt = ""
    with ToxiproxyClient(topology.toxiproxy_url) as toxiproxy, ShopAdmin(topology, admin_token) as admin:
        while not should_stop():
            try:
                reaped, problems = reap_once(table, toxiproxy, admin)
                last_corrupt = ""
            except LeaseFileCorrupt as exc:
                if str(exc) != last_corrupt:
                    log.error("%s", exc)
                    last_corrupt = str(exc)
                reaped, problems = [], []
            except OSError as exc:  # a full disk or a missing run dir is worth a line, not a crash
                reaped, problems = [], [f"lease table: {exc}"]
            for lease in reaped:
                log.warning("expired: removed %s (owner %s)", lease.description, lease.owner)
            for problem in problems:
                log.error("%s", problem)
            time.sleep(interval_s)  # pacing the loop, not a test wait


def main() -> None:
    """Run the reaper of the stack in ``SHOPLAB_RUN_DIR`` (the supervisor passes the environment).

    With ``SHOPLAB_TARGET`` set (a shop on a cluster) it reaps through the target's URLs and token.
    """
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s reaper %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per removal, not per poll
    run_dir = os.environ.get("SHOPLAB_RUN_DIR")
    topology, token = Topology.from_env(), os.environ.get("SHOPLAB_ADMIN_TOKEN")
    if is_target_mode():
        try:
            topology, token, _jwt = load_target()
        except StackError as exc:
            sys.exit(f"shoplab-reaper: {exc}")
    if not run_dir or not token:
        sys.exit("shoplab-reaper: SHOPLAB_RUN_DIR and SHOPLAB_ADMIN_TOKEN (or SHOPLAB_TARGET) must be set")
    run_reaper(Path(run_dir), topology, token)


if __name__ == "__main__":
    main()
