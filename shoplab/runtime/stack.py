"""Run the whole shop natively under supervisord: toxiproxy, edge proxies, services, worker.

supervisord (the ``supervisor`` package) does the process supervision: it forks,
keeps pids, captures logs and answers an XML-RPC API on a unix socket in the run
folder. This module only writes its config, drives it, and checks readiness.

Run folder (``SHOPLAB_RUN_DIR``, default ``.shoplab/`` in the checkout)::

    state.json          port offset, admin token, JWT secret (mode 0600)
    supervisord.conf    generated; supervisor.sock, supervisord.pid, supervisord.log
    logs/<program>.log  stdout+stderr of each program
    data/<service>/     each service's SQLite file (kept unless ``down(purge=True)``)
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shop.topology import Topology
from shoplab import REPO_ROOT
from shoplab.runtime.tools import ensure_tool

ProgressFn = Callable[[str], None]

WORKER = "orders-worker"
TOXIPROXY = "toxiproxy"
GUNICORN_THREADS = 8


class StackError(RuntimeError):
    """The native stack could not do what was asked; the message says what to do."""


class PortTaken(StackError):
    """A port the stack needs is already in use."""


class StackNotRunning(StackError):
    """No stack is running in the run folder."""


def default_run_dir() -> Path:
    """Return the run folder: ``SHOPLAB_RUN_DIR`` or ``.shoplab/`` in the checkout."""
    return Path(os.environ.get("SHOPLAB_RUN_DIR") or REPO_ROOT / ".shoplab").resolve()


@dataclass(frozen=True)
class Program:
    """One process the stack runs under supervisord."""

    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int | None = None
    url: str | None = None
    health_path: str | None = None
    ready_path: str | None = None
    stop_signal: str = "TERM"


@dataclass(frozen=True)
class ProcessStatus:
    """What ``status`` knows about one program."""

    name: str
    state: str
    pid: int | None
    url: str | None
    healthy: bool | None
    log_tail: str = ""

    @property
    def is_up(self) -> bool:
        """Say whether the process runs and (where it has a health check) answers."""
        return self.state == "RUNNING" and self.healthy is not False


def _port_owner(port: int) -> str:
    """Return who listens on ``port`` (from ``ss``), or an empty string."""
    ss = shutil.which("ss")
    if not ss:
        return ""
    try:
        out = subprocess.run(
            [ss, "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    if "users:((" in out:
        return out.split("users:((", 1)[1].split("))", 1)[0]
    return ""


def is_port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Say whether nothing listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def ensure_ports_free(ports: dict[int, str], host: str = "127.0.0.1") -> None:
    """Raise PortTaken naming every taken port (and its owner when ``ss`` can tell)."""
    taken = []
    for port, purpose in sorted(ports.items()):
        if not is_port_free(port, host):
            owner = _port_owner(port)
            taken.append(f"{port} ({purpose})" + (f" held by {owner}" if owner else ""))
    if taken:
        raise PortTaken(
            "port(s) already in use: " + "; ".join(taken) + ". Stop whatever holds them "
            "(`shoplab down` if it is another shoplab stack), or shift every port with "
            "SHOPLAB_PORT_OFFSET=100."
        )


def wait_for(check: Callable[[], bool], timeout_s: float, what: str, *, interval_s: float = 0.1) -> None:
    """Poll ``check`` until it is true; raise StackError naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise StackError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 16_384))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


