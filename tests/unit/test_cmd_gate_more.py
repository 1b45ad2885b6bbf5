"""The e2e and resilience gates: what they run and how their exit codes add up."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chaos import session
from shoplab.commands import gate as cmd_gate

pytestmark = pytest.mark.unit


def test_e2e_gate_runs_the_e2e_tier_and_passes_its_exit_code_on(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_run(cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, 1)

    monkeypatch.setattr(cmd_gate.subprocess, "run", fake_run)
    result = CliRunner().invoke(cmd_gate.command, ["e2e", "-k", "checkout"])
    assert result.exit_code == 1
    assert "e2e gate failed" in result.output
    assert "-m" in seen[0] and "e2e" in seen[0] and seen[0][-2:] == ["-k", "checkout"]


def test_resilience_gate_fails_when_any_experiment_fails_and_names_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    loaded: list[tuple[str, bool]] = []

    def fake_load(name: str, *, profiles: str | None, quick: bool) -> str:
        loaded.append((name, quick))
        return name

    codes = {"flagship": 0, "retry-storm": 1}
    monkeypatch.setattr(session, "load_for_run", fake_load)
    monkeypatch.setattr(session, "run_experiment_cli", lambda exp, quick: (codes[exp], tmp_path / exp))
    result = CliRunner().invoke(cmd_gate.command, ["resilience", "--experiments", "flagship,retry-storm"])
    assert result.exit_code == 1
    assert loaded == [("flagship", True), ("retry-storm", True)]
    assert "retry-storm" in result.output and "failed (exit 1)" in result.output
    assert "resilience gate failed" in result.output


def test_resilience_gate_passes_only_when_every_experiment_held(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(session, "load_for_run", lambda name, *, profiles, quick: name)
    monkeypatch.setattr(session, "run_experiment_cli", lambda exp, quick: (0, tmp_path / exp))
    result = CliRunner().invoke(cmd_gate.command, ["resilience", "--experiments", "flagship", "--full"])
    assert result.exit_code == 0
    assert "1 experiments held" in result.output
