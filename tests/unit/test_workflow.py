"""Check the CI workflow users copy: actionlint accepts it, and it runs what the README promises."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import yaml

from shoplab import REPO_ROOT
from shoplab.runtime.tools import ensure_tool

pytestmark = pytest.mark.unit

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "shoplab.yml"


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_actionlint_accepts_the_workflow() -> None:
    actionlint = ensure_tool("actionlint", install=False)
    done = subprocess.run([str(actionlint), "-no-color", str(WORKFLOW)], capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_refuses_a_broken_workflow(tmp_path: Any) -> None:
    actionlint = ensure_tool("actionlint", install=False)
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.04\n    needs: [nope]", 1))
    done = subprocess.run([str(actionlint), "-no-color", str(broken)], capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 1 and "nope" in done.stdout


def test_the_workflow_tests_gates_uploads_and_builds_the_image() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    runs = "\n".join(step.get("run", "") for step in _steps(workflow))
    for command in ("make test", "shoplab gate contracts", "shoplab gate e2e", "shoplab gate resilience",
                    "docker build"):
        assert command in runs, command
    uploaded = {step["with"]["path"] for step in _steps(workflow) if step.get("uses", "").startswith(
        "actions/upload-artifact")}
    assert {"reports/", "junit/"} <= uploaded
    assert workflow["env"]["JUNIT_DIR"] == "junit"
