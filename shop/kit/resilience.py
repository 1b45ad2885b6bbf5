"""Call a peer service resiliently (placeholder: timeouts and error mapping only).

The full kit (deadlines, tenacity retries with a budget, pybreaker, bulkhead,
fallbacks, profiles) replaces the body of this module; the public interface stays:

    client = ResilientClient("catalog", base_url, caller="cart")
    resp = client.get("/products/1")                  # any 2xx-4xx answer comes back
    resp = client.post("/charges", json=..., idempotency_key=order_id)

Raises ``DependencyUnavailable`` (refused, reset, 5xx, breaker open, bulkhead
full) or ``DependencyTimeout`` (timed out, deadline spent), with the cause kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from shop.kit.errors import DependencyTimeout, DependencyUnavailable

Fallback = Callable[[Exception], Any]


class ResilientClient:
    """A client for one dependency of one caller."""

    def __init__(self, dependency: str, base_url: str, *, caller: str, timeout_s: float = 5.0) -> None:
        self.dependency = dependency
        self.caller = caller
        self._http = httpx.Client(base_url=base_url, timeout=timeout_s)

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotency_key: str | None = None,
        fallback: Fallback | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one logical request; map transport failures and 5xx to kit errors."""
        headers = dict(kwargs.pop("headers", None) or {})
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        try:
            resp = self._http.request(method, path, headers=headers, **kwargs)
            if resp.status_code >= 500:
                raise DependencyUnavailable(
                    f"{self.dependency} answered {resp.status_code}", dependency=self.dependency
                )
            return resp
        except httpx.TimeoutException as exc:
            err: Exception = DependencyTimeout(f"{self.dependency} timed out", dependency=self.dependency)
            err.__cause__ = exc
        except httpx.TransportError as exc:
            err = DependencyUnavailable(f"{self.dependency} unreachable: {exc}", dependency=self.dependency)
            err.__cause__ = exc
        except DependencyUnavailable as exc:
            err = exc
        if fallback is not None:
            return fallback(err)
        raise err

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET (idempotent, so retryable)."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """POST (retried only with an idempotency key)."""
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        """PUT (idempotent)."""
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        """DELETE (idempotent)."""
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._http.close()


def make_clients(app: Any, settings: Any) -> dict[str, ResilientClient]:
    """Build one client per dependency of this service, from ``<CALLEE>_URL``."""
    return {
        dep: ResilientClient(dep, url, caller=settings.service)
        for dep, url in settings.dependency_urls.items()
    }
