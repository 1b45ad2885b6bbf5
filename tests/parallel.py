"""Give each pytest-xdist worker its own port band and run folder, so independent stacks run side by side.

A worker's session stack, its side stacks (+25 broker, +40 fuzz, +50 ``shoplab up``, +75 observability) and every
``shoplab`` command a test runs read ``SHOPLAB_PORT_OFFSET`` and ``SHOPLAB_RUN_DIR``; setting both once,
when the worker starts, moves all of them into the worker's band without touching the tests.
"""

from __future__ import annotations

from collections.abc import Mapping

from shop.topology import Topology
from shoplab import REPO_ROOT

WORKER_STRIDE = 100  # a stack plus its side stacks spans offsets +0..+75 and ~12 ports above each
SIDE_SHIFTS = (0, 25, 40, 50, 75)  # the session stack and the side stacks tests start beside it
MAX_WORKERS = 4  # from the 5th band on, worker k's services land on worker k-4's Toxiproxy/proxy ports


def worker_index(env: Mapping[str, str]) -> int | None:
    """Return this xdist worker's index (``gw2`` → 2), or None outside a worker."""
    name = env.get("PYTEST_XDIST_WORKER", "")
    if not name:
        return None
    if not (name.startswith("gw") and name[2:].isdigit()):
        raise ValueError(f"PYTEST_XDIST_WORKER must look like gw<N>, got {name!r}")
    return int(name[2:])


def worker_env(env: Mapping[str, str]) -> dict[str, str]:
    """Return the SHOPLAB_* settings this worker must run with (empty outside xdist)."""
    index = worker_index(env)
    if index is None:
        return {}
    count = int(env.get("PYTEST_XDIST_WORKER_COUNT", "1") or "1")
    if count > MAX_WORKERS:
        raise ValueError(
            f"at most {MAX_WORKERS} xdist workers can each run a stack without sharing a port "
            f"(got -n {count}); lower -n"
        )
    base_dir = env.get("SHOPLAB_RUN_DIR") or str(REPO_ROOT / ".shoplab")
    return {
        "SHOPLAB_PORT_OFFSET": str(_offset(env) + WORKER_STRIDE * index),
        "SHOPLAB_RUN_DIR": f"{base_dir.rstrip('/')}-{env['PYTEST_XDIST_WORKER']}",
    }


def _offset(env: Mapping[str, str]) -> int:
    """Return the base ``SHOPLAB_PORT_OFFSET`` (0 when unset), worded as the stack words a bad one."""
    raw = env.get("SHOPLAB_PORT_OFFSET", "0") or "0"
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"SHOPLAB_PORT_OFFSET must be an integer, got {raw!r}") from exc


def stack_ports(topology: Topology) -> set[int]:
    """Return every port one stack listens on (services, proxies, Toxiproxy, observability)."""
    services = {topology.service(name).port for name in topology.service_names}
    proxies = {edge.listen_port for edge in topology.proxied_edges}
    others = {topology.toxiproxy_port, topology.prometheus_port, topology.jaeger_ui_port,
              topology.jaeger_otlp_port, topology.worker_metrics_port, topology.amqp_port,
              topology.amqp_dist_port, topology.epmd_port, topology.consumer_metrics_port}
    return services | proxies | others


def band_ports(base_offset: int, index: int) -> set[int]:
    """Return the ports of worker ``index``'s session stack and side stacks."""
    offset = base_offset + WORKER_STRIDE * index
    return set().union(*(stack_ports(Topology(port_offset=offset + shift)) for shift in SIDE_SHIFTS))
