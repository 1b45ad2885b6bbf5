"""Unit tests of ``shoplab profile``: override parsing and which service gets which override."""

from __future__ import annotations

import click
import pytest

from shop.topology import Topology
from shoplab.commands.profile import build_requests, parse_override

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("catalog.read_timeout_s=0.3", ("catalog", "read_timeout_s", 0.3)),
        ("payments.retry_max_attempts=5", ("payments", "retry_max_attempts", 5)),
        ("catalog.breaker_fail_max=null", ("catalog", "breaker_fail_max", None)),
        ("cart.propagate_deadline=false", ("cart", "propagate_deadline", False)),
    ],
)
def test_an_override_is_parsed_into_dependency_key_and_typed_value(raw: str, expected: tuple[object, ...]) -> None:
    assert parse_override(raw) == expected


@pytest.mark.parametrize(
    "raw", ["catalog=0.3", "read_timeout_s=0.3", "catalog.read_timeout_s", "catalog.nope=1",
            "catalog.read_timeout_s=fast", "catalog.read_timeout_s=null", "catalog.retry_max_attempts=0"],
)
def test_a_bad_override_is_refused_before_anything_is_sent(raw: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_override(raw)


def test_an_override_goes_to_every_caller_of_its_dependency_and_only_to_them() -> None:
    bodies = build_requests(Topology(), "retries", [("catalog", "read_timeout_s", 0.3)], Topology().service_names)
    callers = {s for s, body in bodies.items() if body["overrides"]}
    assert callers == {"gateway", "cart", "orders", "recommendations"}
    assert bodies["cart"] == {"profile": "retries", "overrides": {"catalog": {"read_timeout_s": 0.3}}}
    assert bodies["payments"] == {"profile": "retries", "overrides": {}}


def test_an_override_no_selected_service_can_use_is_refused() -> None:
    with pytest.raises(click.BadParameter, match="no selected service calls"):
        build_requests(Topology(), "naive", [("payments", "read_timeout_s", 1.0)], ["cart"])
