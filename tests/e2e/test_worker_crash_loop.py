"""The worker-crash-loop experiment, quick form, on the native stack through `shoplab run --quick`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from shoplab.runtime.audit import fetch_audit_data
from shoplab.runtime.stack import Stack
from tests.e2e.test_chaos_experiments import resilient_afterwards, run_shoplab, the_report

pytestmark = pytest.mark.e2e

__all__ = ["resilient_afterwards"]  # the fixture, imported so this module can use it


def all_orders(stack: Stack) -> list[dict[str, Any]]:
    """Return every order from the orders admin audit, oldest first."""
    urls = {name: stack.service_url(name) for name in stack.topology.service_names}
    with httpx.Client(timeout=30) as http:
        data = fetch_audit_data(urls, stack.admin_token, http=http)
    assert "orders" not in data.unreachable, data.unreachable
    return list(data.orders["orders"])


def orders_audited(profile: dict[str, Any]) -> int:
    """Return how many orders the shop held when this profile's audit ran (its detail names the counts)."""
    found = re.search(r"'orders': (\d+)", profile["audit"]["detail"])
    assert found, profile["audit"]
    return int(found.group(1))


def test_the_worker_killed_in_a_loop_leaves_a_clean_audit_under_every_profile(
        stack: Stack, tmp_path: Path, resilient_afterwards: None) -> None:
    reports = tmp_path / "reports"
    before = len(all_orders(stack))
    proc = run_shoplab(stack, reports, "run", "worker-crash-loop", "--quick", timeout_s=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    journal = json.loads((the_report(reports) / "journal.json").read_text())
    assert [p["profile"] for p in journal["profiles"]] == ["naive", "timeouts", "retries", "resilient"]
    orders = all_orders(stack)
    for profile in journal["profiles"]:
        # profiles run one after the other and each audits after its drain: its orders are the slice
        # between the previous audit's count and its own (the list is oldest first)
        upto = orders_audited(profile)
        mine, before = orders[before:upto], upto
        declined = [o for o in mine if o["status"] == "payment_failed" and o["reason"] == "declined"]
        assert declined, (profile["profile"], len(mine), {(o["status"], o["reason"]) for o in mine})
        kills = [e for e in profile["fault_events"]
                 if e["action"] == "applied" and e["fault"] == "kill process orders-worker"]
        assert len(kills) == 3, profile["profile"]
        assert profile["audit"]["clean"] is True, (profile["profile"], profile["audit"])
    assert [s.state for s in stack.status() if s.name == "orders-worker"] == ["RUNNING"]
    audit = run_shoplab(stack, reports, "audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr
