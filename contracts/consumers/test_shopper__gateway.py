"""Contract shopper→gateway: a client of the public API written before /api/v1 keeps working, and is told to move.

``shopper`` is any client outside the shop (an app, a script) that still calls the
unversioned paths. Its pact pins that those paths answer as before, that each answer
carries the deprecation headers (``Deprecation``, ``Sunset``, successor ``Link``), that
bad input is still a JSON error with them, and that the successor named in ``Link`` serves.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pact import Pact, match

from contracts.consumer import error_body, open_pact
from shop.kit.public_api import LEGACY, V1

pytestmark = pytest.mark.contracts

DEPRECATION = "@1796083200"  # RFC 9745: deprecated since 2026-12-01T00:00:00Z
SUNSET = "Tue, 01 Jun 2027 00:00:00 GMT"  # RFC 8594: gone after this date
PRODUCT = {"id": match.int(1), "name": match.str("Espresso cup"), "price_cents": match.int(1200)}


class OldShopClient:
    """What a client written against the unversioned API does: call ``/api/...``, note deprecation."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.deprecations: list[dict[str, str]] = []

    def _get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._note(self.http.get(path, **kwargs))

    def _note(self, resp: httpx.Response) -> httpx.Response:
        if "Deprecation" in resp.headers:
            self.deprecations.append({k: resp.headers[k] for k in ("Deprecation", "Sunset", "Link")})
        return resp

    def list_products(self) -> list[dict[str, Any]]:
        """Return the catalog's items."""
        items: list[dict[str, Any]] = self._get(LEGACY.products).raise_for_status().json()["items"]
        return items

    def get_product(self, product_id: int) -> dict[str, Any]:
        """Return one product page."""
        page: dict[str, Any] = self._get(LEGACY.product(product_id)).raise_for_status().json()
        return page

    def sign_up(self, body: dict[str, Any]) -> httpx.Response:
        """Send a sign-up as it is; return the raw answer."""
        return self._note(self.http.post(LEGACY.signup, json=body))

    def follow_successor(self) -> httpx.Response:
        """Call the successor the last deprecated answer named (``<...>; rel="successor-version"``)."""
        link = self.deprecations[-1]["Link"]
        return self.http.get(link[link.index("<") + 1:link.index(">")])


@pytest.fixture
def pact(pact_output_dir: Path) -> Iterator[Pact]:
    """Give the shopper→gateway pact."""
    with open_pact("shopper", "gateway", pact_output_dir) as pact:
        yield pact


def _deprecated(successor: str) -> dict[str, str]:
    return {"Deprecation": DEPRECATION, "Sunset": SUNSET, "Link": f'<{successor}>; rel="successor-version"'}


def test_an_old_client_still_lists_products_and_is_told_the_successor(pact: Pact) -> None:
    (
        pact.upon_receiving("a product list on the unversioned path")
        .given("the catalog has products")
        .with_request("GET", LEGACY.products)
        .will_respond_with(200)
        .with_headers(_deprecated(V1.products).items())
        .with_body({"items": match.each_like(PRODUCT)}, content_type="application/json")
    )
    (
        pact.upon_receiving("a product list on its successor")
        .given("the catalog has products")
        .with_request("GET", V1.products)
        .will_respond_with(200)
        .with_body({"items": match.each_like(PRODUCT)}, content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = OldShopClient(str(srv.url))
        assert client.list_products()[0]["id"] == 1
        assert client.deprecations == [_deprecated("/api/v1/products")]
        assert client.follow_successor().json()["items"][0]["name"] == "Espresso cup"


def test_an_old_client_still_opens_a_product_page_with_the_headers(pact: Pact) -> None:
    (
        pact.upon_receiving("a product page on the unversioned path")
        .given("product 1 exists")
        .with_request("GET", LEGACY.product(1))
        .will_respond_with(200)
        .with_headers(_deprecated(V1.product(1)).items())
        .with_body({**PRODUCT, "recommendations": match.each_like({"id": match.int(2)}, min=0),
                    "degraded": match.each_like("recommendations", min=0)}, content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = OldShopClient(str(srv.url))
        assert client.get_product(1)["price_cents"] == 1200
        assert client.deprecations[0]["Link"] == '</api/v1/products/1>; rel="successor-version"'


def test_bad_input_on_an_unversioned_path_is_a_json_error_with_the_headers(pact: Pact) -> None:
    (
        pact.upon_receiving("an invalid sign-up on the unversioned path")
        .with_request("POST", LEGACY.signup)
        .with_body({"email": 42, "password": "correct horse battery", "name": "Ada"}, content_type="application/json")
        .will_respond_with(422)
        .with_headers(_deprecated(V1.signup).items())
        .with_body(error_body("validation_failed"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = OldShopClient(str(srv.url))
        resp = client.sign_up({"email": 42, "password": "correct horse battery", "name": "Ada"})
        assert resp.status_code == 422 and resp.json()["error"]["code"] == "validation_failed"
        assert client.deprecations == [_deprecated("/api/v1/auth/signup")]
