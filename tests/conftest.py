"""Fixtures every tier shares: the native stack (session-wide) and a toxiproxy client."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from shop.topology import Topology
from shoplab.runtime.audit import run_audit
from shoplab.runtime.stack import Stack, running_stack
from tests.parallel import worker_env


def pytest_configure(config: pytest.Config) -> None:
    """Move an xdist worker's stacks, side stacks and run folders into its own port band."""
    try:
        os.environ.update(worker_env(os.environ))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from exc


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Run the whole native shop once per session (ports shifted by SHOPLAB_PORT_OFFSET)."""
    run_dir = tmp_path_factory.mktemp("stack")
    with running_stack(run_dir, Topology.from_env(), observability=False) as running:
        yield running


@pytest.fixture
def toxiproxy(stack: Stack) -> Iterator[httpx.Client]:
    """Give a client on the toxiproxy API; every toxic and disabled proxy is reset after the test."""
    with httpx.Client(base_url=stack.topology.toxiproxy_url, timeout=10) as client:
        try:
            yield client
        finally:
            client.post("/reset").raise_for_status()


@pytest.fixture
def admin(stack: Stack) -> Iterator[httpx.Client]:
    """Give a client that carries the stack's admin token."""
    with httpx.Client(headers=stack.admin_headers(), timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def audit_after_suite(stack: Stack) -> Iterator[None]:
    """Audit the session's stack once every test that used it has run, before it stops.

    Set up after ``stack``, so torn down before it: a broken invariant is an error at
    the session's end, whatever order (or xdist worker) the tests ran in.
    """
    yield
    report = run_audit(
        {name: stack.service_url(name) for name in stack.topology.service_names}, stack.admin_token,
        drain_timeout_s=120,
    )
    assert report.drained, f"{report.pending_work} order step(s)/event(s) still pending after the suite"
    assert report.ok, "\n".join(str(v) for v in report.violations)
    cli = subprocess.run(
        [sys.executable, "-m", "shoplab", "audit", "--run-dir", str(stack.run_dir), "--json"],
        capture_output=True, text=True, timeout=180,
    )
    assert cli.returncode == 0 and '"ok": true' in cli.stdout, cli.stdout + cli.stderr


@pytest.fixture(autouse=True)
def _audit_e2e_stack_after_suite(request: pytest.FixtureRequest) -> None:
    # Only an e2e test that uses the stack arms the audit: the other tiers kill
    # programs and load mutants on purpose, and a unit test must not start a stack.
    if "stack" in request.fixturenames and request.node.get_closest_marker("e2e"):
        request.getfixturevalue("audit_after_suite")
