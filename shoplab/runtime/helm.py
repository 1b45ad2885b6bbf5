"""Render the Helm chart's topology file from ``shop/topology.py`` and render the chart with Helm.

The chart ``deploy/helm/shoplab/`` holds templates and a documented ``values.yaml``; the
shop's services, ports and edges come from ``files/topology.json``, which this module
derives from ``shop.topology.DEFAULT`` (``python -m shoplab.runtime.helm`` writes it,
``--check`` says whether the committed file drifted, exit 1). So the native stack, the
containers and the cluster cannot disagree about a port or an edge.

In the cluster every resource is named after its service (one release per namespace), a
caller's ``<CALLEE>_URL`` is ``http://toxiproxy:<edge port>`` and toxiproxy's proxy
``<caller>__<callee>`` forwards to ``<callee>:<port>``; with ``toxiproxy.enabled=false``
the callers point straight at ``http://<callee>:<port>``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from shop.topology import DEFAULT, TOXIPROXY_API_PORT, WORKER_METRICS_PORT, Topology
from shoplab import REPO_ROOT
from shoplab.runtime.compose import WORKER, render_toxiproxy_config

CHART_DIR = Path("deploy/helm/shoplab")
TOPOLOGY_FILE = CHART_DIR / "files" / "topology.json"
# The service owning the worker's database: the worker runs as a second container of its Pod.
WORKER_SERVICE = "orders"


def render_chart_topology(topology: Topology = DEFAULT) -> dict[str, Any]:
    """Return what the chart's templates iterate over: services, edges, the worker and toxiproxy's proxies."""
    return {
        "generatedBy": "python -m shoplab.runtime.helm from shop/topology.py: do not edit by hand",
        "services": [
            {"name": s.name, "port": topology.service(s.name).port, "calls": list(s.calls)}
            for s in topology.services
        ],
        "edges": [
            {"proxy": e.proxy_name, "caller": e.caller, "callee": e.callee, "port": e.listen_port}
            for e in topology.edges
        ],
        "worker": {"name": WORKER, "service": WORKER_SERVICE, "metricsPort": WORKER_METRICS_PORT},
        "toxiproxy": {"apiPort": TOXIPROXY_API_PORT, "proxies": render_toxiproxy_config(topology)},
    }


def render_topology_text(topology: Topology = DEFAULT) -> str:
    """Return the exact committed text of ``files/topology.json``."""
    return json.dumps(render_chart_topology(topology), indent=2) + "\n"


def is_drifted(root: Path = REPO_ROOT, topology: Topology = DEFAULT) -> bool:
    """Say whether the committed topology file differs from a fresh render."""
    path = root / TOPOLOGY_FILE
    return not path.is_file() or path.read_text() != render_topology_text(topology)


def run_helm(helm: Path, args: Sequence[str], *, chart: Path | None = None) -> str:
    """Run ``helm ARGS CHART`` and return its stdout; raise RuntimeError with helm's own words when it fails."""
    argv = [str(helm), *args, str(chart or REPO_ROOT / CHART_DIR)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv)}` failed with exit code {done.returncode}:\n"
                           f"{done.stdout}{done.stderr}")
    return done.stdout


def render_manifests(helm: Path, values: dict[str, Any] | None = None, *,
                     release: str = "shop", namespace: str = "shoplab") -> list[dict[str, Any]]:
    """Return every manifest ``helm template`` renders with ``values`` set (``--set-json``), parsed."""
    args = ["template", release, "--namespace", namespace]
    for key, value in (values or {}).items():
        args += ["--set-json", f"{key}={json.dumps(value)}"]
    return [doc for doc in yaml.safe_load_all(run_helm(helm, args)) if doc]


def main(argv: list[str] | None = None) -> int:
    """Write the chart's topology file, or with ``--check`` say whether it drifted (exit 1)."""
    parser = argparse.ArgumentParser(prog="python -m shoplab.runtime.helm", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report drift; write nothing")
    args = parser.parse_args(argv)
    if args.check:
        if is_drifted():
            print(f"{TOPOLOGY_FILE} drifted from shop/topology.py: run `python -m shoplab.runtime.helm`",
                  file=sys.stderr)
            return 1
        return 0
    path = REPO_ROOT / TOPOLOGY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_topology_text())
    print(f"wrote {TOPOLOGY_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
