"""Every method of every peer client is driven by its edge's consumer test, so no peer call escapes the pacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.coverage import find_uncovered_methods
from shop.topology import DEFAULT

pytestmark = pytest.mark.contracts

EDGES = [(e.caller, e.callee) for e in DEFAULT.edges]


@pytest.mark.parametrize(("caller", "callee"), EDGES, ids=[f"{c}__{p}" for c, p in EDGES])
def test_every_client_method_of_the_edge_has_a_consumer_interaction(caller: str, callee: str) -> None:
    uncovered = find_uncovered_methods(caller, callee)
    assert not uncovered, (
        f"{caller} → {callee}: {', '.join(uncovered)} call {callee} but no test in "
        f"contracts/consumers/test_{caller}__{callee}.py drives them"
    )


def test_a_client_method_without_an_interaction_is_named(tmp_path: Path) -> None:
    (tmp_path / "test_orders__payments.py").write_text("def test_x(p):\n    p.something_else()\n")
    assert find_uncovered_methods("orders", "payments", tmp_path) == ["PaymentsClient.charge"]
