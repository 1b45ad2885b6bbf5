"""``shoplab gate contracts`` passes on main, prints the consumer × provider matrix, and fails on a missing edge."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from shoplab.cli import _register, cli
from shoplab.runtime.stack import Stack

pytestmark = pytest.mark.contracts


def test_gate_contracts_passes_on_main_and_prints_every_edge_verified(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPLAB_PORT_OFFSET", str(stack.topology.port_offset))
    _register()

    result = CliRunner().invoke(cli, ["gate", "contracts", "--use-running", "--run-dir", str(stack.run_dir)])

    assert result.exit_code == 0, result.output
    assert "consumer × provider" in result.output
    # the 11 HTTP edges, the outside client shopper → gateway and the order-event message pact (notifications ⇢ orders)
    assert "contract gate passed: 13 edges verified" in result.output
    matrix = result.output.split("contract gate passed")[0]
    assert matrix.count("verified") == 13
    assert "failed" not in matrix and "missing" not in matrix
