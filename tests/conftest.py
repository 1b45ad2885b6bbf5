"""Fixtures every tier shares: the native stack (session-wide) and a toxiproxy client."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from shop.topology import Topology
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
