"""Check every service of shop.topology against docs/service-template.md (parsed with ast, no sockets)."""

from __future__ import annotations

import ast
import dataclasses
import importlib
from pathlib import Path

import pytest

from shop.topology import DEFAULT
from tests.unit.peer_fakes import service_env

pytestmark = pytest.mark.unit

SHOP = Path(__file__).resolve().parents[2] / "shop"
SERVICES = DEFAULT.service_names
TEMPLATE_FILES = {
    "__init__.py",
    "bootstrap.py",
    "config.py",
    "model.py",
    "service.py",
    "store.py",
    "clients.py",
    "api.py",
}
# A background process sits beside the service's files and builds its parts through bootstrap.py.
EXTRA_FILES = {"orders": {"worker.py"}, "notifications": {"consumer.py"}}
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _tree(service: str, filename: str) -> ast.Module:
    return ast.parse((SHOP / service / filename).read_text(encoding="utf-8"))


def _imported_roots(tree: ast.Module) -> set[str]:
    """Return the top-level package of every import in ``tree``, wherever it sits."""
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def _defined_names(tree: ast.Module) -> set[str]:
    """Return every name a module defines at its top level (functions, classes, assignments)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _files(service: str) -> set[str]:
    return {p.name for p in (SHOP / service).glob("*.py")}


@pytest.mark.parametrize("service", SERVICES)
def test_a_services_init_defines_create_app_and_nothing_else(service: str) -> None:
    assert _defined_names(_tree(service, "__init__.py")) == {"create_app"}


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_holds_only_files_the_template_names(service: str) -> None:
    allowed = TEMPLATE_FILES | EXTRA_FILES.get(service, set())
    assert _files(service) <= allowed, f"{service} has files the template does not name"
    assert {"__init__.py", "api.py", "bootstrap.py", "config.py"} <= _files(service)


@pytest.mark.parametrize("service", SERVICES)
def test_a_services_domain_and_model_never_import_flask(service: str) -> None:
    for filename in ("service.py", "model.py"):
        if filename in _files(service):
            assert "flask" not in _imported_roots(_tree(service, filename)), f"{service}/{filename}"


@pytest.mark.parametrize("service", SERVICES)
def test_a_services_model_imports_neither_sqlalchemy_nor_httpx(service: str) -> None:
    if "model.py" not in _files(service):
        return  # the template lets a service skip a file it does not need
    assert not {"sqlalchemy", "httpx"} & _imported_roots(_tree(service, "model.py"))


@pytest.mark.parametrize("service", SERVICES)
def test_a_services_store_has_one_public_store_class_on_core_tables(service: str) -> None:
    if "store.py" not in _files(service):
        return  # a service without data of its own has no store
    tree = _tree(service, "store.py")
    public_classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("_")]
    stores = [name for name in public_classes if name.endswith("Store")]
    assert len(stores) == 1, f"{service}/store.py should have one <Noun>Store class, has {stores}"
    source = (SHOP / service / "store.py").read_text(encoding="utf-8")
    assert "DeclarativeBase" not in source and "Table(" in source


@pytest.mark.parametrize("service", SERVICES)
def test_a_services_bootstrap_builds_a_frozen_deps_read_through_get_deps(service: str) -> None:
    module = importlib.import_module(f"shop.{service}.bootstrap")
    deps = module.Deps
    assert dataclasses.is_dataclass(deps) and deps.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert callable(module.get_deps) and callable(module.bootstrap)


@pytest.mark.parametrize("service", SERVICES)
def test_a_services_sqlite_file_is_named_after_the_service(service: str, tmp_path: Path) -> None:
    create_app = importlib.import_module(f"shop.{service}").create_app
    create_app(env=service_env(tmp_path, service))
    data_dir = tmp_path / service
    files = sorted(p.name for p in data_dir.glob("*") if not p.name.endswith(SQLITE_SIDE_FILES))
    expected = [f"{service}.sqlite3"] if "store.py" in _files(service) else []
    assert files == expected


@pytest.mark.parametrize("service", SERVICES)
def test_no_module_of_a_service_reaches_into_the_kit_state_by_string(service: str) -> None:
    for path in sorted((SHOP / service).glob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert "extras[" not in source and "get_kit" not in source, f"{service}/{path.name}"
