"""Audit the session's stack after every other e2e test (the ``z`` in the name runs it last).

pytest collects a folder's modules in name order, so this module sees what the whole e2e
tier did to the shared stack: every invariant must still hold, and the command line must agree.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from shoplab.runtime.audit import run_audit
from shoplab.runtime.stack import Stack

pytestmark = pytest.mark.e2e


def test_every_invariant_holds_after_the_e2e_suite(stack: Stack) -> None:
    base_urls = {name: stack.service_url(name) for name in stack.topology.service_names}
    report = run_audit(base_urls, stack.admin_token, drain_timeout_s=120)
    assert report.drained, f"{report.pending_work} order step(s)/event(s) still pending"
    assert report.ok, "\n".join(str(v) for v in report.violations)


def test_shoplab_audit_exits_zero_on_the_clean_stack(stack: Stack) -> None:
    cli = subprocess.run(
        [sys.executable, "-m", "shoplab", "audit", "--run-dir", str(stack.run_dir), "--json"],
        capture_output=True, text=True, timeout=180,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert '"ok": true' in cli.stdout
