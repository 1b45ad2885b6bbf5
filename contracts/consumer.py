"""Helpers the consumer tests share: one pact per edge, the caller's real client, common matchers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pact import Pact, generate, match
from pact.match.matcher import GenericMatcher

from shop.kit.resilience import ResilientClient

# One exchange per interaction: retries and breakers are the resilience tests' concern, and a
# retried 503 would only replay the same interaction against the mock server.
CONTRACT_PROFILE = "timeouts"

Matcher = GenericMatcher[Any]


@contextmanager
def open_pact(consumer: str, provider: str, output_dir: Path) -> Iterator[Pact]:
    """Yield a V4 pact between two services; merge its interactions into ``output_dir`` after."""
    pact = Pact(consumer, provider).with_specification("V4")
    yield pact
    pact.write_file(output_dir)


def make_resilient_client(caller: str, callee: str, base_url: str) -> ResilientClient:
    """Return the kit's resilient client for ``caller``→``callee`` aimed at ``base_url`` (the mock)."""
    return ResilientClient(callee, base_url, caller=caller, profile=CONTRACT_PROFILE)


def from_state(expression: str, example: Any, *, regex: str | None = None) -> Matcher:
    """Match ``example`` by type (or regex) and let the provider's state fill the real value.

    ``expression`` is a Pact provider-state expression such as ``"${order_id}"``: the
    state handler answers the value, so ids the provider makes (or must not have seen
    yet) never have to be hard-coded in the pact.
    """
    generator = generate.provider_state(expression)
    if regex is not None:
        return GenericMatcher("regex", value=example, generator=generator, regex=regex)
    return GenericMatcher("type", value=example, generator=generator)


def error_body(code: str | None = None, *, details: Any = None) -> dict[str, Any]:
    """Return the shop's JSON error shape, with the exact ``code`` when the consumer relies on it."""
    error: dict[str, Any] = {
        "code": code if code is not None else match.str("dependency_unavailable"),
        "message": match.str("what went wrong"),
        "request_id": match.str("5f0c7d2e9a7b4c1d8e6f0a1b2c3d4e5f"),
    }
    if details is not None:
        error["details"] = details
    return {"error": error}


def unavailable_state(provider: str) -> str:
    """Return the provider state that makes ``provider`` answer 503 on every route."""
    return f"{provider} is unavailable"


W = TypeVar("W")


@contextmanager
def serve_peer(pact: Pact, wrapper: Callable[[ResilientClient], W]) -> Iterator[W]:
    """Serve the pact's mock provider on 127.0.0.1 and yield the consumer's real client aimed at it."""
    with pact.serve(addr="127.0.0.1") as srv:
        yield wrapper(make_resilient_client(pact.consumer, pact.provider, str(srv.url)))
