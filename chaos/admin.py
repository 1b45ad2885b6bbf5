"""Talk to the shop's admin API: resilience profiles, app-level faults, live state.

The profile names are the kit's ``PROFILES`` and a fault is the kit's ``FaultSpec``,
so what the chaos tools send is what the services validate.

Every route needs ``Authorization: Bearer $SHOPLAB_ADMIN_TOKEN``. Failures are
raised as ``AdminError`` naming the service, with the httpx cause kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from chaos.errors import AdminError, SpecInvalid
from chaos.profiles import Override, build_requests
from shop.kit.faults import FaultSpec
from shop.kit.resilience.policy import PROFILES
from shop.topology import Topology

# ``shoplab fault app`` builds rules under this name; it is the kit's own type, not a copy.
AppFaultRule = FaultSpec


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
    def set_profile(self, profile: str, services: Iterable[str] | None = None,
                    overrides: Sequence[Override] = ()) -> None:
        """Switch the resilience profile of every service (or the named ones); ``overrides`` reach their callers."""
        if profile not in PROFILES:
            raise SpecInvalid(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
        chosen = list(services or self.topology.service_names)
        for service, body in build_requests(self.topology, profile, overrides, chosen).items():
            self._call(service, "PUT", "/admin/resilience", json=body)

    def get_profile(self, service: str) -> str:
        """Return the active resilience profile of one service."""
        data = self._call(service, "GET", "/admin/resilience") or {}
        return str(data.get("profile"))

    def get_state(self, service: str) -> dict[str, Any]:
        """Return the live breaker, bulkhead and budget state of one service."""
        return dict(self._call(service, "GET", "/admin/state") or {})

    # -- app-level faults ------------------------------------------------------------------
    def set_faults(self, service: str, rules: Sequence[FaultSpec]) -> None:
        """Replace the app-level faults of one service."""
        self._call(service, "PUT", "/admin/faults", json={"faults": [r.to_json() for r in rules]})

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
