"""Run the whole shop natively under supervisord: toxiproxy, edge proxies, services, worker.

The programs come from ``shoplab.runtime.programs``, supervisord's config and API from
``shoplab.runtime.supervisord``; this module starts them in order, checks readiness,
fault-injects processes and stops exactly what it started.

Run folder (``SHOPLAB_RUN_DIR``, default ``.shoplab/`` in the checkout)::

    state.json          port offset, admin token, JWT secret (mode 0600)
    supervisord.conf    generated; supervisor.sock, supervisord.pid, supervisord.log
    logs/<program>.log  stdout+stderr of each program
    data/<service>/     each service's SQLite file (kept unless ``down(purge=True)``)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from shop.topology import BROKER, Edge, Topology
from shoplab.runtime import broker
from shoplab.runtime.containers import ContainerStack, is_containers_mode
from shoplab.runtime.errors import PollTimeout, PortTaken, StackError, StackNotRunning
from shoplab.runtime.observability import ensure_observability_tools
from shoplab.runtime.polling import poll_until
from shoplab.runtime.ports import ensure_ports_free, is_port_free
from shoplab.runtime.programs import TOXIPROXY, WORKER, native_programs
from shoplab.runtime.protocol import ProcessStatus, ProgressFn, ShopStack
from shoplab.runtime.state import default_run_dir, new_state, read_state, write_private, write_state
from shoplab.runtime.supervisord import Program, log_tail, read_pid, render_config, rpc
from shoplab.runtime.target import TargetStack, is_target_mode

# Names other packages import from here: the native stack's whole public face.
__all__ = [
    "WORKER", "TOXIPROXY", "PortTaken", "ProcessStatus", "Program", "ShopStack", "Stack", "StackError",
    "StackNotRunning", "default_run_dir", "ensure_ports_free", "is_port_free", "running_stack",
]

# A program in one of these states will not become ready by waiting.
_DEAD = ("EXITED", "FATAL", "BACKOFF", "STOPPED")


class Stack:
    """The native shop in one run folder: start, inspect, fault and stop its processes."""

    def __init__(
        self,
        run_dir: Path | str | None = None,
        topology: Topology | None = None,
        *,
        observability: bool | None = None,
        env: dict[str, str] | None = None,
        profile: str | None = None,
        with_worker: bool = True,
        broker: bool | None = None,
    ) -> None:
        self.run_dir = Path(run_dir).resolve() if run_dir else default_run_dir()
        self.topology = topology or Topology.from_env()
        self._observability = observability
        self._extra_env = dict(env or {})
        self._profile = profile or os.environ.get("SHOPLAB_RESILIENCE_PROFILE") or "resilient"
        self._with_worker = with_worker
        # RabbitMQ and SHOPLAB_EVENTS=amqp: asked for (`up --broker`), or implied by SHOPLAB_EVENTS=amqp
        self._broker = broker if broker is not None else os.environ.get("SHOPLAB_EVENTS", "").lower() == "amqp"
        self._state: dict[str, Any] = {}

    # -- paths and state ---------------------------------------------------------------
    @property
    def socket_path(self) -> Path:
        """Return supervisord's unix socket path."""
        return self.run_dir / "supervisor.sock"

    @property
    def state_path(self) -> Path:
        """Return the path of ``state.json``."""
        return self.run_dir / "state.json"

    @property
    def log_dir(self) -> Path:
        """Return the folder of the programs' logs."""
        return self.run_dir / "logs"

    @property
    def data_dir(self) -> Path:
        """Return the folder of the services' data."""
        return self.run_dir / "data"

    @property
    def admin_token(self) -> str:
        """Return the admin token of this stack."""
        return str(self._load_state()["admin_token"])

    @property
    def jwt_secret(self) -> str:
        """Return the JWT secret shared by identity and the gateway."""
        return str(self._load_state()["jwt_secret"])

    def admin_headers(self) -> dict[str, str]:
        """Return the headers that authorise an admin API call."""
        return {"Authorization": f"Bearer {self.admin_token}"}

    def service_url(self, name: str) -> str:
        """Return a service's direct URL."""
        return self.topology.service_url(name)

    @classmethod
    def attach(cls, run_dir: Path | str | None = None) -> ShopStack:
        """Return the stack running in ``run_dir`` (the containers with ``SHOPLAB_MODE=containers``,
        the shop at ``SHOPLAB_TARGET``'s URLs when that is set).

        Raises StackNotRunning when none is (StackError when the target does not answer).
        """
        if is_target_mode():
            return TargetStack.attach(run_dir)
        if is_containers_mode():
            return ContainerStack.attach(run_dir)
        path = Path(run_dir).resolve() if run_dir else default_run_dir()
        state = read_state(path / "state.json")
        if not state:
            raise StackNotRunning(f"no shoplab stack in {path}: start one with `shoplab up -d`")
        topology = Topology(port_offset=int(state.get("port_offset", 0)), proxies=bool(state.get("proxies", True)))
        stack = cls(path, topology, broker=bool(state.get("broker")))
        stack._state = state
        if not stack.is_running():
            raise StackNotRunning(f"the shoplab stack in {path} is not running: start it with `shoplab up -d`")
        return stack

    def _load_state(self) -> dict[str, Any]:
        if not self._state:
            self._state = read_state(self.state_path) or new_state(self.topology.port_offset)
        return self._state

    def _save_state(self) -> None:
        write_state(self.state_path, self._state)

    # -- programs --------------------------------------------------------------------------
    def programs(self) -> list[Program]:
        """Return every program of this stack, in start order."""
        return native_programs(
            self.topology,
            self._load_state(),
            run_dir=self.run_dir,
            data_dir=self.data_dir,
            observability_on=self._observability is not False,
            profile=self._profile,
            extra_env=self._extra_env,
            with_worker=self._with_worker,
            with_broker=self._broker,
        )

    @property
    def with_broker(self) -> bool:
        """Say whether this stack runs RabbitMQ and carries order events over it."""
        return self._broker

    @property
    def proxied_edges(self) -> tuple[Edge, ...]:
        """Return the edges this stack has a proxy for (the broker edges only with the broker; none with proxies off)."""
        edges = self.topology.proxied_edges
        return edges if self._broker else tuple(e for e in edges if e in self.topology.edges)

    def _render_config(self, programs: list[Program]) -> str:
        return render_config(programs, run_dir=self.run_dir, socket_path=self.socket_path, log_dir=self.log_dir)

    # -- supervisord ---------------------------------------------------------------------------
    def _rpc(self) -> Any:
        return rpc(self.socket_path)

    def _supervisord_pid(self) -> int | None:
        return read_pid(self.run_dir / "supervisord.pid")

    def is_running(self) -> bool:
        """Say whether supervisord answers in this run folder."""
        if not self.socket_path.exists() or self._supervisord_pid() is None:
            return False
        try:
            self._rpc().getState()
        except (OSError, xmlrpc.client.Error):
            return False
        return True

    # -- up ------------------------------------------------------------------------------------------
    def _ports(self, programs: list[Program]) -> dict[int, str]:
        ports = {p.port: p.name for p in programs if p.port is not None}
        for edge in self.proxied_edges:
            ports[edge.listen_port] = f"proxy {edge.proxy_name}"
        return ports

    def up(self, *, timeout_s: float = 90.0, progress: ProgressFn | None = None) -> None:
        """Start every program, create the edge proxies and wait until all are ready.

        Raises PortTaken before starting anything when a port is in use, and
        StackError (after stopping everything it started) when a program fails.
        """
        say = progress or (lambda _msg: None)
        if self.is_running():
            raise StackError(f"a shoplab stack is already running in {self.run_dir}: `shoplab status` shows it")
        if self._observability is True:
            # Asked for explicitly (`shoplab up`): install Prometheus and Jaeger on first need.
            ensure_observability_tools()
        programs = self.programs()
        ensure_ports_free(self._ports(programs), self.topology.host)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._state["proxies"] = self.topology.proxies  # `attach` rebuilds the same topology
        self._save_state()
        conf = self.run_dir / "supervisord.conf"
        write_private(conf, self._render_config(programs))
        if len(str(self.socket_path)) > 100:
            raise StackError(f"run folder path too long for a unix socket: {self.run_dir}")
        say("starting supervisord")
        subprocess.run([sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)], check=True)
        try:
            self._wait(self.is_running, 15, "supervisord to answer")
            if self.topology.proxies:
                say("starting toxiproxy")
                self._rpc().startProcess(TOXIPROXY, False)
                self._wait(lambda: self._http_ok(self.topology.toxiproxy_url + "/version"), 15, "toxiproxy")
                self._populate_proxies()
                say(f"created {len(self.proxied_edges)} edge proxies")
            else:
                say("SHOPLAB_PROXIES=off: no toxiproxy, callers call their callees directly")
            rest = [p for p in programs if p.name != TOXIPROXY]
            for prog in rest:
                self._rpc().startProcess(prog.name, False)
            say(f"started {len(rest)} programs; waiting for readiness")
            self.wait_ready(timeout_s=timeout_s, programs=programs, progress=say)
            self._state["programs"] = [p.name for p in programs]
            self._state["broker"] = self._broker
            self._state["started_at"] = time.time()
            self._save_state()
        except BaseException:
            self._shutdown()
            raise

    def _populate_proxies(self) -> None:
        def upstream(e: Edge) -> int:
            # both broker edges lead to the broker's AMQP port
            return self.topology.amqp_port if BROKER in (e.caller, e.callee) else self.topology.service(e.callee).port

        body = [
            {
                "name": e.proxy_name,
                "listen": f"{self.topology.host}:{e.listen_port}",
                "upstream": f"{self.topology.host}:{upstream(e)}",
                "enabled": True,
            }
            for e in self.proxied_edges
        ]
        resp = httpx.post(self.topology.toxiproxy_url + "/populate", json=body, timeout=10)
        if resp.status_code >= 300:
            raise StackError(f"toxiproxy refused the edge proxies: {resp.status_code} {resp.text}")

    def _http_ok(self, url: str) -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def _wait(self, check: Callable[[], object], timeout_s: float, what: str) -> None:
        poll_until(check, timeout_s=timeout_s, interval_s=0.1, message=what)

    def wait_ready(
        self,
        *,
        timeout_s: float = 90.0,
        programs: list[Program] | None = None,
        progress: ProgressFn | None = None,
    ) -> None:
        """Wait until every program runs, every ``ready_path`` answers 200 and every proxy exists.

        Raises StackError at once, with its log tail, when a program dies while starting.
        """
        pending = {p.name: p for p in programs or self.programs()}

        def all_ready() -> bool:
            infos = {i["name"]: i for i in self._rpc().getAllProcessInfo()}
            for name, prog in list(pending.items()):
                info = infos.get(name)
                state = info["statename"] if info else "UNKNOWN"
                if state in _DEAD:
                    tail = log_tail(self.log_dir / f"{name}.log")
                    raise StackError(f"{name} failed to start ({state}); last log lines:\n{tail}")
                if state != "RUNNING":
                    continue
                if prog.ready_path and prog.url and not self._http_ok(prog.url + prog.ready_path):
                    continue
                if prog.amqp_ready and prog.url and not broker.is_ready(prog.url):
                    continue
                del pending[name]
                if progress:
                    progress(f"{name} ready")
            return not pending

        try:
            poll_until(all_ready, timeout_s=timeout_s, interval_s=0.1, message="readiness", reraise=(StackError,))
        except PollTimeout as exc:
            names = ", ".join(sorted(pending))
            raise PollTimeout(f"not ready after {timeout_s:.0f} s: {names} (see {self.log_dir})") from exc
        if self.topology.proxies:
            self._wait(self._proxies_exist, 10, "every edge proxy to exist")

    def _proxies_exist(self) -> bool:
        try:
            names = set(httpx.get(self.topology.toxiproxy_url + "/proxies", timeout=2).json())
        except (httpx.HTTPError, ValueError):
            return False
        return {e.proxy_name for e in self.proxied_edges} <= names

    # -- status ----------------------------------------------------------------------------------------
    def status(self) -> list[ProcessStatus]:
        """Return each program's state, pid, URL, health, and a log tail when it is down."""
        if not self.is_running():
            raise StackNotRunning(f"no shoplab stack is running in {self.run_dir}")
        by_name = {p.name: p for p in self.programs()}
        result = []
        order = list(by_name)
        infos = sorted(self._rpc().getAllProcessInfo(), key=lambda i: order.index(i["name"]) if i["name"] in order else 99)
        for info in infos:
            name = info["name"]
            prog = by_name.get(name)
            state = info["statename"]
            pid = info["pid"] or None
            url = prog.url if prog else None
            healthy: bool | None = None
            if state == "RUNNING" and prog and prog.health_path and prog.url:
                healthy = self._http_ok(prog.url + prog.health_path)
            elif state == "RUNNING" and prog and prog.amqp_ready and prog.url:
                healthy = broker.is_ready(prog.url)
            tail = "" if state == "RUNNING" and healthy is not False else log_tail(self.log_dir / f"{name}.log", 10)
            result.append(ProcessStatus(name, state, pid, url, healthy, tail))
        return result

    # -- process faults -----------------------------------------------------------------------------
    def _info(self, name: str) -> dict[str, Any]:
        try:
            info: dict[str, Any] = self._rpc().getProcessInfo(name)
        except xmlrpc.client.Fault as exc:
            raise StackError(f"no process {name!r} in this stack") from exc
        return info

    def stop_process(self, name: str) -> None:
        """Stop one program gracefully (SIGTERM, then SIGKILL after its stop wait)."""
        if self._info(name)["statename"] in ("RUNNING", "STARTING"):
            self._rpc().stopProcess(name, True)

    def start_process(self, name: str, *, timeout_s: float = 30.0) -> None:
        """Start one program again and wait until it is ready."""
        # programs() rewrites Prometheus' and Jaeger's config files: do it before the start,
        # or the starting program can read a truncated file ("empty configuration file").
        prog = next(p for p in self.programs() if p.name == name)
        if self._info(name)["statename"] != "RUNNING":
            self._rpc().startProcess(name, False)
        self.wait_ready(timeout_s=timeout_s, programs=[prog])

    def kill_process(self, name: str) -> None:
        """SIGKILL one program; it stays down until ``start_process``."""
        self.signal_process(name, "KILL")
        self._wait(lambda: self._info(name)["statename"] != "RUNNING", 10, f"{name} to die")

    def signal_process(self, name: str, sig: str) -> None:
        """Send a signal (``STOP``, ``CONT``, ``KILL``, ...) to one program's process group."""
        info = self._info(name)
        if not info["pid"]:
            raise StackError(f"{name} is not running")
        signum = getattr(signal, f"SIG{sig.upper().removeprefix('SIG')}")
        os.killpg(os.getpgid(info["pid"]), signum)

    # -- down -----------------------------------------------------------------------------------------
    def _shutdown(self) -> None:
        pid = self._supervisord_pid()
        child_pids: list[int] = []
        if pid is not None and self.socket_path.exists():
            with contextlib.suppress(OSError, xmlrpc.client.Error):
                supervisor = self._rpc()
                child_pids = [i["pid"] for i in supervisor.getAllProcessInfo() if i["pid"]]
                # CONT first: a paused (SIGSTOP) program would never see its SIGTERM.
                for cpid in child_pids:
                    with contextlib.suppress(OSError):
                        os.killpg(os.getpgid(cpid), signal.SIGCONT)
                supervisor.stopAllProcesses(True)
                supervisor.shutdown()
        if pid is not None:
            with contextlib.suppress(StackError):
                self._wait(lambda: self._supervisord_pid() is None, 20, "supervisord to exit")
            if self._supervisord_pid() is not None:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        for cpid in child_pids:  # last resort, by the pids this stack started
            with contextlib.suppress(OSError):
                os.kill(cpid, signal.SIGKILL)

    def down(self, *, purge: bool = False) -> None:
        """Stop exactly what ``up`` started (by pid); remove data only with ``purge``."""
        self._shutdown()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        if purge:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            shutil.rmtree(self.log_dir, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                self.state_path.unlink()


@contextlib.contextmanager
def running_stack(
    run_dir: Path | str | None = None,
    topology: Topology | None = None,
    *,
    observability: bool | None = False,
    env: dict[str, str] | None = None,
    profile: str | None = None,
    purge: bool = True,
    timeout_s: float = 90.0,
    broker: bool | None = None,
) -> Iterator[Stack]:
    """Start a native stack, yield it, and always stop it (tests, benchmarks, experiments)."""
    stack = Stack(run_dir, topology, observability=observability, env=env, profile=profile, broker=broker)
    stack.up(timeout_s=timeout_s)
    try:
        yield stack
    finally:
        stack.down(purge=purge)
