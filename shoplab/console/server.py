"""Serve the console with Werkzeug's threaded server (one thread per open page: the SSE stream holds it)."""

from __future__ import annotations

import ipaddress
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from shoplab.console.app import create_app

CONSOLE_PORT = 8095


def is_loopback(host: str) -> bool:
    """Say whether ``host`` is a loopback address (or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_console_server(stack: Any, host: str, port: int) -> BaseWSGIServer:
    """Return the console's server bound to host:port, its sampler started; call ``shutdown_console`` after."""
    app = create_app(stack)
    server = make_server(host, port, app, threaded=True)
    app.extensions["shoplab_console"]["sampler"].start()
    return server


def shutdown_console(server: BaseWSGIServer) -> None:
    """Stop the sampler, stop the console's load and roll back its leased faults."""
    parts = server.app.extensions["shoplab_console"]  # type: ignore[attr-defined]
    parts["sampler"].stop()
    parts["actions"].close()