class _UnixTransport(xmlrpc.client.Transport):
    """XML-RPC over supervisord's unix socket."""

    def __init__(self, socket_path: str) -> None:
        super().__init__()
        self._socket_path = socket_path

    def make_connection(self, host: Any) -> Any:
        import http.client

        path = self._socket_path

        class _Conn(http.client.HTTPConnection):
            def connect(self) -> None:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(30)
                self.sock.connect(path)

        return _Conn("localhost")


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
    ) -> None:
        self.run_dir = Path(run_dir).resolve() if run_dir else default_run_dir()
        self.topology = topology or Topology.from_env()
        self._observability = observability
        self._extra_env = dict(env or {})
        self._profile = profile or os.environ.get("SHOPLAB_RESILIENCE_PROFILE") or "resilient"
        self._with_worker = with_worker
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
    def attach(cls, run_dir: Path | str | None = None) -> Stack:
        """Return the stack running in ``run_dir``; raise StackNotRunning when none is."""
        if os.environ.get("SHOPLAB_MODE", "").strip().lower() == "containers":
            # Same ports, process faults through docker compose (shoplab.runtime.containers imports this module).
            from shoplab.runtime.containers import ContainerStack

            return ContainerStack.attach(run_dir)  # type: ignore[return-value]
        path = Path(run_dir).resolve() if run_dir else default_run_dir()
        state_file = path / "state.json"
        if not state_file.exists():
            raise StackNotRunning(f"no shoplab stack in {path}: start one with `shoplab up -d`")
        state = json.loads(state_file.read_text())
        stack = cls(path, Topology(port_offset=int(state.get("port_offset", 0))))
        stack._state = state
        if not stack.is_running():
            raise StackNotRunning(f"the shoplab stack in {path} is not running: start it with `shoplab up -d`")
        return stack

    def _load_state(self) -> dict[str, Any]:
        if not self._state and self.state_path.exists():
            self._state = json.loads(self.state_path.read_text())
        if not self._state:
            self._state = {
                "port_offset": self.topology.port_offset,
                "admin_token": os.environ.get("SHOPLAB_ADMIN_TOKEN") or secrets.token_hex(16),
                "jwt_secret": os.environ.get("SHOPLAB_JWT_SECRET") or secrets.token_hex(32),
            }
        return self._state

    def _save_state(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.state_path.write_text(json.dumps(self._state, indent=2))
        self.state_path.chmod(0o600)

    # -- programs --------------------------------------------------------------------------
    def _wants_observability(self) -> bool:
        if self._observability is not None:
            return self._observability
        return importlib.util.find_spec("shoplab.runtime.observability") is not None

    def programs(self) -> list[Program]:
        """Return every program of this stack, in start order."""
        topo = self.topology
        state = self._load_state()
        toxiproxy = ensure_tool("toxiproxy-server")
        progs = [
            Program(
                TOXIPROXY,
                [str(toxiproxy), "-host", topo.host, "-port", str(topo.toxiproxy_port),
                 "-proxy-metrics", "-runtime-metrics"],
                port=topo.toxiproxy_port,
                url=topo.toxiproxy_url,
                health_path="/version",
                ready_path="/version",
            )
        ]
        extra: list[Program] = []
        otel_env: dict[str, str] = {}
        if self._wants_observability():
            from shoplab.runtime import observability

            extra = observability.programs(topo, self.run_dir)
            otel_env = observability.service_env(topo, extra)
        common = {
            "SHOPLAB_ADMIN_TOKEN": state["admin_token"],
            "SHOPLAB_JWT_SECRET": state["jwt_secret"],
            "SHOPLAB_RESILIENCE_PROFILE": self._profile,
            "SHOPLAB_PORT_OFFSET": str(topo.port_offset),
            "PYTHONUNBUFFERED": "1",
            **otel_env,
            **self._extra_env,
        }
        for svc in topo.services:
            name = svc.name
            port = topo.service(name).port
            env = {**common, **topo.service_env(name), "SHOPLAB_DATA_DIR": str(self.data_dir / name)}
            cmd = [
                sys.executable, "-m", "gunicorn",
                "--worker-class", "gthread", "--workers", "1", "--threads", str(GUNICORN_THREADS),
                "--bind", f"{topo.host}:{port}", "--timeout", "60", "--graceful-timeout", "5",
                "--keep-alive", "5", "--error-logfile", "-", "--log-level", "warning",
                # No gunicorn length limits: they answer HTML 414/400, while the app checks
                # every declared length itself and answers in the JSON error shape.
                "--limit-request-line", "0", "--limit-request-field_size", "0",
                f"shop.{name}:create_app()",
            ]
            progs.append(
                Program(name, cmd, env=env, port=port, url=topo.service_url(name),
                        health_path="/healthz", ready_path="/readyz")
            )
        if self._with_worker and importlib.util.find_spec("shop.orders.worker") is not None:
            env = {
                **common,
                **topo.service_env("orders"),
                "OTEL_SERVICE_NAME": WORKER,
                "SHOPLAB_DATA_DIR": str(self.data_dir / "orders"),
                "ORDERS_WORKER_METRICS_PORT": str(topo.worker_metrics_port),
            }
            progs.append(
                Program(WORKER, [sys.executable, "-m", "shop.orders.worker"], env=env,
                        port=topo.worker_metrics_port, url=f"http://{topo.host}:{topo.worker_metrics_port}")
            )
        return progs + extra

    def _render_config(self, programs: list[Program]) -> str:
        def quote(value: str) -> str:
            return '"' + value.replace("%", "%%").replace('"', '\\"') + '"'

        lines = [
            "; generated by shoplab.runtime.stack; do not edit",
            "[unix_http_server]",
            f"file={self.socket_path}",
            "chmod=0700",
            "",
            "[supervisord]",
            f"logfile={self.run_dir / 'supervisord.log'}",
            f"pidfile={self.run_dir / 'supervisord.pid'}",
            f"directory={REPO_ROOT}",
            "loglevel=info",
            "nodaemon=false",
            "minfds=1024",
            "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
            "",
            "[supervisorctl]",
            f"serverurl=unix://{self.socket_path}",
        ]
        for prog in programs:
            env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"), **prog.env}
            cmd = " ".join(_shell_quote(part) for part in prog.command).replace("%", "%%")
            lines += [
                "",
                f"[program:{prog.name}]",
                f"command={cmd}",
                f"directory={REPO_ROOT}",
                "autostart=false",
                # A killed process stays down, so `status` and experiments can see it.
                "autorestart=false",
                "startsecs=0",
                "startretries=0",
                f"stopsignal={prog.stop_signal}",
                "stopwaitsecs=10",
                "stopasgroup=true",
                "killasgroup=true",
                "redirect_stderr=true",
                f"stdout_logfile={self.log_dir / (prog.name + '.log')}",
                "stdout_logfile_maxbytes=20MB",
                "stdout_logfile_backups=1",
                "environment=" + ",".join(f"{k}={quote(v)}" for k, v in sorted(env.items())),
            ]
        return "\n".join(lines) + "\n"

    # -- supervisord ---------------------------------------------------------------------------
    def _rpc(self) -> Any:
        proxy = xmlrpc.client.ServerProxy("http://localhost", transport=_UnixTransport(str(self.socket_path)))
        return proxy.supervisor

    def _supervisord_pid(self) -> int | None:
        try:
            pid = int((self.run_dir / "supervisord.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

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
        for edge in self.topology.edges:
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
        programs = self.programs()
        ensure_ports_free(self._ports(programs), self.topology.host)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._save_state()
        conf = self.run_dir / "supervisord.conf"
        conf.write_text(self._render_config(programs))
        if len(str(self.socket_path)) > 100:
            raise StackError(f"run folder path too long for a unix socket: {self.run_dir}")
        say("starting supervisord")
        subprocess.run([sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)], check=True)
        try:
            self._wait(lambda: self.is_running(), 15, "supervisord to answer")
            rpc = self._rpc()
            say("starting toxiproxy")
            rpc.startProcess(TOXIPROXY, False)
            self._wait(lambda: self._http_ok(self.topology.toxiproxy_url + "/version"), 15, "toxiproxy")
            self._populate_proxies()
            say(f"created {len(self.topology.edges)} edge proxies")
            for prog in programs[1:]:
                rpc.startProcess(prog.name, False)
            say(f"started {len(programs) - 1} programs; waiting for readiness")
            self.wait_ready(timeout_s=timeout_s, programs=programs, progress=say)
            self._state["programs"] = [p.name for p in programs]
            self._state["started_at"] = time.time()
            self._save_state()
        except BaseException:
            self._shutdown()
            raise

    def _populate_proxies(self) -> None:
        body = [
            {
                "name": e.proxy_name,
                "listen": f"{self.topology.host}:{e.listen_port}",
                "upstream": f"{self.topology.host}:{self.topology.service(e.callee).port}",
                "enabled": True,
            }
            for e in self.topology.edges
        ]
        resp = httpx.post(self.topology.toxiproxy_url + "/populate", json=body, timeout=10)
        if resp.status_code >= 300:
            raise StackError(f"toxiproxy refused the edge proxies: {resp.status_code} {resp.text}")

    def _http_ok(self, url: str) -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def _wait(self, check: Callable[[], bool], timeout_s: float, what: str) -> None:
        wait_for(check, timeout_s, what)

    def wait_ready(
        self,
        *,
        timeout_s: float = 90.0,
        programs: list[Program] | None = None,
        progress: ProgressFn | None = None,
    ) -> None:
        """Wait until every program runs, every ``ready_path`` answers 200 and every proxy exists."""
        programs = programs or self.programs()
        pending = {p.name: p for p in programs}
        deadline = time.monotonic() + timeout_s
        rpc = self._rpc()
        while pending:
            infos = {i["name"]: i for i in rpc.getAllProcessInfo()}
            for name, prog in list(pending.items()):
                info = infos.get(name)
                state = info["statename"] if info else "UNKNOWN"
                if state in ("EXITED", "FATAL", "BACKOFF", "STOPPED"):
                    tail = _tail(self.log_dir / f"{name}.log")
                    raise StackError(f"{name} failed to start ({state}); last log lines:\n{tail}")
                if state != "RUNNING":
                    continue
                if prog.ready_path and prog.url and not self._http_ok(prog.url + prog.ready_path):
                    continue
                del pending[name]
                if progress:
                    progress(f"{name} ready")
            if not pending:
                break
            if time.monotonic() > deadline:
                names = ", ".join(sorted(pending))
                raise StackError(f"not ready after {timeout_s:.0f} s: {names} (see {self.log_dir})")
            time.sleep(0.1)
        self._wait(self._proxies_exist, 10, "every edge proxy to exist")

    def _proxies_exist(self) -> bool:
        try:
            names = set(httpx.get(self.topology.toxiproxy_url + "/proxies", timeout=2).json())
        except (httpx.HTTPError, ValueError):
            return False
        return {e.proxy_name for e in self.topology.edges} <= names

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
            tail = "" if state == "RUNNING" and healthy is not False else _tail(self.log_dir / f"{name}.log", 10)
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
        if self._info(name)["statename"] != "RUNNING":
            self._rpc().startProcess(name, False)
        prog = next(p for p in self.programs() if p.name == name)
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
                rpc = self._rpc()
                child_pids = [i["pid"] for i in rpc.getAllProcessInfo() if i["pid"]]
                # CONT first: a paused (SIGSTOP) program would never see its SIGTERM.
                for cpid in child_pids:
                    with contextlib.suppress(OSError):
                        os.killpg(os.getpgid(cpid), signal.SIGCONT)
                rpc.stopAllProcesses(True)
                rpc.shutdown()
        if pid is not None:
            deadline = time.monotonic() + 20
            while self._supervisord_pid() is not None and time.monotonic() < deadline:
                time.sleep(0.1)
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


def _shell_quote(part: str) -> str:
    if part and all(c.isalnum() or c in "-_./:=,@+" for c in part):
        return part
    return "'" + part.replace("'", "'\"'\"'") + "'"


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
) -> Iterator[Stack]:
    """Start a native stack, yield it, and always stop it (tests, benchmarks, experiments)."""
    stack = Stack(run_dir, topology, observability=observability, env=env, profile=profile)
    stack.up(timeout_s=timeout_s)
    try:
        yield stack
    finally:
        stack.down(purge=purge)
