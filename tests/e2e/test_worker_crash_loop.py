"""The worker-crash-loop experiment, quick form, on the native stack through `shoplab run --quick`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoplab.runtime.stack import Stack
from tests.e2e.test_chaos_experiments import resilient_afterwards, run_shoplab, the_report

pytestmark = pytest.mark.e2e

__all__ = ["resilient_afterwards"]  # the fixture, imported so this module can use it


def test_the_worker_killed_in_a_loop_leaves_a_clean_audit_under_every_profile(
        stack: Stack, tmp_path: Path, resilient_afterwards: None) -> None:
    reports = tmp_path / "reports"
    proc = run_shoplab(stack, reports, "run", "worker-crash-loop", "--quick", timeout_s=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    journal = json.loads((the_report(reports) / "journal.json").read_text())
    assert [p["profile"] for p in journal["profiles"]] == ["naive", "timeouts", "retries", "resilient"]
    for profile in journal["profiles"]:
        kills = [e for e in profile["fault_events"]
                 if e["action"] == "applied" and e["fault"] == "kill process orders-worker"]
        assert len(kills) == 3, profile["profile"]
        assert profile["audit"]["clean"] is True, (profile["profile"], profile["audit"])
    assert [s.state for s in stack.status() if s.name == "orders-worker"] == ["RUNNING"]
    audit = run_shoplab(stack, reports, "audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr
