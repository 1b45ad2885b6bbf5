"""``shoplab console``: serve the trainer's console (live edges, faults, profiles, load, labs) on one page."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from chaos.errors import RunInterrupted
from chaos.signals import raise_on_sigterm
from shoplab.console.server import CONSOLE_PORT, is_loopback, make_console_server, shutdown_console
from shoplab.runtime.stack import Stack, StackError

console = Console()
err_console = Console(stderr=True)


@click.command("console")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback unless --public).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help=f"Port (default: {CONSOLE_PORT} + SHOPLAB_PORT_OFFSET).")
@click.option("--public", is_flag=True, help="Allow a non-loopback --host (anyone on the network sees the page).")
def command(host: str, port: int | None, public: bool) -> None:
    """Serve the trainer's console for the running shop; actions need its admin token (`shoplab status`)."""
    if not is_loopback(host) and not public:
        err_console.print(f"[red]error:[/] {host} is not a loopback address: add --public to bind it anyway")
        sys.exit(2)
    try:
        stack = Stack.attach()
    except StackError as exc:  # not running, or SHOPLAB_TARGET does not answer
        err_console.print(f"[red]error:[/] {exc}")
        sys.exit(1)
    port = port or CONSOLE_PORT + stack.topology.port_offset
    try:
        server = make_console_server(stack, host, port)
    except OSError as exc:
        err_console.print(f"[red]error:[/] cannot bind {host}:{port}: {exc}")
        sys.exit(1)
    console.print(f"console on http://{host}:{port}/ (read-only until the admin token is entered; Ctrl-C stops it)")
    console.print(f"admin token: `admin_token` in {stack.run_dir / 'state.json'}")
    try:
        with raise_on_sigterm():
            server.serve_forever()
    except (KeyboardInterrupt, RunInterrupted):
        pass
    finally:
        server.server_close()
        shutdown_console(server)
        console.print("console stopped: its load stopped and its faults rolled back")
