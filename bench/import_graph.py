"""Print the import graph of our packages: modules, edges and cyclic groups (``python -m bench import-graph``).

Every import counts, also those inside functions (grimp reads them all), so a cycle
hidden by a function-level import still shows. A cyclic group is a strongly connected
component of more than one module: every module in it reaches every other.
"""

from __future__ import annotations

import grimp

PACKAGES = ("shop", "shoplab", "chaos", "loadtests", "contracts", "labs")


def cyclic_groups(adjacency: dict[str, list[str]]) -> list[list[str]]:
    """Return the strongly connected components of more than one module (Tarjan, iterative), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(adjacency):
        if start in index:
            continue
        # Each frame is (module, iterator position over its imports); no recursion limit to hit.
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, pos = work.pop()
            if pos == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = adjacency.get(node, [])
            if pos < len(targets):
                work.append((node, pos + 1))
                target = targets[pos]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if work:  # hand this node's low-link to its parent frame
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return sorted(groups)


def describe(packages: tuple[str, ...] = PACKAGES) -> tuple[int, int, list[list[str]]]:
    """Return the number of modules, the number of import edges, and the cyclic groups of ``packages``."""
    graph = grimp.build_graph(*packages, include_external_packages=False, cache_dir=None)
    adjacency = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    edges = sum(len(targets) for targets in adjacency.values())
    return len(adjacency), edges, cyclic_groups(adjacency)


def main() -> None:
    """Print the counts, then one line per cyclic group."""
    modules, edges, groups = describe()
    print(f"packages {' '.join(PACKAGES)}")
    print(f"modules {modules} edges {edges} cyclic groups {len(groups)}")
    for group in groups:
        print(f"  {len(group)}: {', '.join(group)}")
