"""The typed Toxiproxy client against a real toxiproxy-server in front of a real HTTP server."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from chaos.errors import ToxiproxyError
from chaos.toxiproxy import (
    Bandwidth,
    Latency,
    LimitData,
    ProxyConfig,
    ResetPeer,
    Slicer,
    SlowClose,
    Stream,
    Timeout,
    ToxiproxyClient,
)
from shoplab.runtime.tools import ensure_tool
from tests.support import poll_until

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b"x" * 2000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """Serve 2 KB answers on a free port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run toxiproxy-server on a free port (not the stack's), stopped by its pid afterwards."""
    binary = ensure_tool("toxiproxy-server")
    port = _free_port()
    log = Path(tmp_path_factory.mktemp("toxiproxy")) / "toxiproxy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(binary), "-host", "127.0.0.1", "-port", str(port)], stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        poll_until(lambda: httpx.get(url + "/version", timeout=1).status_code == 200, timeout_s=15,
                   message="toxiproxy-server to answer")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def client(server: str, upstream: str) -> Iterator[tuple[ToxiproxyClient, str]]:
    """Give a client and a proxy ``edge`` to the upstream; delete every proxy afterwards."""
    listen = f"127.0.0.1:{_free_port()}"
    with ToxiproxyClient(server) as tp:
        tp.create_proxy(ProxyConfig("edge", listen, upstream))
        try:
            yield tp, f"http://{listen}"
        finally:
            for name in tp.list_proxies():
                tp.delete_proxy(name)


def test_the_server_version_is_the_pinned_one(server: str) -> None:
    with ToxiproxyClient(server) as tp:
        assert tp.version() == "2.12.0"


def test_every_toxic_type_is_accepted_with_its_attributes(client: tuple[ToxiproxyClient, str]) -> None:
    tp, _ = client
    specs = [Latency(latency_ms=10, jitter_ms=1), Bandwidth(rate_kbps=100), SlowClose(delay_ms=10),
             Timeout(timeout_ms=100, name="t"), ResetPeer(timeout_ms=5, stream=Stream.UPSTREAM),
             Slicer(average_size=16, size_variation=4, delay_us=10), LimitData(bytes=100_000, toxicity=0.5)]
    for spec in specs:
        created = tp.add_toxic("edge", spec)
        assert (created.type, created.stream, created.toxicity) == (spec.type, spec.stream.value, spec.toxicity)
        assert created.attributes == spec.attributes()
    assert sorted(t.name for t in tp.get_proxy("edge").toxics) == sorted(s.toxic_name for s in specs)


def test_a_latency_toxic_delays_answers_until_it_is_removed(client: tuple[ToxiproxyClient, str]) -> None:
    tp, url = client
    with httpx.Client() as http:
        with tp.toxic("edge", Latency(latency_ms=400)):
            elapsed = http.get(url).elapsed.total_seconds()
            assert elapsed >= 0.4
        assert tp.list_toxics("edge") == []
        assert http.get(url).status_code == 200


def test_reset_peer_on_every_connection_fails_requests(client: tuple[ToxiproxyClient, str]) -> None:
    tp, url = client
    tp.add_toxic("edge", ResetPeer())
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=2)
    tp.update_toxic("edge", ResetPeer(toxicity=0.0))
    assert httpx.get(url, timeout=2).status_code == 200


def test_a_disabled_proxy_refuses_connections_until_enabled(client: tuple[ToxiproxyClient, str]) -> None:
    tp, url = client
    assert tp.disable_proxy("edge").enabled is False
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)
    tp.enable_proxy("edge")
    assert httpx.get(url, timeout=2).status_code == 200


def test_reset_removes_every_toxic_and_enables_every_proxy(client: tuple[ToxiproxyClient, str], upstream: str) -> None:
    tp, _ = client
    tp.populate([ProxyConfig("other", f"127.0.0.1:{_free_port()}", upstream)])
    tp.add_toxic("edge", Latency(latency_ms=10))
    tp.add_toxic("other", Bandwidth(rate_kbps=1))
    tp.disable_proxy("other")
    tp.reset()
    proxies = tp.list_proxies()
    assert set(proxies) == {"edge", "other"}
    assert all(p.enabled and not p.toxics for p in proxies.values())


def test_api_errors_keep_their_status_and_cause(client: tuple[ToxiproxyClient, str]) -> None:
    tp, _ = client
    with pytest.raises(ToxiproxyError) as missing:
        tp.get_proxy("nope")
    assert missing.value.status_code == 404 and isinstance(missing.value.__cause__, httpx.HTTPStatusError)
    tp.add_toxic("edge", Latency(latency_ms=1))
    with pytest.raises(ToxiproxyError) as twice:
        tp.add_toxic("edge", Latency(latency_ms=1))
    assert twice.value.status_code == 409
