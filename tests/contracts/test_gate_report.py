"""How the gate judges each edge from the consumer run, the pacts, their staleness and the verifications."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.gate import ConsumerRun, EdgeStatus, build_report, edge_of_consumer_module
from contracts.messages import MESSAGE_EDGES
from contracts.pactfiles import PUBLIC_EDGES, StalePact
from contracts.verify import VerificationResult
from shop.topology import Topology

pytestmark = pytest.mark.contracts

TOPOLOGY = Topology()
# every topology edge, the outside client shopper → gateway, then the message pact notifications ⇢ orders
EDGES = [(e.caller, e.callee) for e in TOPOLOGY.edges] + list(PUBLIC_EDGES) + list(MESSAGE_EDGES)


def _all_good() -> tuple[ConsumerRun, dict[tuple[str, str], Path], dict[tuple[str, str], VerificationResult]]:
    consumers = ConsumerRun({edge: True for edge in EDGES}, 0, "")
    generated = {edge: Path(f"{edge[0]}-{edge[1]}.json") for edge in EDGES}
    verifications = {edge: VerificationResult(edge[0], edge[1], True, "") for edge in EDGES}
    return consumers, generated, verifications


def test_consumer_modules_are_named_after_the_edge_they_cover() -> None:
    assert edge_of_consumer_module(Path("test_orders__payments.py")) == ("orders", "payments")
    assert edge_of_consumer_module(Path("conftest.py")) is None
    assert edge_of_consumer_module(Path("test_helpers.py")) is None


def test_a_missing_message_pact_fails_the_gate_naming_it() -> None:
    consumers, generated, verifications = _all_good()
    del generated[("notifications", "orders")]
    del consumers.passed[("notifications", "orders")]
    report = build_report(TOPOLOGY, consumers=consumers, generated=generated, verifications=verifications, stale=[])
    assert not report.ok
    assert report.status_of("notifications", "orders") is EdgeStatus.MISSING


def test_every_edge_verified_makes_the_gate_pass() -> None:
    consumers, generated, verifications = _all_good()
    report = build_report(TOPOLOGY, consumers=consumers, generated=generated, verifications=verifications, stale=[])
    assert report.ok
    assert report.failures() == []
    assert len(report.edges) == 13  # 11 edges of the shop, shopper → gateway and the message pact


def test_a_failed_provider_verification_fails_the_gate_naming_the_edge_and_interaction() -> None:
    consumers, generated, verifications = _all_good()
    verifications[("orders", "payments")] = VerificationResult(
        "orders", "payments", False, "", failed_interactions=("a first charge of an order",)
    )
    report = build_report(TOPOLOGY, consumers=consumers, generated=generated, verifications=verifications, stale=[])
    assert not report.ok
    assert report.status_of("orders", "payments") is EdgeStatus.FAILED
    assert report.failures() == [
        "orders → payments: failed (provider verification failed: a first charge of an order)"
    ]


def test_a_failing_consumer_test_fails_its_edge() -> None:
    consumers, generated, verifications = _all_good()
    consumers.passed[("cart", "catalog")] = False
    report = build_report(TOPOLOGY, consumers=consumers, generated=generated, verifications=verifications, stale=[])
    assert report.status_of("cart", "catalog") is EdgeStatus.FAILED
    assert not report.ok


def test_a_stale_committed_pact_fails_its_edge() -> None:
    consumers, generated, verifications = _all_good()
    stale = [StalePact("gateway-orders.json", "differs from what the consumer tests generate")]
    report = build_report(TOPOLOGY, consumers=consumers, generated=generated, verifications=verifications, stale=stale)
    assert report.status_of("gateway", "orders") is EdgeStatus.FAILED
    assert any("stale pact gateway-orders.json" in line for line in report.failures())


def test_an_edge_with_no_consumer_test_is_missing() -> None:
    consumers, generated, verifications = _all_good()
    topology = Topology(extra_edges=(("payments", "catalog"),))
    report = build_report(topology, consumers=consumers, generated=generated, verifications=verifications, stale=[])
    assert report.status_of("payments", "catalog") is EdgeStatus.MISSING
    assert report.failures() == [
        "payments → catalog: missing (no consumer test contracts/consumers/test_payments__catalog.py)"
    ]


def test_a_client_method_no_consumer_test_drives_fails_its_edge() -> None:
    consumers, generated, verifications = _all_good()
    report = build_report(TOPOLOGY, consumers=consumers, generated=generated, verifications=verifications,
                          stale=[], uncovered={("gateway", "orders"): ["OrdersClient.cancel"]})
    assert report.status_of("gateway", "orders") is EdgeStatus.FAILED
    assert report.failures() == ["gateway → orders: failed (client methods without a contract: OrdersClient.cancel)"]
