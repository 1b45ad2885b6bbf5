"""Every provider, running for real with its peers, meets the committed pact of each of its consumers."""

from __future__ import annotations

import pytest

from contracts.pactfiles import PACT_DIR, PUBLIC_EDGES, pact_filename
from contracts.verify import verify_pact
from shop.topology import DEFAULT
from shoplab.runtime.stack import Stack

pytestmark = pytest.mark.contracts

# Every edge of the shop, plus the public API's outside consumers (shopper → gateway).
EDGES = [(e.caller, e.callee) for e in DEFAULT.edges] + list(PUBLIC_EDGES)


@pytest.mark.parametrize(("caller", "callee"), EDGES, ids=[f"{c}__{p}" for c, p in EDGES])
def test_provider_meets_the_committed_pact_of_its_consumer(stack: Stack, caller: str, callee: str) -> None:
    path = PACT_DIR / pact_filename(caller, callee)
    assert path.exists(), f"no committed pact for {caller} → {callee}: add contracts/consumers/test_{caller}__{callee}.py"
    result = verify_pact(path, topology=stack.topology, admin_token=stack.admin_token)
    assert result.ok, f"{callee} does not meet {caller}'s pact:\n{result.output}\n{result.state_errors}"
