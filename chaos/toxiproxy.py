"""Drive a real Toxiproxy server (v2.12 HTTP API) with typed toxic specs.

Every failure of the API (refused, timed out, 4xx/5xx) is raised as
``ToxiproxyError`` with the httpx cause kept. Toxicity is rolled once per TCP
connection, not per request: with keep-alive, ``toxicity=0.3`` hits 30 % of the
connections and every request on them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, ClassVar

import httpx

from chaos.errors import SpecInvalid, ToxiproxyError


class Stream(enum.StrEnum):
    """Which direction of a connection a toxic acts on."""

    UPSTREAM = "upstream"  # client → server (the request)
    DOWNSTREAM = "downstream"  # server → client (the response)


@dataclass(frozen=True, kw_only=True)
class ToxicSpec:
    """What every toxic has: the stream, the share of connections hit, an optional name."""

    type: ClassVar[str] = ""
    stream: Stream = Stream.DOWNSTREAM
    toxicity: float = 1.0
    name: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.toxicity <= 1.0:
            raise SpecInvalid(f"toxicity must be within 0..1, got {self.toxicity}")
        object.__setattr__(self, "stream", Stream(self.stream))

    def attributes(self) -> dict[str, int]:
        """Return the toxic's attributes as Toxiproxy names them."""
        raise NotImplementedError

    @property
    def toxic_name(self) -> str:
        """Return the name used on the server (``<type>_<stream>`` unless given)."""
        return self.name or f"{self.type}_{self.stream.value}"

    def to_api(self) -> dict[str, Any]:
        """Return the JSON body that creates this toxic."""
        return {
            "name": self.toxic_name,
            "type": self.type,
            "stream": self.stream.value,
            "toxicity": self.toxicity,
            "attributes": self.attributes(),
        }


def _non_negative(**values: int) -> None:
    for key, value in values.items():
        if value < 0:
            raise SpecInvalid(f"{key} must be >= 0, got {value}")


@dataclass(frozen=True, kw_only=True)
class Latency(ToxicSpec):
    """Delay data by ``latency_ms`` ± ``jitter_ms``."""

    type: ClassVar[str] = "latency"
    latency_ms: int
    jitter_ms: int = 0

    def attributes(self) -> dict[str, int]:
        _non_negative(latency_ms=self.latency_ms, jitter_ms=self.jitter_ms)
        return {"latency": self.latency_ms, "jitter": self.jitter_ms}


@dataclass(frozen=True, kw_only=True)
class Bandwidth(ToxicSpec):
    """Limit throughput to ``rate_kbps`` kilobytes per second."""

    type: ClassVar[str] = "bandwidth"
    rate_kbps: int

    def attributes(self) -> dict[str, int]:
        _non_negative(rate_kbps=self.rate_kbps)
        return {"rate": self.rate_kbps}


@dataclass(frozen=True, kw_only=True)
class SlowClose(ToxicSpec):
    """Delay the TCP close by ``delay_ms``."""

    type: ClassVar[str] = "slow_close"
    delay_ms: int

    def attributes(self) -> dict[str, int]:
        _non_negative(delay_ms=self.delay_ms)
        return {"delay": self.delay_ms}


@dataclass(frozen=True, kw_only=True)
class Timeout(ToxicSpec):
    """Stop all data and close after ``timeout_ms`` (0: never close, hang forever)."""

    type: ClassVar[str] = "timeout"
    timeout_ms: int = 0

    def attributes(self) -> dict[str, int]:
        _non_negative(timeout_ms=self.timeout_ms)
        return {"timeout": self.timeout_ms}


@dataclass(frozen=True, kw_only=True)
class ResetPeer(ToxicSpec):
    """Reset the connection (TCP RST) after ``timeout_ms`` (0: at once)."""

    type: ClassVar[str] = "reset_peer"
    timeout_ms: int = 0

    def attributes(self) -> dict[str, int]:
        _non_negative(timeout_ms=self.timeout_ms)
        return {"timeout": self.timeout_ms}


@dataclass(frozen=True, kw_only=True)
class Slicer(ToxicSpec):
    """Slice data into packets of about ``average_size`` bytes, ``delay_us`` apart."""

    type: ClassVar[str] = "slicer"
    average_size: int
    size_variation: int = 0
    delay_us: int = 0

    def attributes(self) -> dict[str, int]:
        _non_negative(average_size=self.average_size, size_variation=self.size_variation, delay_us=self.delay_us)
        return {"average_size": self.average_size, "size_variation": self.size_variation, "delay": self.delay_us}


@dataclass(frozen=True, kw_only=True)
class LimitData(ToxicSpec):
    """Close the connection once ``bytes`` bytes have passed."""

    type: ClassVar[str] = "limit_data"
    bytes: int

    def attributes(self) -> dict[str, int]:
        _non_negative(bytes=self.bytes)
        return {"bytes": self.bytes}


TOXIC_TYPES: dict[str, type[ToxicSpec]] = {
    cls.type: cls for cls in (Latency, Bandwidth, SlowClose, Timeout, ResetPeer, Slicer, LimitData)
}


def toxic_fields(toxic_type: str) -> dict[str, bool]:
    """Return the attribute fields of a toxic type mapped to whether each is required."""
    cls = TOXIC_TYPES[toxic_type]
    base = {f.name for f in fields(ToxicSpec)}
    return {f.name: f.default is MISSING for f in fields(cls) if f.name not in base}


