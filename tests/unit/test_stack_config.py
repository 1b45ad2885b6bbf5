"""The supervisord config the stack writes: every program, each with its own env."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from shop.topology import Topology
from shoplab.runtime.errors import PollTimeout, PortTaken, StackError
from shoplab.runtime.ports import ensure_ports_free
from shoplab.runtime.stack import Stack
from shoplab.runtime.supervisord import Program

pytestmark = pytest.mark.unit


def test_programs_cover_toxiproxy_and_every_service_with_proxy_urls(tmp_path: Path) -> None:
    stack = Stack(tmp_path, Topology(port_offset=0), observability=False, with_worker=False)
    progs = {p.name: p for p in stack.programs()}
    assert set(progs) == {"toxiproxy", *Topology().service_names, "shoplab-reaper"}
    assert progs["shoplab-reaper"].env["SHOPLAB_RUN_DIR"] == str(tmp_path.resolve())
    cart = progs["cart"]
    assert cart.env["CATALOG_URL"] == "http://127.0.0.1:19005"
    assert cart.env["SHOPLAB_DATA_DIR"] == str(tmp_path / "data" / "cart")
    assert "shop.cart:create_app()" in cart.command
    assert cart.env["SHOPLAB_ADMIN_TOKEN"] == progs["gateway"].env["SHOPLAB_ADMIN_TOKEN"]


def test_rendered_config_keeps_killed_programs_down_and_escapes_percent(tmp_path: Path) -> None:
    stack = Stack(tmp_path, Topology(), observability=False, env={"ODD": "50%"}, with_worker=False)
    conf = stack._render_config(stack.programs())
    assert conf.count("[program:") == 10  # toxiproxy, 8 services, the reaper
    assert "autorestart=false" in conf
    assert 'ODD="50%%"' in conf


def test_a_taken_port_is_named_before_anything_starts() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(PortTaken, match=str(port)):
            ensure_ports_free({port: "catalog"})


class _FakeSupervisor:
    """supervisord's XML-RPC namespace, answering with fixed process states."""

    def __init__(self, states: dict[str, str]) -> None:
        self.states = states

    def getAllProcessInfo(self) -> list[dict[str, object]]:  # noqa: N802 (supervisord's name)
        return [{"name": n, "statename": s, "pid": 0} for n, s in self.states.items()]


def test_a_program_that_dies_while_starting_fails_at_once_with_its_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = Stack(tmp_path, Topology(), observability=False, with_worker=False)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "cart.log").write_text("Traceback: cart could not bind\n")
    monkeypatch.setattr(stack, "_rpc", lambda: _FakeSupervisor({"cart": "FATAL"}))
    cart = Program("cart", ["true"])
    with pytest.raises(StackError, match="cart failed to start \\(FATAL\\)") as caught:
        stack.wait_ready(timeout_s=60, programs=[cart])
    assert "cart could not bind" in str(caught.value)
    assert not isinstance(caught.value, PollTimeout)


def test_a_program_never_ready_times_out_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = Stack(tmp_path, Topology(), observability=False, with_worker=False)
    monkeypatch.setattr(stack, "_rpc", lambda: _FakeSupervisor({"cart": "STARTING"}))
    with pytest.raises(PollTimeout, match="not ready after 0 s: cart"):
        stack.wait_ready(timeout_s=0.2, programs=[Program("cart", ["true"])])
