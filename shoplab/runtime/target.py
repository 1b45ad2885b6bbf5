"""Drive a shop that runs elsewhere (a Kubernetes cluster) through the native stack's interface.

``SHOPLAB_TARGET=cluster.yaml`` makes ``Stack.attach`` return a ``TargetStack``: the
chaos runner, ``shoplab run``, ``fault``, ``profile`` and ``audit`` then reach toxiproxy's
API and every service (its API, ``/admin/*`` and ``/metrics``) at the URLs the file gives::

    toxiproxy: http://127.0.0.1:18474          # toxiproxy's API
    services:                                  # every service of shop/topology.py
      gateway: http://127.0.0.1:18080
      ...
      orders-worker: http://127.0.0.1:18088    # the worker's /metrics
    admin_token_file: .shoplab/cluster-admin-token   # or set SHOPLAB_ADMIN_TOKEN

``SHOPLAB_TARGET=env`` reads the same from the environment only. Either way
``SHOPLAB_TARGET_TOXIPROXY_URL`` and ``SHOPLAB_TARGET_<SERVICE>_URL`` override an entry.
The secrets never sit in the file: the admin token comes from ``SHOPLAB_ADMIN_TOKEN`` or the
file named by ``admin_token_file`` (the JWT secret likewise, optional).

Edge faults (toxics, a disabled proxy), app faults and profile switches work as natively;
process faults (stop, kill, pause a service) need the cluster's own API and are refused with
a message, as are ``up`` and ``down`` (Helm installs and removes the shop).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import yaml

from shop.topology import DEFAULT, Topology
from shoplab.runtime.errors import StackError
from shoplab.runtime.polling import poll_until
from shoplab.runtime.protocol import ProcessStatus, ProgressFn
from shoplab.runtime.state import default_run_dir

TARGET_ENV = "SHOPLAB_TARGET"
FROM_ENV = "env"
TOXIPROXY = "toxiproxy"
WORKER = "orders-worker"  # its /metrics: the runner reads the worker's edges there
_NO_PROCESS_FAULTS = (
    "process faults (stop, kill, pause) are not available on a cluster target ({target}); "
    "use the cluster's own tools, e.g. `kubectl scale deploy/{name} --replicas=0`"
)


def is_target_mode(env: Mapping[str, str] | None = None) -> bool:
    """Say whether ``SHOPLAB_TARGET`` points the commands at a shop running elsewhere."""
    return bool((os.environ if env is None else env).get(TARGET_ENV, "").strip())


@dataclass(frozen=True)
class TargetTopology(Topology):
    """The topology (names, edges, ports) with the URLs where a target serves toxiproxy and each service."""

    urls: tuple[tuple[str, str], ...] = field(default=())

    def _url(self, name: str) -> str:
        for key, url in self.urls:
            if key == name:
                return url
        raise KeyError(f"the target gives no URL for {name!r}")

    def service_url(self, name: str) -> str:
        """Return the URL the target gives for service ``name``."""
        self.service(name)  # KeyError naming the known services for an unknown one
        return self._url(name)

    @property
    def toxiproxy_url(self) -> str:
        """Return the target's toxiproxy API URL."""
        return self._url(TOXIPROXY)

    @property
    def worker_metrics_url(self) -> str:
        """Return the target's URL of the orders worker's /metrics."""
        return self._url(WORKER)


def _env_key(name: str) -> str:
    return f"SHOPLAB_TARGET_{name.upper().replace('-', '_')}_URL"


def _read_secret(env: Mapping[str, str], data: Mapping[str, Any], name: str, base: Path) -> str | None:
    """Return secret ``name`` from ``SHOPLAB_<NAME>``, else from the file ``<name>_file`` names, else None."""
    value = env.get(f"SHOPLAB_{name.upper()}")
    if value:
        return value
    file = data.get(f"{name}_file")
    if not file:
        return None
    path = (base / str(file)).expanduser()
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise StackError(f"cannot read {name}_file {path}: {exc.strerror}") from exc


