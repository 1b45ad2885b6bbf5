"""Find client methods no consumer test drives: a peer call the pacts do not cover."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

CONSUMER_DIR = Path(__file__).resolve().parent / "consumers"


def get_client_class_name(callee: str) -> str:
    """Return the name of the caller's wrapper class for ``callee`` (``orders`` → ``OrdersClient``)."""
    return callee.capitalize() + "Client"


def get_client_methods(caller: str, callee: str) -> list[str]:
    """Return the public methods of ``shop.<caller>.clients.<Callee>Client``; raise LookupError naming it."""
    module = importlib.import_module(f"shop.{caller}.clients")
    name = get_client_class_name(callee)
    cls = getattr(module, name, None)
    if cls is None:
        raise LookupError(f"shop/{caller}/clients.py has no class {name} for its {callee} edge")
    return sorted(n for n, _ in inspect.getmembers(cls, inspect.isfunction) if not n.startswith("_"))


def get_called_methods(test_module: Path) -> set[str]:
    """Return every attribute a consumer test module calls (``catalog.reserve(...)`` → ``reserve``)."""
    tree = ast.parse(test_module.read_text())
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }


def find_uncovered_methods(caller: str, callee: str, consumer_dir: Path = CONSUMER_DIR) -> list[str]:
    """Return ``Class.method`` for each client method of the edge its consumer test never calls."""
    test_module = consumer_dir / f"test_{caller}__{callee}.py"
    called = get_called_methods(test_module) if test_module.exists() else set()
    name = get_client_class_name(callee)
    return [f"{name}.{m}" for m in get_client_methods(caller, callee) if m not in called]
