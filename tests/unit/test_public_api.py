"""The public API's paths and deprecation rules, named once in shop.kit.public_api."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shop.kit.public_api import LEGACY, V1, deprecation_headers, is_legacy_path, successor_path

pytestmark = pytest.mark.unit


def test_the_versioned_paths_live_under_api_v1_and_format_their_parameters() -> None:
    assert V1.product(7) == "/api/v1/products/7"
    assert V1.order_notifications("ord_1") == "/api/v1/orders/ord_1/notifications"
    assert LEGACY.cart_item("[product_id]") == "/api/cart/items/[product_id]"


def test_only_unversioned_api_paths_are_legacy() -> None:
    assert is_legacy_path("/api/products") and is_legacy_path("/api/openapi.json")
    assert not is_legacy_path("/api/v1/products") and not is_legacy_path("/api/v1")
    assert not is_legacy_path("/api/v2/products") and not is_legacy_path("/healthz")
    assert not is_legacy_path("/apiary")


def test_a_legacy_path_names_its_v1_successor_and_nothing_else_has_one() -> None:
    assert successor_path("/api/orders/ord_9") == "/api/v1/orders/ord_9"
    with pytest.raises(ValueError, match="not an unversioned"):
        successor_path("/api/v1/orders")
    headers = deprecation_headers("/api/cart")
    assert headers == {
        "Deprecation": "@1796083200",
        "Sunset": "Tue, 01 Jun 2027 00:00:00 GMT",
        "Link": '</api/v1/cart>; rel="successor-version"',
    }


def test_importing_the_paths_pulls_in_no_web_framework_for_locust() -> None:
    code = "import sys, shop.kit.public_api; print(sorted(m for m in ('flask', 'httpx', 'pydantic') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
