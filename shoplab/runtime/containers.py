"""Drive the containers' shop (docker-compose.yml) through the native stack's interface.

The ``shoplab`` commands and the chaos runner talk to the shop over its ports (the
same in both modes) and control processes through a stack object. ``ContainerStack``
is that object for ``docker compose``: process faults become ``docker compose
stop|start|kill|pause|unpause`` on the service of the same name, readiness is the
services' ``/readyz``. ``SHOPLAB_MODE=containers`` makes ``Stack.attach`` return it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx

from shop.topology import DEFAULT, JAEGER_UI_PORT, PROMETHEUS_PORT, Topology
from shoplab import REPO_ROOT
from shoplab.runtime import compose
from shoplab.runtime.errors import StackError, StackNotRunning
from shoplab.runtime.polling import poll_until
from shoplab.runtime.protocol import ProcessStatus, ProgressFn
from shoplab.runtime.state import default_run_dir

MODE_ENV = "SHOPLAB_MODE"
CONTAINERS = "containers"
COMPOSE_HINT = (
    "install Docker Engine with the compose plugin (`docker compose version` must work), "
    "or Debian's `docker-compose` package"
)
# docker compose kill/pause stand in for the native supervisor's signals.
_PAUSE = {"STOP": "pause", "CONT": "unpause"}


def _default_of(expr: str) -> str:
    """Return the default of a ``${VAR:-default}`` compose expression."""
    match = re.fullmatch(r"\$\{\w+:-(.*)\}", expr)
    if not match:
        raise ValueError(f"not a ${{VAR:-default}} expression: {expr!r}")
    return match.group(1)


def find_compose_command() -> list[str]:
    """Return the argv prefix of Compose (``docker compose`` or ``docker-compose``); raise StackError when absent."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy is not None:
        return [legacy]
    raise StackError(f"Docker Compose is not installed: {COMPOSE_HINT}")


