"""The containers' Toxiproxy config, loaded by a real toxiproxy-server (v2.12.0) with ``-config``."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shoplab import REPO_ROOT
from shoplab.runtime import compose
from shoplab.runtime.tools import ensure_tool
from tests.support import poll_until

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[tuple[str, list[dict[str, object]], dict[str, int]]]:
    """Start toxiproxy-server on the committed config, moved to free loopback ports; yield its API URL."""
    committed = json.loads((REPO_ROOT / compose.TOXIPROXY_CONFIG_PATH).read_text())
    # Only `listen` moves (0.0.0.0:19000+ would collide with running stacks); names,
    # upstreams and the enabled flag are exactly what the container loads.
    ports = {proxy["name"]: _free_port() for proxy in committed}
    moved = [{**proxy, "listen": f"127.0.0.1:{ports[proxy['name']]}"} for proxy in committed]
    config = tmp_path / "toxiproxy.json"
    config.write_text(json.dumps(moved))
    api_port = _free_port()
    log = (tmp_path / "toxiproxy.log").open("w")
    server = subprocess.Popen(
        [str(ensure_tool("toxiproxy-server")), "-host", "127.0.0.1", "-port", str(api_port), f"-config={config}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{api_port}"
    try:
        poll_until(lambda: httpx.get(url + "/version", timeout=1).status_code == 200, message="toxiproxy API")
        yield url, committed, ports
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


def test_toxiproxy_creates_every_edge_proxy_of_the_committed_config_at_startup(
    loaded: tuple[str, list[dict[str, object]], dict[str, int]],
) -> None:
    url, committed, ports = loaded
    proxies = poll_until(
        lambda: (got := httpx.get(url + "/proxies", timeout=2).json()) and len(got) == len(committed) and got,
        message="every proxy from -config",
    )
    for proxy in committed:
        name = str(proxy["name"])
        assert proxies[name]["upstream"] == proxy["upstream"], name
        assert proxies[name]["enabled"] is True, name
        assert proxies[name]["listen"] == f"127.0.0.1:{ports[name]}", name
    # Each proxy really listens: a TCP connect to its port is accepted.
    for port in ports.values():
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