def make_toxic(toxic_type: str, **kwargs: Any) -> ToxicSpec:
    """Build a toxic spec by type name; raise SpecInvalid naming the known types."""
    try:
        cls = TOXIC_TYPES[toxic_type]
    except KeyError:
        raise SpecInvalid(f"unknown toxic type {toxic_type!r} (known: {', '.join(TOXIC_TYPES)})") from None
    return cls(**kwargs)


@dataclass(frozen=True)
class Toxic:
    """A toxic as the server reports it."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Toxic:
        """Parse one toxic of the API's JSON."""
        return cls(
            name=data["name"],
            type=data["type"],
            stream=data.get("stream", "downstream"),
            toxicity=float(data.get("toxicity", 1.0)),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True)
class ProxyConfig:
    """What a proxy is: a name, where it listens and where it forwards."""

    name: str
    listen: str
    upstream: str
    enabled: bool = True


@dataclass(frozen=True)
class Proxy:
    """A proxy as the server reports it, with its toxics."""

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...] = ()

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Proxy:
        """Parse one proxy of the API's JSON."""
        return cls(
            name=data["name"],
            listen=data["listen"],
            upstream=data["upstream"],
            enabled=bool(data.get("enabled", True)),
            toxics=tuple(Toxic.from_api(t) for t in data.get("toxics") or ()),
        )


class ToxiproxyClient:
    """A typed client of one Toxiproxy server's HTTP API."""

    def __init__(
        self, base_url: str, *, timeout_s: float = 5.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport)

    # -- plumbing -------------------------------------------------------------------
    def _call(self, method: str, path: str, *, json: Any = None, expect: Iterable[int] = (200,)) -> Any:
        try:
            resp = self._http.request(method, path, json=json)
        except httpx.HTTPError as exc:
            raise ToxiproxyError(f"toxiproxy {method} {path} failed: {exc!r} (is it running at {self.base_url}?)") from exc
        if resp.status_code not in set(expect):
            try:
                detail = resp.json().get("error", resp.text)
            except ValueError:
                detail = resp.text
            err = ToxiproxyError(
                f"toxiproxy {method} {path} answered {resp.status_code}: {detail}", status_code=resp.status_code
            )
            raise err from httpx.HTTPStatusError(detail, request=resp.request, response=resp)
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return resp.text

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> ToxiproxyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- server -----------------------------------------------------------------------
    def version(self) -> str:
        """Return the server's version string."""
        data = self._call("GET", "/version")
        if isinstance(data, dict):
            return str(data.get("version", data))
        return str(data).strip()

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call("POST", "/reset", expect=(200, 204))

    # -- proxies ----------------------------------------------------------------------
    def list_proxies(self) -> dict[str, Proxy]:
        """Return every proxy by name."""
        data = self._call("GET", "/proxies")
        return {name: Proxy.from_api(p) for name, p in (data or {}).items()}

    def get_proxy(self, name: str) -> Proxy:
        """Return one proxy; raise ToxiproxyError (404) when it does not exist."""
        return Proxy.from_api(self._call("GET", f"/proxies/{name}"))

    def create_proxy(self, config: ProxyConfig) -> Proxy:
        """Create one proxy; raise ToxiproxyError (409) when the name is taken."""
        return Proxy.from_api(self._call("POST", "/proxies", json=asdict(config), expect=(201,)))

    def populate(self, configs: Iterable[ProxyConfig]) -> list[Proxy]:
        """Create or replace many proxies at once (idempotent)."""
        data = self._call("POST", "/populate", json=[asdict(c) for c in configs], expect=(200, 201))
        return [Proxy.from_api(p) for p in (data or {}).get("proxies", [])]

    def delete_proxy(self, name: str) -> None:
        """Delete one proxy."""
        self._call("DELETE", f"/proxies/{name}", expect=(204,))

    def set_enabled(self, name: str, enabled: bool) -> Proxy:
        """Enable or disable one proxy (disabled: new connections are refused, open ones closed)."""
        return Proxy.from_api(self._call("POST", f"/proxies/{name}", json={"enabled": enabled}))

    def enable_proxy(self, name: str) -> Proxy:
        """Enable one proxy."""
        return self.set_enabled(name, True)

    def disable_proxy(self, name: str) -> Proxy:
        """Disable one proxy: the edge is down."""
        return self.set_enabled(name, False)

    # -- toxics -----------------------------------------------------------------------
    def list_toxics(self, proxy: str) -> list[Toxic]:
        """Return the toxics on one proxy."""
        return [Toxic.from_api(t) for t in self._call("GET", f"/proxies/{proxy}/toxics") or []]

    def add_toxic(self, proxy: str, spec: ToxicSpec) -> Toxic:
        """Add one toxic to a proxy; raise ToxiproxyError (409) when its name is taken."""
        return Toxic.from_api(self._call("POST", f"/proxies/{proxy}/toxics", json=spec.to_api()))

    def update_toxic(self, proxy: str, spec: ToxicSpec) -> Toxic:
        """Change the attributes and toxicity of an existing toxic."""
        body = {"toxicity": spec.toxicity, "attributes": spec.attributes()}
        return Toxic.from_api(self._call("POST", f"/proxies/{proxy}/toxics/{spec.toxic_name}", json=body))

    def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove one toxic by name."""
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}", expect=(204,))

    @contextmanager
    def toxic(self, proxy: str, spec: ToxicSpec) -> Iterator[Toxic]:
        """Hold one toxic for the body of a ``with`` block; it is removed in ``finally``."""
        created = self.add_toxic(proxy, spec)
        try:
            yield created
        finally:
            self.remove_toxic(proxy, created.name)
