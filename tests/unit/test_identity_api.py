"""Flask test-client tests of identity's API on a real SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from shop.identity import create_app
from shop.kit.auth import verify_token
from shop.kit.config import MissingSetting

pytestmark = pytest.mark.unit

SECRET = "identity-api-test-secret-long-enough"
ENV = {"SHOPLAB_ADMIN_TOKEN": "admin", "SHOPLAB_JWT_SECRET": SECRET, "IDENTITY_ARGON2_MEMORY_KIB": "1024"}


@pytest.fixture()
def client(tmp_path: Path) -> FlaskClient:
    return create_app(env={**ENV, "SHOPLAB_DATA_DIR": str(tmp_path)}).test_client()


def test_sign_up_then_log_in_issues_tokens_for_the_same_user(client: FlaskClient) -> None:
    resp = client.post(
        "/users", json={"email": "ada@example.com", "password": "correct horse", "name": "Ada"}
    )
    assert resp.status_code == 201
    body = resp.get_json()
    assert set(body) == {"user_id", "email", "name", "access_token"}
    login = client.post("/tokens", json={"email": "ada@example.com", "password": "correct horse"})
    assert login.status_code == 200
    token = login.get_json()
    assert token["token_type"] == "bearer" and token["expires_in"] > 0
    assert verify_token(token["access_token"], secret=SECRET).user_id == body["user_id"]


def test_a_taken_email_is_409_and_bad_credentials_are_401(client: FlaskClient) -> None:
    user = {"email": "bob@example.com", "password": "correct horse", "name": "Bob"}
    client.post("/users", json=user)
    assert client.post("/users", json=user).get_json()["error"]["code"] == "email_taken"
    resp = client.post("/tokens", json={"email": "bob@example.com", "password": "wrong horse"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "bad_credentials"
    assert client.post("/tokens", json={"email": "eve@example.com", "password": "x"}).status_code == 401


@pytest.mark.parametrize(
    ("path", "kwargs", "status"),
    [
        ("/users", {"data": "{", "content_type": "application/json"}, 400),
        ("/users", {"data": "email=a", "content_type": "text/plain"}, 400),
        ("/users", {"json": {"email": "not-an-email", "password": "correct horse", "name": "A"}}, 422),
        ("/users", {"json": {"email": "a@b.co", "password": "short", "name": "A"}}, 422),
        ("/users", {"json": {"email": "a@b.co", "password": 12345678, "name": "A"}}, 422),
        ("/users", {"json": {"email": "a@b.co", "password": "correct horse"}}, 422),
        ("/tokens", {"json": ["a@b.co", "pw"]}, 422),
        ("/tokens", {"json": {"email": "a@b.co"}}, 422),
    ],
)
def test_bad_input_is_a_4xx_json_error(
    client: FlaskClient, path: str, kwargs: dict[str, Any], status: int
) -> None:
    resp = client.post(path, **kwargs)
    assert resp.status_code == status
    assert set(resp.get_json()["error"]) >= {"code", "message", "request_id"}


def test_passwords_never_appear_in_responses_or_errors(client: FlaskClient) -> None:
    resp = client.post("/users", json={"email": "bad", "password": "SuperSecretPw1", "name": "A"})
    assert "SuperSecretPw1" not in resp.get_data(as_text=True)


def test_identity_refuses_to_start_without_a_jwt_secret(tmp_path: Path) -> None:
    with pytest.raises(MissingSetting, match="SHOPLAB_JWT_SECRET"):
        create_app(env={"SHOPLAB_ADMIN_TOKEN": "admin", "SHOPLAB_DATA_DIR": str(tmp_path)})