class ContainerStack:
    """The shop running under docker compose, with the native ``Stack``'s command-facing methods."""

    def __init__(
        self,
        run_dir: Path | str | None = None,
        *,
        project_dir: Path = REPO_ROOT,
        compose_command: list[str] | None = None,
        http: httpx.Client | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir).resolve() if run_dir else default_run_dir()
        # Containers publish the documented ports: offset 0, whatever this shell says.
        self.topology: Topology = DEFAULT
        self.project_dir = Path(project_dir)
        self._compose_command = compose_command
        self._http = http or httpx.Client(timeout=2.0)
        self._env = dict(os.environ if env is None else env)

    # -- identity ------------------------------------------------------------------------------
    @property
    def admin_token(self) -> str:
        """Return the admin token the containers were started with (env, else the local default)."""
        return self._env.get("SHOPLAB_ADMIN_TOKEN") or _default_of(compose.ADMIN_TOKEN)

    @property
    def jwt_secret(self) -> str:
        """Return the JWT secret the containers were started with (env, else the local default)."""
        return self._env.get("SHOPLAB_JWT_SECRET") or _default_of(compose.JWT_SECRET)

    def admin_headers(self) -> dict[str, str]:
        """Return the headers that authorise an admin API call."""
        return {"Authorization": f"Bearer {self.admin_token}"}

    def service_url(self, name: str) -> str:
        """Return a service's published URL."""
        return self.topology.service_url(name)

    @property
    def process_names(self) -> tuple[str, ...]:
        """Return the processes a fault can name: the compose services of the default profile."""
        services = compose.render_compose(self.topology, self.project_dir)["services"]
        return tuple(name for name, svc in services.items() if not svc.get("profiles"))

    def _health_url(self, name: str) -> str | None:
        if name in self.topology.service_names:
            return self.service_url(name) + "/readyz"
        return {
            "toxiproxy": self.topology.toxiproxy_url + "/version",
            "prometheus": f"http://{self.topology.host}:{PROMETHEUS_PORT}/-/ready",
            "jaeger": f"http://{self.topology.host}:{JAEGER_UI_PORT}/",
        }.get(name)  # the worker publishes no port: Compose's own state tells

    # -- compose ---------------------------------------------------------------------------------
    def compose(self, *args: str) -> str:
        """Run one Compose subcommand on this project; raise StackError with its output on failure."""
        prefix = self._compose_command or find_compose_command()
        self._compose_command = prefix
        argv = [*prefix, "--project-directory", str(self.project_dir),
                "-f", str(self.project_dir / compose.COMPOSE_PATH), *args]
        result = subprocess.run(argv, capture_output=True, text=True, env=self._env, check=False)
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip() or f"exit code {result.returncode}"
            raise StackError(f"`{' '.join(args)}` failed: {output}")
        return result.stdout

    def _check_name(self, name: str) -> None:
        if name not in self.process_names:
            raise StackError(f"no process {name!r} in the containers (known: {', '.join(self.process_names)})")

    def _http_ok(self, url: str) -> bool:
        try:
            return self._http.get(url).status_code == 200
        except httpx.HTTPError:
            return False

    # -- lifecycle -------------------------------------------------------------------------------
    @classmethod
    def attach(cls, run_dir: Path | str | None = None, **kwargs: Any) -> ContainerStack:
        """Return the running containers' stack; raise StackNotRunning when the shop does not answer."""
        stack = cls(run_dir, **kwargs)
        if not stack.is_running():
            raise StackNotRunning(
                "the containers' shop does not answer on 127.0.0.1 (toxiproxy :8474, gateway :8080): "
                "start it with `docker compose up -d`"
            )
        return stack

    def is_running(self) -> bool:
        """Say whether Toxiproxy and the gateway answer on their published ports."""
        return self._http_ok(self.topology.toxiproxy_url + "/version") and self._http_ok(
            self.service_url("gateway") + "/healthz"
        )

    def up(self, *, timeout_s: float = 300.0, progress: ProgressFn | None = None) -> None:
        """Build and start the containers, then wait until every service is ready."""
        say = progress or (lambda _msg: None)
        say("docker compose up -d --build")
        self.compose("up", "-d", "--build")
        self.wait_ready(timeout_s=timeout_s, progress=say)

    def wait_ready(self, *, timeout_s: float = 300.0, progress: ProgressFn | None = None) -> None:
        """Wait until every published health URL answers 200."""
        for name in self.process_names:
            url = self._health_url(name)
            if url is not None:
                if progress:
                    progress(f"waiting for {name}")
                self._wait_ok(url, timeout_s, name)

    def _wait_ok(self, url: str, timeout_s: float, name: str) -> None:
        poll_until(lambda: self._http_ok(url), timeout_s=timeout_s, interval_s=0.2,
                   message=f"{name} to be ready ({url})")

    def down(self, *, purge: bool = False) -> None:
        """Stop and remove the containers; drop the data volumes only with ``purge``."""
        self.compose("down", *(["--volumes"] if purge else []))

    def status(self) -> list[ProcessStatus]:
        """Return each container's state (from Compose) and health (from its published URL)."""
        states = self._container_states()
        result = []
        for name in self.process_names:
            state = states.get(name, "MISSING")
            url = self._health_url(name)
            healthy = self._http_ok(url) if url and state == "RUNNING" else None
            base = "/".join(url.split("/", 3)[:3]) if url else None
            tail = "" if state == "RUNNING" and healthy is not False else self._log_tail(name)
            result.append(ProcessStatus(name, state, None, base, healthy, tail))
        return result

    def _log_tail(self, name: str, lines: int = 10) -> str:
        try:
            return self.compose("logs", "--no-color", "--tail", str(lines), name).strip()
        except StackError as exc:
            return str(exc)

    def _container_states(self) -> dict[str, str]:
        out = self.compose("ps", "--all", "--format", "json").strip()
        # Compose prints one JSON array (older v2) or one object per line (newer v2).
        rows: list[dict[str, Any]] = []
        if out.startswith("["):
            rows = json.loads(out)
        else:
            rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return {str(row["Service"]): str(row["State"]).upper() for row in rows}

    # -- process faults ----------------------------------------------------------------------------
    def stop_process(self, name: str) -> None:
        """Stop one container gracefully (SIGTERM, then SIGKILL after its grace period)."""
        self._check_name(name)
        self.compose("stop", name)

    def start_process(self, name: str, *, timeout_s: float = 60.0) -> None:
        """Start one container again and wait until it is ready."""
        self._check_name(name)
        self.compose("start", name)
        url = self._health_url(name)
        if url is not None:
            self._wait_ok(url, timeout_s, name)

    def kill_process(self, name: str) -> None:
        """SIGKILL one container; it stays down until ``start_process``."""
        self.signal_process(name, "KILL")

    def signal_process(self, name: str, sig: str) -> None:
        """Pause (``STOP``), unpause (``CONT``) or send any other signal to one container."""
        self._check_name(name)
        sig = sig.upper().removeprefix("SIG")
        if sig in _PAUSE:
            self.compose(_PAUSE[sig], name)
        else:
            self.compose("kill", "-s", f"SIG{sig}", name)


def is_containers_mode(env: dict[str, str] | None = None) -> bool:
    """Say whether ``SHOPLAB_MODE=containers`` asks commands to drive the containers."""
    source = os.environ if env is None else env
    return source.get(MODE_ENV, "").strip().lower() == CONTAINERS
