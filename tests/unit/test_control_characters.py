"""Control characters never get into a free-text field (and from there into logs and terminals)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from shop.cart import create_app as create_cart
from shop.identity import create_app as create_identity
from shop.kit.api_types import EMAIL_PATTERN
from shop.kit.peers import path_segment
from shop.notifications import create_app as create_notifications
from shop.orders import create_app as create_orders
from tests.unit.peer_fakes import service_env

pytestmark = pytest.mark.unit

CONTROLS = ["\x00", "\x1b", "\x01", "\x7f", "\n", "\t"]


@pytest.fixture()
def identity(tmp_path: Path) -> FlaskClient:
    return create_identity(env=service_env(tmp_path, "identity")).test_client()


@pytest.mark.parametrize("char", CONTROLS, ids=repr)
def test_sign_up_refuses_a_control_character_in_the_email(identity: FlaskClient, char: str) -> None:
    resp = identity.post("/users", json={"email": f"ad{char}a@example.com", "password": "correct horse",
                                         "name": "Ada"})
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.get_json()["error"]["code"] == "validation_failed"
    assert f"ad{char}a" not in resp.get_data(as_text=True)  # not echoed back


@pytest.mark.parametrize("char", CONTROLS, ids=repr)
def test_sign_up_refuses_a_control_character_in_the_name_and_log_in_in_the_email(
    identity: FlaskClient, char: str
) -> None:
    signup = identity.post("/users", json={"email": "ada@example.com", "password": "correct horse",
                                           "name": f"Ada{char}"})
    assert signup.status_code == 422, signup.get_data(as_text=True)
    login = identity.post("/tokens", json={"email": f"ada{char}@example.com", "password": "correct horse"})
    assert login.status_code == 422, login.get_data(as_text=True)


def test_a_printable_unicode_name_is_still_welcome(identity: FlaskClient) -> None:
    resp = identity.post("/users", json={"email": "zoë@example.com", "password": "correct horse",
                                         "name": "Zoë «Ω» Ünal"})
    assert resp.status_code == 201, resp.get_data(as_text=True)


def test_a_control_character_in_a_checked_header_is_a_400(tmp_path: Path) -> None:
    orders = create_orders(env=service_env(tmp_path, "orders")).test_client()
    resp = orders.post("/orders", json={"user_id": "u1"}, headers={"Idempotency-Key": "key\x01one"})
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert "control" in resp.get_json()["error"]["message"]


def test_the_published_schema_forbids_control_characters(identity: FlaskClient) -> None:
    schemas = identity.get("/openapi.json").get_json()["components"]["schemas"]
    signup = next(s for name, s in schemas.items() if "email" in s.get("properties", {})
                  and "name" in s["properties"])
    assert signup["properties"]["name"]["pattern"] == r"^[^\x00-\x1f\x7f]*$"
    assert signup["properties"]["email"]["pattern"] == EMAIL_PATTERN
    assert r"\x00-\x1f\x7f" in EMAIL_PATTERN


@pytest.mark.parametrize(("value", "quoted"), [(".", "%2E"), ("..", "%2E%2E"), ("a.b", "a.b"), ("a/..", "a%2F..")])
def test_path_segment_escapes_dot_segments(value: str, quoted: str) -> None:
    assert path_segment(value) == quoted


def test_a_double_slash_path_is_a_json_404_not_an_html_redirect(tmp_path: Path) -> None:
    # orders asks cart for /carts/%2Fx when a user id starts with "/"; the server decodes it to //x.
    cart = create_cart(env=service_env(tmp_path, "cart")).test_client()
    resp = cart.get("/carts//x")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_a_free_form_event_payload_is_data_and_may_hold_any_json_string(tmp_path: Path) -> None:
    notifications = create_notifications(env=service_env(tmp_path, "notifications")).test_client()
    event = {"event_id": "evt-1", "order_id": "ord-1", "user_id": "u1", "type": "order.created",
             "payload": {"note": "line one\nline two\x02"}}
    resp = notifications.post("/events", json=event)
    assert resp.status_code in (200, 201), resp.get_data(as_text=True)
