"""The explorer's pure parts on hand-made data: pruning of pairs, the gate's comparison, modes, app-fault matching."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from chaos.explore.matrix import Cell, Matrix, compare, plan_pairs, worst
from chaos.explore.modes import MODES, fault_specs
from chaos.explore.report import write_report
from chaos.explore.session import parse_duration_s
from chaos.model import AppFaultSpec, DownFaultSpec, ToxicFaultSpec
from shop.kit.errors import ValidationFailed
from shop.kit.faults import FaultSet, FaultSpec
from shop.kit.plants import is_planted, parse_plants, set_plants

pytestmark = pytest.mark.unit


def cell(journey: str, faults: tuple[tuple[str, str], ...], outcome: str, *, profile: str = "resilient",
         consistent: bool | None = None) -> Cell:
    return Cell(journey, faults, profile, outcome, "200", 0.1, consistent)


def test_pairs_with_a_point_that_fails_alone_are_pruned_and_counted() -> None:
    singles = [
        cell("checkout", (("gateway__orders", "down"),), "failure"),
        cell("checkout", (("orders__payments", "http_503"),), "success"),
        cell("checkout", (("orders__notifications", "down"),), "success"),
        cell("checkout", (("orders__cart", "reset"),), "degraded"),
    ]
    [plan] = plan_pairs(singles)
    # 4 points on 4 edges: 6 pairs; the 3 with gateway__orders:down are pruned
    assert plan.pruned == 3 and plan.total == 6
    assert (("gateway__orders", "down")) not in {p for pair in plan.pairs for p in pair}
    assert len(plan.pairs) == 3


def test_pairs_never_join_two_modes_of_one_edge_nor_the_baseline() -> None:
    singles = [
        cell("browse", (("none", "none"),), "success"),
        cell("browse", (("gateway__catalog", "reset"),), "success"),
        cell("browse", (("gateway__catalog", "latency"),), "success"),
    ]
    [plan] = plan_pairs(singles)
    assert plan.pairs == [] and plan.pruned == 0


def test_pairs_are_planned_per_journey_and_profile() -> None:
    singles = [
        cell("cart", (("gateway__cart", "down"),), "failure", profile="naive"),
        cell("cart", (("cart__catalog", "down"),), "success", profile="naive"),
        cell("cart", (("gateway__cart", "down"),), "success"),
        cell("cart", (("cart__catalog", "down"),), "success"),
    ]
    plans = {p.profile: p for p in plan_pairs(singles)}
    assert plans["naive"].pruned == 1 and plans["naive"].pairs == []
    assert plans["resilient"].pruned == 0 and len(plans["resilient"].pairs) == 1


def test_the_gate_names_a_cell_whose_outcome_got_worse() -> None:
    expected = Matrix([cell("product", (("gateway__recommendations", "down"),), "degraded")])
    actual = Matrix([cell("product", (("gateway__recommendations", "down"),), "failure")])
    result = compare(expected, actual)
    assert not result.ok
    assert [r.key for r in result.regressions] == ["product|gateway__recommendations:down|resilient"]
    assert "expected degraded" in str(result.regressions[0])


def test_the_gate_fails_a_cell_that_left_the_shop_inconsistent_even_with_the_same_outcome() -> None:
    expected = Matrix([cell("cart", (("gateway__cart", "latency"),), "failure", consistent=True)])
    actual = Matrix([cell("cart", (("gateway__cart", "latency"),), "failure", consistent=False)])
    assert [r.key for r in compare(expected, actual).regressions] == ["cart|gateway__cart:latency|resilient"]


def test_the_gate_passes_better_cells_ignores_other_profiles_and_lists_unknown_ones() -> None:
    expected = Matrix([cell("browse", (("gateway__catalog", "http_503"),), "failure")])
    actual = Matrix([
        cell("browse", (("gateway__catalog", "http_503"),), "success"),
        cell("browse", (("gateway__catalog", "http_503"),), "failure", profile="naive"),
        cell("browse", (("gateway__catalog", "down"),), "failure"),
    ])
    result = compare(expected, actual)
    assert result.ok and result.compared == 1
    assert result.unknown == ["browse|gateway__catalog:down|resilient"]


def test_the_gate_fails_when_no_cell_could_be_compared() -> None:
    result = compare(Matrix([]), Matrix([cell("browse", (("gateway__catalog", "down"),), "success")]))
    assert not result.ok and result.compared == 0


def test_repetitions_fold_into_the_worst_outcome_and_consistency() -> None:
    runs = [cell("cart", (("gateway__cart", "reset"),), "success", consistent=True),
            cell("cart", (("gateway__cart", "reset"),), "degraded", consistent=False)]
    folded = worst(runs)
    assert folded.outcome == "degraded" and folded.consistent is False and folded.runs == 2


def test_a_matrix_survives_its_json() -> None:
    m = Matrix([cell("checkout", (("orders__payments", "http_429"), ("orders__cart", "down")), "failure",
                     consistent=True)], {"duration_s": 1.0})
    again = Matrix.from_json(m.to_json())
    assert again.cells == m.cells and again.meta == m.meta
    assert again.cells[0].key == "checkout|orders__payments:http_429+orders__cart:down|resilient"


def test_each_mode_becomes_a_fault_on_its_edge_and_http_modes_hit_only_its_caller_once() -> None:
    specs = fault_specs([("orders__payments", m) for m in MODES])
    toxics = [s for s in specs if isinstance(s, ToxicFaultSpec)]
    assert {s.toxic.type for s in toxics} == {"reset_peer", "latency", "slicer"}
    assert all(s.edge == "orders__payments" for s in toxics)
    assert [s.edge for s in specs if isinstance(s, DownFaultSpec)] == ["orders__payments"]
    [app] = [s for s in specs if isinstance(s, AppFaultSpec)]  # one list per callee: the admin API replaces it
    assert app.service == "payments"
    assert sorted(r.status for r in app.rules) == [429, 500, 503]
    assert all(r.caller == "orders" and r.times == 1 for r in app.rules)


def test_an_app_fault_with_a_caller_hits_only_that_caller_and_times_makes_it_transient() -> None:
    faults = FaultSet()
    faults.replace([FaultSpec(route="/", caller="orders", error_rate=1.0, status=503, times=2)])
    assert faults.find("POST", "/charges", "gateway") is None
    assert faults.find("POST", "/charges", None) is None
    assert faults.find("POST", "/charges", "orders") is not None
    assert faults.find("POST", "/charges", "orders") is not None
    assert faults.find("POST", "/charges", "orders") is None  # used up
    faults.replace(list(faults.faults))  # a new list counts again
    assert faults.find("POST", "/charges", "orders") is not None


def test_plants_are_named_and_an_unknown_one_is_refused() -> None:
    try:
        assert set_plants(["no_fallback", " "]) == {"no_fallback"}
        assert is_planted("no_fallback") and not is_planted("final_503")
        with pytest.raises(ValidationFailed, match="unknown plants nope"):
            parse_plants(["nope"])
    finally:
        set_plants([])


def test_the_report_colours_each_cell_by_outcome_and_junit_fails_failed_or_inconsistent_cells(tmp_path: Path) -> None:
    m = Matrix([
        cell("product", (("none", "none"),), "success"),
        cell("product", (("gateway__recommendations", "down"),), "degraded"),
        cell("product", (("gateway__recommendations", "down"),), "failure", profile="naive"),
        cell("cart", (("gateway__cart", "latency"),), "success", consistent=False),
    ], {"duration_s": 1.0, "machine": {"host": "h", "cpus": 2, "loadavg_1_5_15": [1, 1, 1]},
        "loadavg_before": [1, 1, 1], "settings": {"repeats": 1, "plants": []}, "edges": {}, "modes": {},
        "user_timeout_s": 3.5, "skipped_by_budget": 0})
    paths = write_report(m, tmp_path)
    html = paths["html"].read_text()
    assert 'class="degraded"' in html and 'class="failure"' in html and "inconsistent" in html
    assert "<th>naive</th>" in html and "<th>resilient</th>" in html  # profiles side by side
    junit = ET.parse(paths["junit"]).getroot()
    assert junit.get("tests") == "4" and junit.get("failures") == "2"
    assert Matrix.from_json(json.loads(paths["json"].read_text())).cells == m.cells


def test_budgets_read_as_durations() -> None:
    assert parse_duration_s("10m") == 600 and parse_duration_s("90s") == 90 and parse_duration_s("45") == 45
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration_s("ten minutes")


def test_only_an_admin_call_that_got_no_answer_is_sent_again() -> None:
    from chaos.errors import AdminError
    from chaos.explore.runner import _is_transport_error

    assert _is_transport_error(AdminError("no answer", service="catalog"))
    assert _is_transport_error(httpx.RemoteProtocolError("Server disconnected"))
    assert not _is_transport_error(AdminError("refused", service="catalog", status_code=422))
