"""``shoplab fault add``'s ``key=value`` attributes become a toxic's integer fields, or a message naming the bad one."""

from __future__ import annotations

import pytest

from chaos.toxic_args import parse_toxic_attributes

pytestmark = pytest.mark.unit


def test_key_value_words_become_integer_attributes() -> None:
    assert parse_toxic_attributes("latency", ["latency_ms=800", "jitter_ms=100"]) == {"latency_ms": 800, "jitter_ms": 100}


def test_an_unknown_key_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="'delay=5': expected key=value with key one of latency_ms, jitter_ms"):
        parse_toxic_attributes("latency", ["delay=5"])


def test_a_value_that_is_not_an_integer_is_refused() -> None:
    with pytest.raises(ValueError, match="attribute latency_ms: expected an integer, got 'fast'"):
        parse_toxic_attributes("latency", ["latency_ms=fast"])


def test_a_missing_required_attribute_is_named() -> None:
    with pytest.raises(ValueError, match=r"latency needs latency_ms=\.\.\."):
        parse_toxic_attributes("latency", ["jitter_ms=5"])
