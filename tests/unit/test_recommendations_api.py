"""Flask test-client tests of recommendations' API, with the real catalog app in-process (WSGI)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from shop.catalog import create_app as create_catalog
from shop.recommendations import create_app
from tests.unit.peer_fakes import dead_client, service_env, wsgi_client

pytestmark = pytest.mark.unit


def _client(tmp_path: Path, catalog_up: bool = True) -> FlaskClient:
    if catalog_up:
        peer = wsgi_client(
            "catalog", create_catalog(env=service_env(tmp_path, "catalog")), caller="recommendations"
        )
    else:
        peer = dead_client("catalog", caller="recommendations")
    app = create_app(test_config={"PEERS": {"catalog": peer}}, env=service_env(tmp_path, "recommendations"))
    return app.test_client()


def test_suggestions_come_from_the_catalog_without_the_product_itself(tmp_path: Path) -> None:
    body = _client(tmp_path).get("/recommendations/1?limit=3").get_json()
    assert body["product_id"] == 1
    assert len(body["items"]) == 3
    assert 1 not in [i["id"] for i in body["items"]]
    assert set(body["items"][0]) == {"id", "name", "price_cents"}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/recommendations/9999", 404),
        ("/recommendations/abc", 404),
        ("/recommendations/1?limit=0", 422),
        ("/recommendations/1?limit=abc", 422),
        ("/recommendations/1?limit=1000", 422),
    ],
)
def test_bad_input_is_a_4xx_json_error(tmp_path: Path, path: str, status: int) -> None:
    resp = _client(tmp_path).get(path)
    assert resp.status_code == status
    assert set(resp.get_json()["error"]) >= {"code", "message", "request_id"}


def test_a_dead_catalog_is_a_503_json_error(tmp_path: Path) -> None:
    resp = _client(tmp_path, catalog_up=False).get("/recommendations/1")
    assert resp.status_code == 503
    assert resp.get_json()["error"]["code"] == "dependency_unavailable"
