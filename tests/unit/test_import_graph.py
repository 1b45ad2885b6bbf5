"""``python -m bench import-graph`` counts modules, edges and cyclic groups the way a reader would."""

from __future__ import annotations

import pytest

from bench.import_graph import cyclic_groups, describe

pytestmark = pytest.mark.unit


def test_cyclic_groups_are_the_strongly_connected_components_of_two_or_more_modules() -> None:
    adjacency = {
        "a": ["b"], "b": ["c"], "c": ["a", "d"],  # a → b → c → a
        "d": ["e"], "e": ["d"],  # d ⇄ e, reached from the first cycle
        "f": ["f", "a"],  # a self-import is not a group
        "g": [],
    }
    assert cyclic_groups(adjacency) == [["a", "b", "c"], ["d", "e"]]


def test_a_long_chain_is_walked_without_hitting_the_recursion_limit() -> None:
    chain = {f"m{i}": [f"m{i + 1}"] for i in range(5000)}
    chain["m5000"] = ["m0"]
    assert [len(g) for g in cyclic_groups(chain)] == [5001]


def test_the_runtime_package_has_no_cycle() -> None:
    modules, edges, groups = describe(("shoplab",))
    assert modules > 10 and edges > modules
    assert not [g for g in groups if any(m.startswith("shoplab.runtime") for m in g)]
