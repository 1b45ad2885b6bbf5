"""The native stack with real toxiproxy on every edge: forwarding, one-edge faults, up/down."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from chaos.admin import ShopAdmin
from chaos.errors import FaultError
from chaos.model import DownFaultSpec, ProcessAction, ProcessFaultSpec
from chaos.wiring import stack_deps
from shop.kit.public_api import V1
from shop.topology import Topology
from shoplab import REPO_ROOT
from shoplab.cli import _register, cli
from shoplab.runtime.errors import PortTaken
from shoplab.runtime.ports import is_port_free
from shoplab.runtime.stack import Stack, running_stack
from shoplab.runtime.target import TargetStack
from tests.support import poll_until

pytestmark = pytest.mark.integration

SIDE_OFFSET = 50  # a second, short-lived stack beside the session one


def probe_ms(stack: Stack, caller: str, callee: str, admin: httpx.Client) -> float:
    """Median time of three calls from ``caller`` to ``callee`` through the caller's process."""
    times = []
    for _ in range(3):
        resp = admin.get(stack.service_url(caller) + f"/admin/probe/{callee}")
        assert resp.status_code == 200, resp.text
        times.append(resp.json()["elapsed_ms"])
    return statistics.median(times)


def test_every_edge_proxy_forwards_to_its_callee(stack: Stack, admin: httpx.Client) -> None:
    for edge in stack.topology.edges:
        resp = admin.get(stack.service_url(edge.caller) + f"/admin/probe/{edge.callee}")
        assert resp.status_code == 200, f"{edge.proxy_name}: {resp.text}"
        assert resp.json()["answered_by"] == edge.callee, edge.proxy_name
    proxies = httpx.get(stack.topology.toxiproxy_url + "/proxies").json()
    for edge in stack.topology.edges:
        assert proxies[edge.proxy_name]["listen"].endswith(f":{edge.listen_port}")
        assert proxies[edge.proxy_name]["enabled"] is True


def test_latency_on_one_edge_slows_that_edge_and_no_other(
    stack: Stack, toxiproxy: httpx.Client, admin: httpx.Client
) -> None:
    toxic = {"name": "slow", "type": "latency", "stream": "downstream", "attributes": {"latency": 300}}
    resp = toxiproxy.post("/proxies/cart__catalog/toxics", json=toxic)
    assert resp.status_code == 200, resp.text
    assert probe_ms(stack, "cart", "catalog", admin) >= 300
    # The same callee behind other callers' proxies, and another edge, are untouched.
    assert probe_ms(stack, "recommendations", "catalog", admin) < 300
    assert probe_ms(stack, "gateway", "catalog", admin) < 300
    assert probe_ms(stack, "orders", "cart", admin) < 300


def test_a_disabled_proxy_cuts_exactly_its_edge(stack: Stack, toxiproxy: httpx.Client, admin: httpx.Client) -> None:
    assert toxiproxy.post("/proxies/orders__payments", json={"enabled": False}).status_code == 200
    cut = admin.get(stack.service_url("orders") + "/admin/probe/payments")
    assert cut.status_code == 503
    assert cut.json()["error"]["code"] == "dependency_unavailable"
    assert admin.get(stack.service_url("orders") + "/admin/probe/catalog").status_code == 200


def test_status_reports_a_killed_service_as_down_with_its_log(stack: Stack) -> None:
    stack.kill_process("notifications")
    try:
        rows = {r.name: r for r in stack.status()}
        assert not rows["notifications"].is_up
        assert rows["notifications"].state in ("EXITED", "FATAL", "STOPPED")
        assert rows["catalog"].is_up
    finally:
        stack.start_process("notifications")
    assert {r.name: r for r in stack.status()}["notifications"].is_up


def _shoplab(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shoplab", *args], cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, timeout=180, check=False,
    )


def _listening(port: int) -> bool:
    return not is_port_free(port)


def test_up_then_down_leaves_no_process_and_no_listening_port(tmp_path: Path) -> None:
    topo = Topology.from_env().with_offset(Topology.from_env().port_offset + SIDE_OFFSET)
    env = {**os.environ, "SHOPLAB_RUN_DIR": str(tmp_path / "run"), "SHOPLAB_PORT_OFFSET": str(topo.port_offset)}
    up = _shoplab("up", "-d", "--no-observability", env=env)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "gateway" in up.stdout and "RUNNING" in up.stdout
    stack = Stack.attach(tmp_path / "run")
    pids = [r.pid for r in stack.status() if r.pid]
    assert len(pids) >= 9
    ports = [topo.service(n).port for n in topo.service_names] + [e.listen_port for e in topo.edges]
    assert all(_listening(p) for p in ports)

    down = _shoplab("down", env=env)
    assert down.returncode == 0, down.stdout + down.stderr

    def all_gone() -> bool:
        return all(not Path(f"/proc/{pid}").exists() for pid in pids) and not any(_listening(p) for p in ports)

    poll_until(all_gone, timeout_s=20, message="every process and port gone after down")
    assert (tmp_path / "run" / "data").exists(), "down keeps the data unless --purge"
    status = _shoplab("status", env=env)
    assert status.returncode == 3
    assert "is not running" in status.stderr


