"""Say what a running shop offers its callers, whichever way it runs (native supervisord or containers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shop.topology import Topology

ProgressFn = Callable[[str], None]


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


class ShopStack(Protocol):
    """A shop the commands, experiments and tests drive: its ports, secrets, processes and lifecycle.

    ``shoplab.runtime.stack.Stack`` (native, supervisord) and
    ``shoplab.runtime.containers.ContainerStack`` (docker compose) both satisfy it;
    ``Stack.attach`` returns whichever runs.
    """

    run_dir: Path
    topology: Topology

    @property
    def admin_token(self) -> str:
        """Return the admin token of this stack."""
        ...

    @property
    def jwt_secret(self) -> str:
        """Return the JWT secret shared by identity and the gateway."""
        ...

    def admin_headers(self) -> dict[str, str]:
        """Return the headers that authorise an admin API call."""
        ...

    def service_url(self, name: str) -> str:
        """Return a service's URL."""
        ...

    def is_running(self) -> bool:
        """Say whether the stack answers."""
        ...

    def up(self, *, timeout_s: float = ..., progress: ProgressFn | None = None) -> None:
        """Start everything and wait until it is ready."""
        ...

    def wait_ready(self, *, timeout_s: float = ..., progress: ProgressFn | None = None) -> None:
        """Wait until every process is ready."""
        ...

    def status(self) -> list[ProcessStatus]:
        """Return each process's state, URL, health and (when down) log tail."""
        ...

    def stop_process(self, name: str) -> None:
        """Stop one process gracefully."""
        ...

    def start_process(self, name: str, *, timeout_s: float = ...) -> None:
        """Start one process again and wait until it is ready."""
        ...

    def kill_process(self, name: str) -> None:
        """SIGKILL one process; it stays down until ``start_process``."""
        ...

    def signal_process(self, name: str, sig: str) -> None:
        """Send a signal (``STOP``, ``CONT``, ``KILL``, ...) to one process."""
        ...

    def down(self, *, purge: bool = False) -> None:
        """Stop everything; remove data only with ``purge``."""
        ...
