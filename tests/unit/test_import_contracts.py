"""The import contracts in .importlinter bite: a back-import or a cycle breaks them, by name."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shoplab import REPO_ROOT

pytestmark = pytest.mark.unit

PACKAGES = ("shop", "shoplab", "chaos", "contracts", "loadtests", "labs", "bench")
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def _copy_tree(dest: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / ".importlinter", dest / ".importlinter")
    return dest


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    # root first on PYTHONPATH, so grimp reads this copy and not the installed checkout.
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", "--config", str(root / ".importlinter")],
        cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_a_back_import_from_the_shop_into_a_command_breaks_the_layers(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    _append(root / "shop" / "topology.py", "import shoplab.commands.run  # deliberate back-import")
    result = _lint(root)
    assert result.returncode != 0
    assert "Packages depend downward only" in result.stdout
    assert "shop is not allowed to import shoplab.commands" in result.stdout
    assert "shop.topology -> shoplab.commands.run" in result.stdout


def test_a_cycle_between_two_runtime_modules_breaks_the_acyclic_contract(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    before = _lint(root).stdout
    _append(root / "shoplab" / "runtime" / "ports.py", "import shoplab.runtime.stack  # deliberate cycle")
    result = _lint(root)
    assert result.returncode != 0
    assert "No cycles are allowed in shoplab.runtime." not in before
    assert "No cycles are allowed in shoplab.runtime." in result.stdout


def test_one_command_importing_another_breaks_the_commands_contract(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    _append(root / "shoplab" / "commands" / "audit.py", "import shoplab.commands.fault  # deliberate")
    result = _lint(root)
    assert result.returncode != 0
    assert "shoplab.commands.audit is not allowed to import shoplab.commands.fault" in result.stdout


def test_the_real_tree_keeps_every_import_contract() -> None:
    result = subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache"], cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout
