"""Name every path of the shop's public API once: the versioned prefix, the routes and the deprecation.

The gateway registers its routes from these names, and every client (Locust journeys,
contracts, labs, chaos probes, benches, tests) builds its URLs here instead of spelling
``/api/...`` itself, so a new version or a renamed route changes one file::

    from shop.kit.public_api import V1
    httpx.get(gateway_url + V1.product(7))          # /api/v1/products/7
    V1.product("[id]")                              # /api/v1/products/[id], a Locust request name

The unversioned ``/api/...`` paths keep working for one deprecation period: every answer
under ``LEGACY_PREFIX`` carries ``deprecation_headers(path)`` (RFC 9745 ``Deprecation``,
RFC 8594 ``Sunset`` and a ``Link`` to the successor under ``/api/v1``). Pure data and
string functions: importing this module imports nothing else of ours (Locust imports it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import formatdate

VERSION = "v1"
V1_PREFIX = "/api/v1"
LEGACY_PREFIX = "/api"
# When the unversioned paths were deprecated (2026-12-01T00:00:00Z) and when they go
# (2027-06-01T00:00:00Z): one deprecation period of six months.
DEPRECATED_AT = 1796083200
SUNSET_AT = 1811808000
_VERSIONED = re.compile(r"^/api/v\d+(/|$)")


@dataclass(frozen=True)
class ApiPaths:
    """The public routes under one prefix; path parameters are formatted in as given."""

    prefix: str

    @property
    def signup(self) -> str:
        """Return the sign-up path."""
        return f"{self.prefix}/auth/signup"

    @property
    def login(self) -> str:
        """Return the log-in path."""
        return f"{self.prefix}/auth/login"

    @property
    def products(self) -> str:
        """Return the catalog path."""
        return f"{self.prefix}/products"

    def product(self, product_id: object) -> str:
        """Return one product page's path."""
        return f"{self.prefix}/products/{product_id}"

    @property
    def cart(self) -> str:
        """Return the caller's cart path."""
        return f"{self.prefix}/cart"

    @property
    def cart_items(self) -> str:
        """Return the path that adds cart lines."""
        return f"{self.prefix}/cart/items"

    def cart_item(self, product_id: object) -> str:
        """Return one cart line's path."""
        return f"{self.prefix}/cart/items/{product_id}"

    @property
    def checkout(self) -> str:
        """Return the checkout path."""
        return f"{self.prefix}/checkout"

    @property
    def orders(self) -> str:
        """Return the caller's orders path."""
        return f"{self.prefix}/orders"

    def order(self, order_id: object) -> str:
        """Return one order's path."""
        return f"{self.prefix}/orders/{order_id}"

    def order_notifications(self, order_id: object) -> str:
        """Return the path of the emails sent about one order."""
        return f"{self.prefix}/orders/{order_id}/notifications"

    @property
    def openapi(self) -> str:
        """Return the path of this version's OpenAPI document."""
        return f"{self.prefix}/openapi.json"


V1 = ApiPaths(V1_PREFIX)
LEGACY = ApiPaths(LEGACY_PREFIX)
# The routes relative to a blueprint's prefix: the gateway declares its rules with these.
ROUTES = ApiPaths("")


def is_legacy_path(path: str) -> bool:
    """Say whether ``path`` is an unversioned public path (deprecated), e.g. ``/api/products``."""
    return path.startswith(LEGACY_PREFIX + "/") and not _VERSIONED.match(path)


def successor_path(legacy_path: str) -> str:
    """Return the ``/api/v1`` path that replaces an unversioned one; raise ValueError for any other."""
    if not is_legacy_path(legacy_path):
        raise ValueError(f"{legacy_path!r} is not an unversioned public path")
    return V1_PREFIX + legacy_path[len(LEGACY_PREFIX):]


def deprecation_headers(legacy_path: str) -> dict[str, str]:
    """Return the headers every answer on an unversioned path carries (RFC 9745, RFC 8594, RFC 8288)."""
    return {
        # RFC 9745: a structured-field Date, "@" and seconds since the epoch.
        "Deprecation": f"@{DEPRECATED_AT}",
        # RFC 8594: an HTTP-date (IMF-fixdate).
        "Sunset": formatdate(SUNSET_AT, usegmt=True),
        "Link": f'<{successor_path(legacy_path)}>; rel="successor-version"',
    }