def test_a_stack_without_proxies_serves_a_checkout_and_refuses_edge_faults(tmp_path: Path) -> None:
    base = Topology.from_env()
    topo = replace(base.with_offset(base.port_offset + SIDE_OFFSET), proxies=False)
    with running_stack(tmp_path / "run", topo, observability=False) as stack:
        assert not _listening(topo.toxiproxy_port), "no toxiproxy with SHOPLAB_PROXIES=off"
        assert not any(_listening(e.listen_port) for e in topo.edges), "no edge proxy port"
        with httpx.Client(base_url=topo.service_url("gateway"), timeout=30) as gw:
            signup = gw.post(V1.signup, json={"email": "direct@example.test", "password": "direct-password",
                                              "name": "Direct"})
            assert signup.status_code == 201, signup.text
            auth = {"Authorization": f"Bearer {signup.json()['access_token']}"}
            assert gw.post(V1.cart_items, json={"product_id": 2, "qty": 1}, headers=auth).status_code == 200
            order = gw.post(V1.checkout, headers=auth)
            assert order.status_code == 201, order.text
            order_id = order.json()["order_id"]
            poll_until(lambda: gw.get(V1.order(order_id), headers=auth).json()["status"] == "paid",
                       timeout_s=30, message="the order paid through direct calls")
        # The command reads the switch from the running stack's state, not from its own environment.
        _register()
        refused = CliRunner().invoke(cli, ["fault", "down", "cart__catalog"],
                                     env={"SHOPLAB_RUN_DIR": str(stack.run_dir), "SHOPLAB_PROXIES": "on"})
        assert refused.exit_code == 1 and "SHOPLAB_PROXIES=off" in refused.output, refused.output


def test_a_taken_port_fails_fast_naming_it_and_starts_nothing(tmp_path: Path) -> None:
    topo = Topology.from_env().with_offset(Topology.from_env().port_offset + SIDE_OFFSET)
    port = topo.service("catalog").port
    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("127.0.0.1", port))
        held.listen()
        stack = Stack(tmp_path / "run", topo, observability=False)
        with pytest.raises(PortTaken, match=f"{port} \\(catalog\\)"):
            stack.up()
        assert not stack.is_running()
        assert is_port_free(topo.toxiproxy_port), "nothing half-started"


def test_make_setup_a_second_time_installs_nothing() -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "setup"], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pip install" not in result.stdout
    assert "building" not in result.stdout and "installing" not in result.stdout


def test_an_oversized_request_line_gets_the_json_error_shape_not_gunicorn_html(stack: Stack) -> None:
    # Below gunicorn's explicit request-line limit (8190) the app validates and answers 422;
    # above it gunicorn refuses, and the kit's worker class answers in the same JSON shape.
    below = httpx.get(stack.service_url("orders") + "/orders", params={"user_id": "é" * 1000}, timeout=10)
    assert below.status_code == 422, below.text[:200]
    assert below.json()["error"]["code"] == "validation_failed"
    above = httpx.get(stack.service_url("orders") + "/orders", params={"user_id": "é" * 5000}, timeout=10)
    assert above.status_code == 414, above.text[:200]
    assert above.json()["error"]["code"] == "uri_too_long"


def test_the_runner_drives_a_target_at_the_urls_its_file_gives(
    stack: Stack, toxiproxy: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "token").write_text(stack.admin_token)
    target = {"toxiproxy": stack.topology.toxiproxy_url, "admin_token_file": "token",
              "services": {name: stack.service_url(name) for name in stack.topology.service_names}
              | {"orders-worker": stack.topology.worker_metrics_url}}
    (tmp_path / "cluster.yaml").write_text(yaml.safe_dump(target))
    monkeypatch.setenv("SHOPLAB_TARGET", str(tmp_path / "cluster.yaml"))
    monkeypatch.delenv("SHOPLAB_ADMIN_TOKEN", raising=False)
    # the shell's own address map leads nowhere: only the file can lead the runner to this shop
    monkeypatch.setenv("SHOPLAB_PORT_OFFSET", str(stack.topology.port_offset + 37))
    elsewhere = Topology.from_env()
    assert is_port_free(elsewhere.toxiproxy_port) and is_port_free(elsewhere.service("gateway").port)

    attached = Stack.attach(tmp_path / "run")
    assert isinstance(attached, TargetStack)
    original = ShopAdmin(stack.topology, stack.admin_token).get_profile("gateway")
    try:
        with stack_deps(attached, tmp_path / "load", run_audit=False) as deps:
            fault = deps.faults.build(DownFaultSpec(edge="orders__payments"))
            fault.apply()
            assert toxiproxy.get("/proxies/orders__payments").json()["enabled"] is False
            fault.rollback()
            assert toxiproxy.get("/proxies/orders__payments").json()["enabled"] is True
            deps.shop.set_profile("naive")
            assert ShopAdmin(stack.topology, stack.admin_token).get_profile("cart") == "naive"
            # an experiment's per-profile override reaches the callers of its dependency only
            deps.shop.set_profile("retries", [("payments", "read_timeout_s", 0.7)])
            orders, cart = (httpx.get(stack.service_url(s) + "/admin/resilience", headers=stack.admin_headers(),
                                      timeout=5).json() for s in ("orders", "cart"))
            assert orders["overrides"] == {"payments": {"read_timeout_s": 0.7}}
            assert orders["policies"]["payments"]["read_timeout_s"] == 0.7
            assert cart["profile"] == "retries" and cart["overrides"] == {}
            assert deps.metrics.scrape().unreachable == ()
            with pytest.raises(FaultError, match="not available on a cluster target"):
                deps.faults.build(ProcessFaultSpec("payments", ProcessAction.KILL)).apply()
    finally:
        ShopAdmin(stack.topology, stack.admin_token).set_profile(original)
