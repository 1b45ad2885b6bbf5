"""The real setup path: ``python -m shoplab.runtime.tools install`` builds toxiproxy-server with Go into a fresh tools dir."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shoplab import REPO_ROOT
from shoplab.runtime.tools import TOXIPROXY_VERSION
from shoplab.runtime.tools.progress import format_line

pytestmark = pytest.mark.integration


def run_setup(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the tools command as `make setup` does, with its tools dir and run dir under tmp_path."""
    # `make test` puts .tools/bin on PATH: drop every folder that already holds a toxiproxy-server
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "toxiproxy-server").exists())
    env = {**os.environ, "PATH": path, "SHOPLAB_TOOLS_DIR": str(tmp_path / "tools"),
           "SHOPLAB_RUN_DIR": str(tmp_path / "run")}
    return subprocess.run(
        [sys.executable, "-m", "shoplab.runtime.tools", "install", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )


def test_setup_builds_toxiproxy_into_an_empty_tools_dir_in_one_line_then_finds_it(tmp_path: Path) -> None:
    if shutil.which("go") is None:
        pytest.fail("this test builds toxiproxy-server with Go: install Go (https://go.dev/dl/) and put it on PATH")
    first = run_setup(tmp_path, "--for", "demo")
    assert first.returncode == 0, first.stderr
    binary = tmp_path / "tools" / "toxiproxy-server"
    lines = first.stdout.splitlines()
    assert len(lines) == 1, first.stdout
    assert lines[0].startswith(format_line(f"toxiproxy-server {TOXIPROXY_VERSION}", "built with go (Go module proxy)"))
    assert lines[0].endswith(" s")
    assert first.stderr == ""
    # the go command went to the setup log, not to the terminal
    assert "go install" in (tmp_path / "run" / "logs" / "setup.log").read_text()
    version = subprocess.run([str(binary), "-version"], capture_output=True, text=True, timeout=30, check=True)
    assert TOXIPROXY_VERSION in version.stdout

    second = run_setup(tmp_path, "--for", "demo")
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [
        format_line(f"toxiproxy-server {TOXIPROXY_VERSION}", "already installed", str(binary))
    ]
