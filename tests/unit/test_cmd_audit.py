"""Unit tests of ``shoplab audit``'s command line (the stack and the audit are faked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shop.topology import Topology
from shoplab.commands import audit as cmd_audit
from shoplab.runtime.audit import AuditReport, Violation
from shoplab.runtime.stack import StackNotRunning

pytestmark = pytest.mark.unit


class FakeStack:
    topology = Topology(port_offset=200)
    admin_token = "tok"

    def service_url(self, name: str) -> str:
        return self.topology.service_url(name)


def fake_attach(calls: list[Any]):  # type: ignore[no-untyped-def]
    def attach(run_dir: Path | None) -> FakeStack:
        calls.append(run_dir)
        return FakeStack()

    return attach


def test_a_violation_is_printed_with_its_ids_and_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    seen: dict[str, Any] = {}

    def fake_run_audit(base_urls: dict[str, str], token: str, drain_timeout_s: float, **kw: Any) -> AuditReport:
        seen.update(base_urls=base_urls, token=token, drain=drain_timeout_s)
        return AuditReport([Violation("one_charge_per_paid_order", "paid order ord_42 has 2 successful charges",
                                      ("ord_42",))], drained=True, pending_work=0, counts={"orders": 1})

    monkeypatch.setattr(cmd_audit.Stack, "attach", fake_attach(calls))
    monkeypatch.setattr(cmd_audit, "run_audit", fake_run_audit)
    result = CliRunner().invoke(cmd_audit.command, ["--run-dir", "/tmp/x", "--drain-timeout", "5"])
    assert result.exit_code == 1
    assert "ord_42" in result.output and "one_charge_per_paid_order" in result.output
    assert calls == [Path("/tmp/x")] and seen["token"] == "tok" and seen["drain"] == 5.0
    assert seen["base_urls"]["orders"] == "http://127.0.0.1:8284"


def test_a_clean_audit_exits_0_and_json_says_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cmd_audit.Stack, "attach", fake_attach([]))
    monkeypatch.setattr(cmd_audit, "run_audit",
                        lambda *a, **k: AuditReport([], drained=True, pending_work=0, counts={"orders": 3}))
    result = CliRunner().invoke(cmd_audit.command, ["--json"])
    assert result.exit_code == 0
    assert json.loads(result.output[result.output.index("{"):])["ok"] is True


def test_no_running_stack_exits_2_saying_how_to_start_one(monkeypatch: pytest.MonkeyPatch) -> None:
    def attach(run_dir: Path | None) -> FakeStack:
        raise StackNotRunning("no shoplab stack in /tmp/x: start one with `shoplab up -d`")

    monkeypatch.setattr(cmd_audit.Stack, "attach", attach)
    result = CliRunner().invoke(cmd_audit.command, [])
    assert result.exit_code == 2
