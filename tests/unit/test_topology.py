"""The topology is the single source of truth: check its shape and what derives from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from shop.topology import DEFAULT, Topology
from shoplab.runtime.stack import Stack

pytestmark = pytest.mark.unit


def test_topology_has_the_eight_services_on_their_documented_ports() -> None:
    ports = {s.name: s.port for s in DEFAULT.services}
    assert ports == {
        "gateway": 8080, "identity": 8081, "catalog": 8082, "cart": 8083,
        "orders": 8084, "payments": 8085, "notifications": 8086, "recommendations": 8087,
    }


def test_topology_has_eleven_edges_each_with_its_own_proxy_and_port() -> None:
    edges = DEFAULT.edges
    assert len(edges) == 11
    assert len({e.proxy_name for e in edges}) == 11
    assert len({e.listen_port for e in edges}) == 11
    assert all(e.proxy_name == f"{e.caller}__{e.callee}" for e in edges)
    assert {e.listen_port for e in edges} == set(range(19000, 19011))


def test_a_caller_learns_each_peer_from_an_url_pointing_at_its_proxy() -> None:
    env = DEFAULT.service_env("orders")
    for callee in ("cart", "catalog", "payments", "notifications"):
        edge = DEFAULT.edge("orders", callee)
        assert env[f"{callee.upper()}_URL"] == f"http://127.0.0.1:{edge.listen_port}"
    assert "IDENTITY_URL" not in env
    assert env["OTEL_SERVICE_NAME"] == "orders"


def test_port_offset_shifts_every_port_and_nothing_else() -> None:
    shifted = Topology(port_offset=100)
    assert shifted.service("gateway").port == 8180
    assert shifted.toxiproxy_port == 8574
    assert [e.listen_port - 100 for e in shifted.edges] == [e.listen_port for e in DEFAULT.edges]
    assert [e.proxy_name for e in shifted.edges] == [e.proxy_name for e in DEFAULT.edges]


def test_an_unknown_service_or_edge_is_refused_with_the_known_names() -> None:
    with pytest.raises(KeyError, match="known: gateway"):
        DEFAULT.service("warehouse")
    with pytest.raises(KeyError, match="no edge payments__orders"):
        DEFAULT.edge("payments", "orders")


def test_a_bad_port_offset_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPLAB_PORT_OFFSET", "lots")
    with pytest.raises(ValueError, match="SHOPLAB_PORT_OFFSET"):
        Topology.from_env()


def test_workers_and_threads_come_from_the_environment_and_reach_gunicorn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHOPLAB_WORKERS", "3")
    monkeypatch.setenv("SHOPLAB_THREADS", "4")
    topo = Topology.from_env()
    assert (topo.workers, topo.threads) == (3, 4)
    progs = {p.name: p for p in Stack(tmp_path, topo, observability=False, with_worker=False).programs()}
    cmd = list(progs["catalog"].command)
    assert cmd[cmd.index("--workers") + 1] == "3"
    assert cmd[cmd.index("--threads") + 1] == "4"


def test_bad_worker_counts_are_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPLAB_WORKERS", "many")
    with pytest.raises(ValueError, match="SHOPLAB_WORKERS"):
        Topology.from_env()
    with pytest.raises(ValueError, match="at least 1"):
        Topology(workers=0)