def load_target(env: Mapping[str, str] | None = None, topology: Topology = DEFAULT) -> tuple[TargetTopology, str,
                                                                                             str | None]:
    """Return the target's topology, admin token and JWT secret (or None) from ``SHOPLAB_TARGET``.

    Raises StackError naming what is missing or malformed.
    """
    env = os.environ if env is None else env
    where = env.get(TARGET_ENV, "").strip()
    data: dict[str, Any] = {}
    base = Path.cwd()
    if where and where != FROM_ENV:
        path = Path(where).expanduser()
        try:
            loaded = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise StackError(f"{TARGET_ENV}={where}: cannot read it ({exc.strerror})") from exc
        except yaml.YAMLError as exc:
            raise StackError(f"{TARGET_ENV}={where} is not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict) or not isinstance(loaded.get("services", {}), dict):
            raise StackError(f"{TARGET_ENV}={where} must be a mapping with `toxiproxy:` and `services:`")
        data, base = loaded, path.parent
    services = data.get("services") or {}
    unknown = sorted(set(services) - {*topology.service_names, WORKER})
    if unknown:
        raise StackError(f"{TARGET_ENV}: unknown service(s) {', '.join(unknown)} "
                         f"(known: {', '.join(topology.service_names)}, {WORKER})")
    urls: dict[str, str] = {}
    for name in (TOXIPROXY, *topology.service_names, WORKER):
        url = env.get(_env_key(name)) or (data.get(TOXIPROXY) if name == TOXIPROXY else services.get(name))
        if not url:
            where_said = f"`{name}:`" if name == TOXIPROXY else f"`services: {name}:`"
            raise StackError(f"{TARGET_ENV}: no URL for {name} (set {where_said} in the file or {_env_key(name)})")
        urls[name] = str(url).rstrip("/")
    token = _read_secret(env, data, "admin_token", base)
    if not token:
        raise StackError(f"{TARGET_ENV}: no admin token (set SHOPLAB_ADMIN_TOKEN or `admin_token_file:`)")
    jwt = _read_secret(env, data, "jwt_secret", base)
    target = TargetTopology(services=topology.services, extra_edges=topology.extra_edges,
                            urls=tuple(urls.items()))
    return target, token, jwt


class TargetStack:
    """A shop someone else runs (Helm on a cluster), reached at the URLs of ``SHOPLAB_TARGET``."""

    def __init__(self, topology: TargetTopology, admin_token: str, jwt_secret: str | None = None, *,
                 run_dir: Path | str | None = None, http: httpx.Client | None = None) -> None:
        # The run folder stays local: the runner's fault leases and reports live there.
        self.run_dir = Path(run_dir).resolve() if run_dir else default_run_dir()
        self.topology: Topology = topology
        self._admin_token = admin_token
        self._jwt_secret = jwt_secret
        self._http = http or httpx.Client(timeout=3.0)

    @classmethod
    def attach(cls, run_dir: Path | str | None = None, env: Mapping[str, str] | None = None) -> TargetStack:
        """Return the target's stack; raise StackError (never StackNotRunning: nothing starts it here)."""
        topology, token, jwt = load_target(env)
        stack = cls(topology, token, jwt, run_dir=run_dir)
        if not stack.is_running():
            raise StackError(f"the shop at {TARGET_ENV} does not answer (toxiproxy {topology.toxiproxy_url}, "
                             f"gateway {topology.service_url('gateway')}): is it installed and port-forwarded? "
                             "See docs/kubernetes.md")
        return stack

    @property
    def admin_token(self) -> str:
        """Return the target's admin token."""
        return self._admin_token

    @property
    def jwt_secret(self) -> str:
        """Return the target's JWT secret; raise StackError when the target gave none."""
        if not self._jwt_secret:
            raise StackError(f"{TARGET_ENV}: no JWT secret (set SHOPLAB_JWT_SECRET or `jwt_secret_file:`)")
        return self._jwt_secret

    def admin_headers(self) -> dict[str, str]:
        """Return the headers that authorise an admin API call."""
        return {"Authorization": f"Bearer {self.admin_token}"}

    def service_url(self, name: str) -> str:
        """Return a service's URL on the target."""
        return self.topology.service_url(name)

    def _http_ok(self, url: str) -> bool:
        try:
            return self._http.get(url).status_code == 200
        except httpx.HTTPError:
            return False

    def _health_urls(self) -> dict[str, str]:
        urls = {TOXIPROXY: self.topology.toxiproxy_url + "/version"}
        urls.update({name: self.service_url(name) + "/readyz" for name in self.topology.service_names})
        return urls

    def is_running(self) -> bool:
        """Say whether toxiproxy and the gateway answer."""
        return self._http_ok(self.topology.toxiproxy_url + "/version") and self._http_ok(
            self.service_url("gateway") + "/healthz")

    def up(self, *, timeout_s: float = 120.0, progress: ProgressFn | None = None) -> None:
        """Refuse: Helm starts the shop on a cluster."""
        raise StackError(f"{TARGET_ENV} is set: the shop runs elsewhere; install it with Helm "
                         "(docs/kubernetes.md) or unset it to start the native stack")

    def wait_ready(self, *, timeout_s: float = 120.0, progress: ProgressFn | None = None) -> None:
        """Wait until toxiproxy and every service answer their health URL."""
        for name, url in self._health_urls().items():
            if progress:
                progress(f"waiting for {name}")
            poll_until(partial(self._http_ok, url), timeout_s=timeout_s, interval_s=0.5,
                       message=f"{name} to be ready ({url})")

    def status(self) -> list[ProcessStatus]:
        """Return each part's health as the target answers it (no pids: the cluster owns the processes)."""
        result = []
        for name, url in self._health_urls().items():
            healthy = self._http_ok(url)
            base = url.rsplit("/", 1)[0]
            result.append(ProcessStatus(name, "RUNNING" if healthy else "UNKNOWN", None, base, healthy))
        return result

    def _refuse(self, name: str) -> StackError:
        return StackError(_NO_PROCESS_FAULTS.format(target=os.environ.get(TARGET_ENV, FROM_ENV), name=name))

    def stop_process(self, name: str) -> None:
        """Refuse: process faults need the cluster's API."""
        raise self._refuse(name)

    def start_process(self, name: str, *, timeout_s: float = 60.0) -> None:
        """Refuse: process faults need the cluster's API."""
        raise self._refuse(name)

    def kill_process(self, name: str) -> None:
        """Refuse: process faults need the cluster's API."""
        raise self._refuse(name)

    def signal_process(self, name: str, sig: str) -> None:
        """Refuse: process faults need the cluster's API."""
        raise self._refuse(name)

    def down(self, *, purge: bool = False) -> None:
        """Refuse: Helm removes the shop from a cluster."""
        raise StackError(f"{TARGET_ENV} is set: remove the shop with `helm uninstall` (docs/kubernetes.md)")
