"""Check that the ports a stack needs are free, and name who holds those that are not."""

from __future__ import annotations

import shutil
import socket
import subprocess

from shoplab.runtime.errors import PortTaken


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
