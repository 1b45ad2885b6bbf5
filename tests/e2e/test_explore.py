"""The explorer on the real shop: each planted bug turns one cell worse and the gate names it; the clean shop passes.

Each run is scoped to the cells that matter (one journey, one edge, one mode) to stay in
the test-time budget; ``bench/README.md`` has the full matrix.
"""

from __future__ import annotations

import httpx
import pytest

from chaos.explore.matrix import Matrix
from chaos.explore.runner import Explorer, ExploreSettings
from chaos.explore.session import gate
from shoplab.runtime.audit import run_audit
from shoplab.runtime.stack import Stack

pytestmark = pytest.mark.e2e

# plant → (journey, edge, mode): the cell where the bug shows, and what the clean shop does there
PLANTED_CELLS = {
    "no_fallback": ("product", "gateway__recommendations", "down"),
    "inner_timeout_over_budget": ("product", "gateway__recommendations", "latency"),
    "final_503": ("browse", "gateway__catalog", "http_503"),
    "retry_post_without_key": ("cart", "gateway__cart", "latency"),
    "skip_compensation": ("decline", "orders__payments", "http_503"),
}


def explore(stack: Stack, journey: str, edge: str, mode: str, plants: tuple[str, ...] = ()) -> Matrix:
    settings = ExploreSettings(journeys=(journey,), profiles=("resilient",), modes=(mode,), edges=(edge,),
                               plants=plants)
    return Explorer(stack, settings, say=lambda _msg: None).run()


def release_held_stock(stack: Stack) -> None:
    """Release the holds the planted bug kept, through the catalog's own reservation API, as the saga would have."""
    report = run_audit({n: stack.service_url(n) for n in stack.topology.service_names}, stack.admin_token, 60)
    held = [v.ids[0] for v in report.violations if v.invariant == "stock_conserved" and "still held" in v.message]
    assert held, "the planted bug kept no hold: the test would prove nothing"
    with httpx.Client(base_url=stack.service_url("catalog"), timeout=5) as http:
        for order_id in held:
            http.post(f"/reservations/{order_id}/release", headers={"Idempotency-Key": order_id}).raise_for_status()


@pytest.mark.parametrize("plant", sorted(PLANTED_CELLS))
def test_the_gate_names_the_cell_a_planted_bug_makes_worse(stack: Stack, plant: str) -> None:
    journey, edge, mode = PLANTED_CELLS[plant]
    matrix = explore(stack, journey, edge, mode, (plant,))
    if plant == "skip_compensation":
        release_held_stock(stack)  # undo what the planted bug did, so the suite's closing audit judges the rest
    result = gate(matrix)
    assert f"{journey}|{edge}:{mode}|resilient" in {r.key for r in result.regressions}, (
        f"{plant} went unnoticed: " + "; ".join(f"{c.key} {c.outcome} {c.consistent} {c.detail}" for c in matrix.cells))


def test_the_clean_shop_passes_the_gate_on_the_planted_cells(stack: Stack) -> None:
    # one run per journey and edge: the modes of each planted cell together
    cells = []
    for journey, edge in sorted({(j, e) for j, e, _ in PLANTED_CELLS.values()}):
        modes = tuple(sorted({m for j, e, m in PLANTED_CELLS.values() if (j, e) == (journey, edge)}))
        settings = ExploreSettings(journeys=(journey,), profiles=("resilient",), modes=modes, edges=(edge,))
        cells += Explorer(stack, settings, say=lambda _msg: None).run().cells
    result = gate(Matrix(cells))
    assert result.ok, "; ".join(str(r) for r in result.regressions) or "nothing compared"
    assert result.compared == len(cells)  # every cell run is in the expected matrix
