"""Talk to the shop's admin API: resilience profiles, app-level faults, live state.

Every route needs ``Authorization: Bearer $SHOPLAB_ADMIN_TOKEN``. Failures are
raised as ``AdminError`` naming the service, with the httpx cause kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from chaos.errors import AdminError
from shop.topology import Topology

PROFILES = ("naive", "timeouts", "retries", "resilient")


@dataclass(frozen=True, kw_only=True)
class AppFaultRule:
    """One app-level fault on a service route: error rate, status code, added latency."""

    route: str
    method: str | None = None  # None: any method
    error_rate: float = 0.0
    status: int = 503
    latency_ms: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error_rate must be within 0..1, got {self.error_rate}")
        if not 400 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP error status (400..599), got {self.status}")
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {self.latency_ms}")
        if self.method is not None:
            object.__setattr__(self, "method", self.method.upper())

    def to_api(self) -> dict[str, Any]:
        """Return the JSON the admin API takes (``method`` left out when any method matches)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


class ShopAdmin:
    """The admin API of every service of one running shop."""

    def __init__(
        self,
        topology: Topology,
        admin_token: str,
        *,
        timeout_s: float = 3.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.topology = topology
        self._http = httpx.Client(
            timeout=timeout_s, headers={"Authorization": f"Bearer {admin_token}"}, transport=transport
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> ShopAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, service: str, method: str, path: str, *, json: Any = None) -> Any:
        url = self.topology.service_url(service) + path
        try:
            resp = self._http.request(method, url, json=json)
        except httpx.HTTPError as exc:
            raise AdminError(f"{service} admin {method} {path} failed: {exc!r}", service=service) from exc
        if resp.status_code >= 400:
            err = AdminError(
                f"{service} admin {method} {path} answered {resp.status_code}: {resp.text[:300]}",
                service=service,
                status_code=resp.status_code,
            )
            raise err from httpx.HTTPStatusError(resp.text, request=resp.request, response=resp)
        return resp.json() if resp.content else None

    # -- resilience profiles -------------------------------------------------------------
    def set_profile(self, profile: str, services: Iterable[str] | None = None) -> None:
        """Switch the resilience profile of every service (or the named ones)."""
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
        for service in services or self.topology.service_names:
            self._call(service, "PUT", "/admin/resilience", json={"profile": profile})

    def get_profile(self, service: str) -> str:
        """Return the active resilience profile of one service."""
        data = self._call(service, "GET", "/admin/resilience") or {}
        return str(data.get("profile"))

    def get_state(self, service: str) -> dict[str, Any]:
        """Return the live breaker, bulkhead and budget state of one service."""
        return dict(self._call(service, "GET", "/admin/state") or {})

    # -- app-level faults ------------------------------------------------------------------
    def set_faults(self, service: str, rules: Sequence[AppFaultRule]) -> None:
        """Replace the app-level faults of one service."""
        self._call(service, "PUT", "/admin/faults", json={"faults": [r.to_api() for r in rules]})

    def get_faults(self, service: str) -> list[dict[str, Any]]:
        """Return the app-level faults active on one service."""
        data = self._call(service, "GET", "/admin/faults") or {}
        return list(data.get("faults", []))

    def clear_faults(self, service: str) -> None:
        """Remove every app-level fault of one service."""
        self._call(service, "DELETE", "/admin/faults")

    def clear_all_faults(self) -> list[str]:
        """Remove the app-level faults of every service; return the services that refused."""
        failed = []
        for service in self.topology.service_names:
            try:
                self.clear_faults(service)
            except AdminError:
                failed.append(service)
        return failed
