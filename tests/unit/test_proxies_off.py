"""SHOPLAB_PROXIES=off: callers point straight at their callees, no toxiproxy runs, edge faults are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.admin import ShopAdmin
from chaos.errors import ProxiesOff
from chaos.experiment import AppFaultSpec, DownFaultSpec, ToxicFaultSpec
from chaos.faults import ShopFaults
from chaos.toxiproxy import ToxiproxyClient, make_toxic
from shop.kit.faults import FaultSpec
from shop.topology import Topology
from shoplab.runtime.observability import scrape_targets
from shoplab.runtime.stack import Stack

pytestmark = pytest.mark.unit


def test_with_proxies_off_every_caller_points_straight_at_its_callee() -> None:
    direct = Topology(port_offset=100, proxies=False)
    assert direct.service_env("cart")["CATALOG_URL"] == "http://127.0.0.1:8182"
    for caller in direct.service_names:
        for callee in direct.service(caller).calls:
            assert direct.edge_url(caller, callee) == direct.service_url(callee)
    assert direct.proxied_edges == () and len(direct.edges) == 11  # the arrows stay, their proxies go
    assert Topology(port_offset=100).service_env("cart")["CATALOG_URL"] == "http://127.0.0.1:19105"


def test_the_switch_is_read_from_shoplab_proxies_and_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SHOPLAB_PROXIES", raising=False)
    assert Topology.from_env().proxies is True
    monkeypatch.setenv("SHOPLAB_PROXIES", "off")
    assert Topology.from_env().proxies is False
    monkeypatch.setenv("SHOPLAB_PROXIES", "ON")
    assert Topology.from_env().proxies is True
    monkeypatch.setenv("SHOPLAB_PROXIES", "maybe")
    with pytest.raises(ValueError, match="SHOPLAB_PROXIES must be on or off"):
        Topology.from_env()


def test_a_stack_without_proxies_starts_no_toxiproxy_and_prometheus_does_not_scrape_one(tmp_path: Path) -> None:
    topology = Topology(port_offset=0, proxies=False)
    stack = Stack(tmp_path, topology, observability=False, with_worker=False)
    progs = {p.name: p for p in stack.programs()}
    assert set(progs) == {*topology.service_names, "shoplab-reaper"}
    assert progs["gateway"].env["ORDERS_URL"] == "http://127.0.0.1:8084"
    assert stack._ports(list(progs.values())) == {p.port: n for n, p in progs.items() if p.port is not None}
    assert "toxiproxy" not in scrape_targets(topology) and "toxiproxy" in scrape_targets(Topology())


def test_edge_faults_are_refused_on_a_stack_without_proxies_and_app_faults_still_build() -> None:
    topology = Topology(proxies=False)
    faults = ShopFaults(ToxiproxyClient(topology.toxiproxy_url), ShopAdmin(topology, "token"), None,
                        topology=topology)
    with pytest.raises(ProxiesOff, match="SHOPLAB_PROXIES=off"):
        faults.build(ToxicFaultSpec("cart__catalog", make_toxic("latency", latency_ms=100)))
    with pytest.raises(ProxiesOff, match="restart it with proxies"):
        faults.build(DownFaultSpec("gateway__catalog"))
    assert faults.build(AppFaultSpec("payments", (FaultSpec(route="/charges", error_rate=0.5),))) is not None
