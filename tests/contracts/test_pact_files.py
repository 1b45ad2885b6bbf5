"""The committed pacts are exactly what the consumer tests generate (``make test`` refreshes them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contracts.gate import run_consumer_tests
from contracts.pactfiles import PACT_DIR, find_stale_pacts, list_pacts, refresh_committed_pacts

pytestmark = pytest.mark.contracts


def test_committed_pacts_are_regenerated_and_must_not_be_stale(tmp_path: Path) -> None:
    run = run_consumer_tests(tmp_path / "pacts")
    assert run.returncode == 0, f"consumer tests failed:\n{run.output[-4000:]}"
    assert list_pacts(tmp_path / "pacts"), "the consumer tests wrote no pact"
    stale = refresh_committed_pacts(tmp_path / "pacts", PACT_DIR)
    assert not stale, (
        "stale pact files under contracts/pacts/ (now regenerated; review and commit them): "
        + "; ".join(str(s) for s in stale)
    )


def test_staleness_ignores_volatile_metadata_but_names_a_changed_pact(tmp_path: Path) -> None:
    committed, generated = tmp_path / "committed", tmp_path / "generated"
    committed.mkdir()
    generated.mkdir()
    pact: dict[str, Any] = {
        "consumer": {"name": "orders"},
        "provider": {"name": "payments"},
        "interactions": [{"description": "b"}, {"description": "a"}],
        "metadata": {"pactRust": {"ffi": "0.5.12"}, "pactSpecification": {"version": "4.0"}},
    }
    (committed / "orders-payments.json").write_text(json.dumps(pact))
    newer_library = {**pact, "interactions": pact["interactions"][::-1],
                     "metadata": {**pact["metadata"], "pactRust": {"ffi": "0.9.0"}}}
    (generated / "orders-payments.json").write_text(json.dumps(newer_library))
    assert find_stale_pacts(generated, committed) == []

    changed = {**pact, "interactions": [{"description": "a"}]}
    (generated / "orders-payments.json").write_text(json.dumps(changed))
    (generated / "cart-catalog.json").write_text(json.dumps(pact))
    stale = {s.name: s.reason for s in find_stale_pacts(generated, committed)}
    assert set(stale) == {"orders-payments.json", "cart-catalog.json"}
    assert "differs" in stale["orders-payments.json"]
    assert "not committed" in stale["cart-catalog.json"]
