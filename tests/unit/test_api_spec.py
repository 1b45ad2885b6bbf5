"""Unit tests of the shared request validation and OpenAPI kit."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Blueprint, Flask, request
from pydantic import Field

from shop.kit import api_spec
from shop.kit.api_spec import INT_ID, ApiModel, Header, QueryModel, operation
from shop.kit.app import create_service_app
from shop.kit.errors import Unauthorized

pytestmark = pytest.mark.unit

ENV = {"SHOPLAB_ADMIN_TOKEN": "admin", "SHOPLAB_DATA_DIR": "/tmp/unused"}


class Line(ApiModel):
    product_id: int = Field(ge=1)
    qty: int = Field(gt=0, le=1000)


class BasketIn(ApiModel):
    order_id: str = Field(min_length=1, max_length=64)
    items: list[Line] = Field(min_length=1)


class BasketOut(ApiModel):
    order_id: str
    items: list[Line]


class Paging(QueryModel):
    limit: int = Field(default=4, ge=1, le=20)


class Thing(ApiModel):
    id: int
    limit: int


def _app() -> Flask:
    def setup(app: Flask, _settings: Any) -> None:
        bp = Blueprint("things", __name__)

        @operation(
            bp,
            "POST",
            "/baskets",
            body=BasketIn,
            responses={201: BasketOut, 200: BasketOut},
            errors=(409,),
            headers=[Header("Idempotency-Key")],
        )
        def create_basket(body: BasketIn) -> BasketOut:
            """Create a basket."""
            return BasketOut(order_id=body.order_id, items=body.items)

        @operation(
            bp,
            "GET",
            f"/things/<{INT_ID}:thing_id>",
            query=Paging,
            responses={200: Thing},
            auth=True,
            peers=("catalog",),
        )
        def get_thing(thing_id: int, query: Paging, user_id: str) -> tuple[Thing, int]:
            """Read a thing."""
            return Thing(id=thing_id, limit=query.limit), 200

        @operation(bp, "DELETE", "/things/<name>", responses={204: None})
        def delete_thing(name: str) -> None:
            """Delete a thing."""
            return None

        app.register_blueprint(bp)
        api_spec.init_app(app, authenticate=_authenticate)

    return create_service_app("identity", setup=setup, env=ENV)


def _authenticate() -> str:
    if request.headers.get("Authorization") != "Bearer good":
        raise Unauthorized("no")
    return "u1"


AUTH = {"Authorization": "Bearer good"}


def test_a_valid_body_is_parsed_and_answered_with_the_first_declared_status() -> None:
    resp = (
        _app().test_client().post("/baskets", json={"order_id": "o1", "items": [{"product_id": 1, "qty": 2}]})
    )
    assert resp.status_code == 200
    assert resp.get_json() == {"order_id": "o1", "items": [{"product_id": 1, "qty": 2}]}


def test_integral_floats_count_as_integers_like_json_schema_says() -> None:
    resp = (
        _app()
        .test_client()
        .post("/baskets", json={"order_id": "o1", "items": [{"product_id": 1.0, "qty": 2e0}]})
    )
    assert resp.status_code == 200
    assert resp.get_json()["items"] == [{"product_id": 1, "qty": 2}]
    assert (
        _app()
        .test_client()
        .post("/baskets", json={"order_id": "o1", "items": [{"product_id": 1, "qty": 2.5}]})
        .status_code
        == 422
    )


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("", "application/json"),
        ('{"order_id": "o"}', "text/plain"),
        (b"\xff\xfe", "application/json"),
        ('{"order_id": NaN}', "application/json"),
        ("[" * 100000, "application/json"),
    ],
)
def test_malformed_json_or_a_wrong_content_type_is_a_400_json_error(data: Any, content_type: str) -> None:
    resp = _app().test_client().post("/baskets", data=data, content_type=content_type)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "bad_request"
    assert resp.get_json()["error"]["request_id"]


@pytest.mark.parametrize(
    "body",
    [
        {"order_id": "o1", "items": [{"product_id": 1, "qty": -1}]},
        {"order_id": "o1", "items": [{"product_id": "1", "qty": 1}]},
        {"order_id": "o1", "items": [{"product_id": 1, "qty": True}]},
        {"order_id": "o1", "items": []},
        {"order_id": "o1"},
        {"order_id": "o1", "items": [{"product_id": 1, "qty": 1}], "extra": 1},
        [1, 2],
        "text",
    ],
)
def test_invalid_values_or_types_are_a_422_with_pydantic_errors_in_details(body: Any) -> None:
    resp = _app().test_client().post("/baskets", json=body)
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["code"] == "validation_failed"
    assert err["details"] and {"type", "loc", "msg"} <= set(err["details"][0])


def test_validation_errors_never_echo_the_input() -> None:
    resp = _app().test_client().post("/baskets", json={"order_id": "s3cret-" * 20, "items": []})
    assert resp.status_code == 422
    assert "s3cret" not in resp.get_data(as_text=True)


def test_a_too_long_header_is_a_400() -> None:
    resp = (
        _app()
        .test_client()
        .post(
            "/baskets",
            json={"order_id": "o", "items": [{"product_id": 1, "qty": 1}]},
            headers={"Idempotency-Key": "k" * 200},
        )
    )
    assert resp.status_code == 400


def test_query_strings_are_parsed_laxly_and_bad_ones_are_a_422() -> None:
    client = _app().test_client()
    assert client.get("/things/7?limit=3", headers=AUTH).get_json() == {"id": 7, "limit": 3}
    resp = client.get("/things/7?limit=abc", headers=AUTH)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "validation_failed"


def test_an_id_beyond_the_declared_range_is_a_404_not_an_overflow() -> None:
    resp = _app().test_client().get("/things/99999999999999999999999")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"


def test_a_none_result_answers_an_empty_body_with_the_declared_status() -> None:
    resp = _app().test_client().delete("/things/abc")
    assert resp.status_code == 204
    assert resp.get_data() == b""


def test_the_openapi_document_lists_routes_with_typed_parameters_and_error_responses() -> None:
    doc = _app().test_client().get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    post = doc["paths"]["/baskets"]["post"]
    assert set(post["responses"]) == {"200", "201", "400", "409", "422"}
    assert post["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    body_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body_schema = doc["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert body_schema["additionalProperties"] is False
    assert [p["name"] for p in post["parameters"]] == ["Idempotency-Key"]

    get = doc["paths"]["/things/{thing_id}"]["get"]
    params = {p["name"]: p for p in get["parameters"]}
    assert params["thing_id"]["in"] == "path"
    assert params["thing_id"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 2147483647}
    assert params["limit"]["in"] == "query" and params["limit"]["required"] is False
    assert {"401", "404", "422", "503", "504"} <= set(get["responses"])
    assert get["security"] == [{"bearerAuth": []}]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"

    delete = doc["paths"]["/things/{name}"]["delete"]
    assert "content" not in delete["responses"]["204"]
    assert delete["parameters"][0]["schema"]["pattern"] == "^[^/]{1,}$"
    assert "/healthz" in doc["paths"] and "/readyz" in doc["paths"]
    assert "/admin/unhandled" not in doc["paths"]
    assert doc["components"]["schemas"]["Error"]["required"] == ["error"]


def test_the_openapi_document_is_a_valid_openapi_schema_for_schemathesis() -> None:
    import schemathesis

    doc = _app().test_client().get("/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(doc)
    operations = [op.ok() for op in schema.get_all_operations()]
    assert {(o.method.upper(), o.path) for o in operations} >= {
        ("POST", "/baskets"),
        ("GET", "/things/{thing_id}"),
    }


class CardIn(ApiModel):
    card: str | None = Field(default=None, min_length=1, max_length=32)


def _optional_body_app() -> Flask:
    def setup(app: Flask, _settings: Any) -> None:
        bp = Blueprint("opt", __name__)

        @operation(bp, "POST", "/pay", body=CardIn, body_required=False, responses={201: CardIn})
        def pay(body: CardIn) -> CardIn:
            """Pay."""
            return body

        app.register_blueprint(bp)
        api_spec.init_app(app)

    return create_service_app("identity", setup=setup, env=ENV)


def test_an_optional_body_may_be_empty_but_not_malformed() -> None:
    client = _optional_body_app().test_client()
    assert client.post("/pay").get_json() == {"card": None}
    assert client.post("/pay", json={"card": "4242"}).get_json() == {"card": "4242"}
    assert client.post("/pay", data="{", content_type="application/json").status_code == 400
    assert client.post("/pay", json={"card": 4242}).status_code == 422
    doc = client.get("/openapi.json").get_json()
    assert doc["paths"]["/pay"]["post"]["requestBody"]["required"] is False


def test_an_auth_route_checks_credentials_before_the_input() -> None:
    client = _app().test_client()
    resp = client.get("/things/7?limit=abc")
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthorized"
