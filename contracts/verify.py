"""Replay pacts against a running provider process, with its states set up for real."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pact import Verifier

import contracts.provider_states  # noqa: F401 - registers every provider's states
from contracts.pactfiles import parse_pact_filename
from contracts.states import ProviderStates, get_state_url, serve_states
from shop.topology import Topology


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of verifying one pact (one edge) against its provider."""

    consumer: str
    provider: str
    ok: bool
    output: str
    failed_interactions: tuple[str, ...] = ()
    state_errors: tuple[str, ...] = field(default=())

    @property
    def edge(self) -> tuple[str, str]:
        """Return ``(caller, callee)``."""
        return (self.consumer, self.provider)


def verify_pact(
    pact_file: Path,
    *,
    topology: Topology,
    admin_token: str,
    provider_url: str | None = None,
    timeout_ms: int = 10_000,
) -> VerificationResult:
    """Verify one pact file against its provider (``provider_url``, default: its stack URL).

    The provider's peers must be running too when its answers depend on them.
    """
    # Pact's verifier reports usage to pact.io unless told not to; a gate has no business phoning home.
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    consumer, provider = parse_pact_filename(pact_file)
    url = provider_url or topology.service_url(provider)
    states = ProviderStates(provider, topology, admin_token, provider_url=url)
    try:
        with serve_states(states) as server:
            # Trap: Verifier defaults its host to "localhost" and refuses a 127.0.0.1 transport URL.
            verifier = (
                Verifier(provider, host=urlsplit(url).hostname)
                .add_transport(url=url)
                .add_source(pact_file)
                .state_handler(get_state_url(server), teardown=True, body=True)
                .set_request_timeout(timeout_ms)
                .set_coloured_output(enabled=False)
            )
            try:
                verifier.verify()
            except Exception:  # the verifier raises on any mismatch; its results say which
                pass
            results: dict[str, Any] = verifier.results
            output = verifier.output(strip_ansi=True)
            state_errors = tuple(server.errors)
    finally:
        states.close()
    failed = tuple(
        str(r.get("description", "?")) for r in results.get("interactionResults", []) if r.get("result") != "OK"
    )
    ok = bool(results.get("result")) and not failed and bool(results.get("interactionResults"))
    return VerificationResult(consumer, provider, ok, output, failed, state_errors)
