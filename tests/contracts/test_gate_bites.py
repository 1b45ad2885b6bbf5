"""The contract gate bites: a provider that renames a field, an expectation no provider meets, an edge without a contract."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from flask import Flask, Response, request
from pact import Pact, match
from werkzeug.serving import make_server

from contracts.pactfiles import PACT_DIR, pact_filename
from contracts.verify import verify_pact
from shoplab import REPO_ROOT
from shoplab.cli import _register, cli
from shoplab.runtime.stack import Stack
from tests.support import poll_until

pytestmark = pytest.mark.contracts


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def renamed_payments(stack: Stack, tmp_path: Path) -> Iterator[str]:
    """Run the real payments service as its own gunicorn process, answering ``id`` for ``charge_id`` and no ``status``."""
    port = _free_port()
    env = {
        **os.environ,
        **stack.topology.service_env("payments"),
        "SHOPLAB_ADMIN_TOKEN": stack.admin_token,
        "SHOPLAB_JWT_SECRET": stack.jwt_secret,
        "SHOPLAB_DATA_DIR": str(tmp_path / "payments"),
        "SHOPLAB_MUTANT_SERVICE": "payments",
        "SHOPLAB_MUTANT_RENAME": "charge_id:id,status:",
    }
    cmd = [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", "1", "--threads", "4",
           "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "tests.contracts.mutant_app:create_app()"]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        def is_ready() -> bool:
            assert proc.poll() is None, f"the renamed payments exited: {proc.stderr.read().decode()[-2000:]}"  # type: ignore[union-attr]
            return httpx.get(url + "/readyz", timeout=1).status_code == 200

        poll_until(is_ready, timeout_s=60, message="the renamed payments to be ready")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def test_a_provider_that_renames_or_drops_a_field_the_consumer_reads_fails_verification(
    stack: Stack, renamed_payments: str
) -> None:
    charge = httpx.post(renamed_payments + "/charges", json={"order_id": "ord-bite-1", "amount_cents": 100},
                        headers={"Idempotency-Key": "ord-bite-1"}, timeout=10).json()
    assert "id" in charge and "charge_id" not in charge and "status" not in charge, charge

    result = verify_pact(PACT_DIR / pact_filename("orders", "payments"), topology=stack.topology,
                         admin_token=stack.admin_token, provider_url=renamed_payments)

    assert not result.ok
    assert "a first charge of an order" in result.failed_interactions
    assert "missing the following keys: charge_id, status" in result.output
    # The outage interaction reads neither field, so it still verifies: the failure is the fields.
    assert "a charge while payments is unavailable" not in result.failed_interactions


def test_the_real_provider_passes_the_same_pact_the_renamed_one_fails(stack: Stack) -> None:
    result = verify_pact(PACT_DIR / pact_filename("orders", "payments"), topology=stack.topology,
                         admin_token=stack.admin_token)
    assert result.ok, result.output


def test_a_consumer_expectation_the_provider_cannot_meet_fails_verification(stack: Stack, tmp_path: Path) -> None:
    pact = Pact("cart", "catalog").with_specification("V4")
    (
        pact.upon_receiving("a request for one product with its colour")
        .given("product 1 exists", product_id=1)
        .with_request("GET", "/products/1")
        .will_respond_with(200)
        .with_body({"id": match.int(1), "colour": match.str("teal")}, content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        assert httpx.get(f"{srv.url}/products/1").json()["colour"] == "teal"
    pact.write_file(tmp_path)

    result = verify_pact(tmp_path / pact_filename("cart", "catalog"), topology=stack.topology,
                         admin_token=stack.admin_token)

    assert not result.ok
    assert result.failed_interactions == ("a request for one product with its colour",)
    assert "colour" in result.output


def test_an_unknown_provider_state_fails_verification_naming_the_state(stack: Stack, tmp_path: Path) -> None:
    pact = Pact("cart", "catalog").with_specification("V4")
    (
        pact.upon_receiving("a request for a product under a state nobody set up")
        .given("product 1 is on sale")
        .with_request("GET", "/products/1")
        .will_respond_with(200)
        .with_body({"id": match.int(1)}, content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        httpx.get(f"{srv.url}/products/1")
    pact.write_file(tmp_path)

    result = verify_pact(tmp_path / pact_filename("cart", "catalog"), topology=stack.topology,
                         admin_token=stack.admin_token)

    assert not result.ok
    assert any("product 1 is on sale" in err for err in result.state_errors)


def test_the_gate_fails_naming_an_edge_the_topology_gained_without_a_contract(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPLAB_PORT_OFFSET", str(stack.topology.port_offset))
    _register()

    # --extra-edge judges Topology(extra_edges=(("payments", "catalog"),)): a new arrow nobody contracted.
    result = CliRunner().invoke(cli, ["gate", "contracts", "--use-running", "--run-dir", str(stack.run_dir),
                                      "--extra-edge", "payments:catalog"])

    assert result.exit_code == 1, result.output
    assert "payments → catalog: missing (no consumer test contracts/consumers/test_payments__catalog.py)" in result.output
    assert "contract gate failed" in result.output
    matrix = result.output.split("✗")[0]
    assert matrix.count("verified") == 13  # 11 edges, shopper → gateway and the order-event message pact
    assert matrix.count("missing") == 1



@pytest.fixture
def headerless_gateway(stack: Stack) -> Iterator[str]:
    """Serve the real gateway's answers with the deprecation headers stripped (bodies and statuses unchanged)."""
    gateway = stack.service_url("gateway")
    app = Flask("headerless")

    @app.route("/<path:path>", methods=["GET", "POST"])
    def forward(path: str) -> Response:
        got = httpx.request(request.method, f"{gateway}/{path}", content=request.get_data(), timeout=30,
                            headers={"Content-Type": request.headers.get("Content-Type", "application/json")})
        return Response(got.content, got.status_code, content_type=got.headers.get("content-type"))

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_the_old_client_pact_fails_a_gateway_that_drops_the_deprecation_headers(
    stack: Stack, headerless_gateway: str
) -> None:
    result = verify_pact(PACT_DIR / pact_filename("shopper", "gateway"), topology=stack.topology,
                         admin_token=stack.admin_token, provider_url=headerless_gateway)

    assert not result.ok
    assert set(result.failed_interactions) == {
        "a product list on the unversioned path",
        "a product page on the unversioned path",
        "an invalid sign-up on the unversioned path",
    }, result.output
