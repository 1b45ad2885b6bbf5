"""Provider states: make each state a pact names true on the real provider, through its own APIs.

A state handler creates the data it names (a product's stock, a reservation, a charge,
a cart, a user, an order) with the provider's public or admin API, and answers the
values the provider made or must not have seen yet (``order_id``, ``event_id``,
``email``...) as Pact *provider-state values*, which fill the ``${...}`` expressions of
the interaction (see ``contracts.consumer.from_state``). Outages (``<provider> is
unavailable``) are app-level faults through the provider's admin API, always removed
again in the teardown. A state nobody registered fails the interaction, naming it:
a contract is never loosened to fit the provider.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from contracts.errors import ContractError
from shop.topology import Topology

StateValues = dict[str, Any]
SetupFn = Callable[["StateContext", Mapping[str, Any]], StateValues | None]
TeardownFn = Callable[["StateContext", Mapping[str, Any]], None]
UNAVAILABLE_SUFFIX = " is unavailable"


class StateSetupError(ContractError, RuntimeError):
    """A provider state could not be made true; the message names the state and the step."""


@dataclass
class StateContext:
    """What a state handler may use: the stack's service URLs and its admin token."""

    provider: str
    topology: Topology
    admin_token: str
    # Where the provider under verification really runs, when not at its stack URL.
    provider_url: str | None = None
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    def service_url(self, service: str) -> str:
        """Return the URL of ``service``: the provider under verification, or the stack's."""
        if service == self.provider and self.provider_url:
            return self.provider_url
        return self.topology.service_url(service)

    def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        admin: bool = False,
        expect: tuple[int, ...] = (200, 201),
        **kwargs: Any,
    ) -> httpx.Response:
        """Call a service of the stack directly; raise StateSetupError unless the status is expected."""
        headers = dict(kwargs.pop("headers", None) or {})
        if admin:
            headers["Authorization"] = f"Bearer {self.admin_token}"
        url = self.service_url(service) + path
        try:
            resp = self.http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise StateSetupError(f"{method} {url} failed: {exc!r}") from exc
        if resp.status_code not in expect:
            raise StateSetupError(f"{method} {url} answered {resp.status_code}: {resp.text[:300]}")
        return resp


def fresh_id(prefix: str) -> str:
    """Return an id no earlier run used, so a state holds on a stack that already ran the pacts."""
    return f"{prefix}-contract-{uuid.uuid4().hex[:12]}"


def fresh_values() -> StateValues:
    """Return the fresh values every state answers, whatever else it sets up."""
    return {
        "order_id": fresh_id("ord"),
        "event_id": fresh_id("evt"),
        "user_id": fresh_id("usr"),
        "email": f"{fresh_id('user')}@example.test",
        "idempotency_key": fresh_id("key"),
    }


_SETUPS: dict[tuple[str, str], SetupFn] = {}
_TEARDOWNS: dict[tuple[str, str], TeardownFn] = {}


def provider_state(provider: str, name: str, *, teardown: TeardownFn | None = None) -> Callable[[SetupFn], SetupFn]:
    """Register the setup (and optional teardown) of the state ``name`` of ``provider``."""

    def register(fn: SetupFn) -> SetupFn:
        _SETUPS[(provider, name)] = fn
        if teardown is not None:
            _TEARDOWNS[(provider, name)] = teardown
        return fn

    return register


def get_state_names(provider: str) -> list[str]:
    """Return the states registered for ``provider`` (besides ``<provider> is unavailable``)."""
    return sorted(name for (p, name) in _SETUPS if p == provider)


class ProviderStates:
    """Set up and tear down the states of one provider's pacts."""

    def __init__(
        self, provider: str, topology: Topology, admin_token: str, *, provider_url: str | None = None
    ) -> None:
        self.provider = provider
        self.context = StateContext(provider, topology, admin_token, provider_url)
        self._saved_faults: list[dict[str, Any]] = []

    def setup(self, state: str, params: Mapping[str, Any]) -> StateValues:
        """Make ``state`` true and return the provider-state values for the interaction."""
        values = fresh_values()
        if not state:
            return values
        if state == self.provider + UNAVAILABLE_SUFFIX:
            # Keep the faults someone else injected, to put them back in the teardown.
            current = self.context.call(self.provider, "GET", "/admin/faults", admin=True, expect=(200,))
            self._saved_faults = list(current.json().get("faults", []))
            # Every route answers 503 like a failing instance; /admin and /metrics stay reachable.
            self.context.call(self.provider, "PUT", "/admin/faults", admin=True,
                              json={"faults": [{"route": "/", "error_rate": 1.0, "status": 503}]})
            return values
        fn = _SETUPS.get((self.provider, state))
        if fn is None:
            known = ", ".join(get_state_names(self.provider)) or "none"
            raise StateSetupError(f"{self.provider} has no provider state {state!r} (known: {known})")
        values.update(fn(self.context, {**values, **dict(params)}) or {})
        return values

    def teardown(self, state: str, params: Mapping[str, Any]) -> None:
        """Undo what ``setup`` left behind that would leak into the next interaction."""
        if state == self.provider + UNAVAILABLE_SUFFIX:
            self.context.call(self.provider, "PUT", "/admin/faults", admin=True,
                              json={"faults": self._saved_faults})
            self._saved_faults = []
            return
        fn = _TEARDOWNS.get((self.provider, state))
        if fn is not None:
            fn(self.context, params)

    def close(self) -> None:
        """Close the HTTP client."""
        self.context.http.close()


class _StateRequestHandler(BaseHTTPRequestHandler):
    """Answer Pact's state-change calls: ``{"state", "action", "params"}`` → provider-state values."""

    server: _StateHTTPServer

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
        """Run one setup or teardown and answer its values as JSON (400 naming the error)."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
            data = json.loads(self.rfile.read(length) or b"{}")
            state = str(data.get("state") or "")
            params = data.get("params") or {}
            if data.get("action") == "teardown":
                self.server.states.teardown(state, params)
                values: StateValues = {}
            else:
                values = self.server.states.setup(state, params)
        except Exception as exc:  # reported to the verifier, which fails the interaction with it
            self.server.errors.append(f"{type(exc).__name__}: {exc}")
            # 400, not 500: the verifier retries a 5xx state change with backoff for about two minutes.
            self._answer(400, {"error": f"{type(exc).__name__}: {exc}"})
            return
        self._answer(200, values)

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server signature
        """Stay quiet: the verifier's output already lists every state."""


class _StateHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, states: ProviderStates) -> None:
        super().__init__(("127.0.0.1", 0), _StateRequestHandler)
        self.states = states
        self.errors: list[str] = []


@contextmanager
def serve_states(states: ProviderStates) -> Iterator[_StateHTTPServer]:
    """Serve the state-change endpoint on 127.0.0.1 for the verifier; stop it after."""
    server = _StateHTTPServer(states)
    thread = threading.Thread(target=server.serve_forever, name="pact-states", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def get_state_url(server: _StateHTTPServer) -> str:
    """Return the URL of a running state server."""
    port = server.server_address[1]
    return f"http://127.0.0.1:{port}/pact-states"
