"""Contract gateway→identity: sign-up and log-in, with the 409 and 401 the public API passes on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pact import Pact, match

from contracts.consumer import Matcher, error_body, from_state, open_pact, serve_peer, unavailable_state
from shop.gateway.clients import IdentityClient
from shop.kit.errors import Conflict, DependencyUnavailable, Unauthorized, ValidationFailed

pytestmark = pytest.mark.contracts

EMAIL = "ada@example.test"
PASSWORD = "correct horse battery"


@pytest.fixture
def pact(pact_output_dir: Path) -> Iterator[Pact]:
    """Give the gateway→identity pact."""
    with open_pact("gateway", "identity", pact_output_dir) as pact:
        yield pact


def _email() -> Matcher:
    return from_state("${email}", EMAIL)


def test_gateway_signs_a_user_up_and_gets_a_first_token(pact: Pact) -> None:
    (
        pact.upon_receiving("a sign-up with a new email")
        .given("no user has the email")
        .with_request("POST", "/users")
        .with_body({"email": _email(), "password": PASSWORD, "name": "Ada"}, content_type="application/json")
        .will_respond_with(201)
        .with_body({"user_id": match.str("usr_1f2e3d"), "email": _email(), "name": "Ada",
                    "access_token": match.str("eyJhbGciOiJIUzI1NiJ9.e30.sig")}, content_type="application/json")
    )
    with serve_peer(pact, IdentityClient) as identity:
        user = identity.sign_up({"email": EMAIL, "password": PASSWORD, "name": "Ada"})
    assert (user["email"], user["user_id"]) == (EMAIL, "usr_1f2e3d")


def test_gateway_passes_on_409_when_the_email_is_taken(pact: Pact) -> None:
    (
        pact.upon_receiving("a sign-up with a taken email")
        .given("a user is registered", password=PASSWORD)
        .with_request("POST", "/users")
        .with_body({"email": _email(), "password": PASSWORD, "name": "Ada"}, content_type="application/json")
        .will_respond_with(409)
        .with_body(error_body("email_taken"), content_type="application/json")
    )
    with serve_peer(pact, IdentityClient) as identity, pytest.raises(Conflict) as caught:
        identity.sign_up({"email": EMAIL, "password": PASSWORD, "name": "Ada"})
    assert caught.value.code == "email_taken"


def test_gateway_passes_on_422_for_an_email_identity_refuses(pact: Pact) -> None:
    (
        pact.upon_receiving("a sign-up with an invalid email")
        .given("no user has the email")
        .with_request("POST", "/users")
        .with_body({"email": "not-an-email", "password": PASSWORD, "name": "Ada"}, content_type="application/json")
        .will_respond_with(422)
        .with_body(error_body("validation_failed"), content_type="application/json")
    )
    with serve_peer(pact, IdentityClient) as identity, pytest.raises(ValidationFailed):
        identity.sign_up({"email": "not-an-email", "password": PASSWORD, "name": "Ada"})


def test_gateway_logs_a_user_in_for_a_bearer_token(pact: Pact) -> None:
    (
        pact.upon_receiving("a log-in with the right password")
        .given("a user is registered", password=PASSWORD)
        .with_request("POST", "/tokens")
        .with_body({"email": _email(), "password": PASSWORD}, content_type="application/json")
        .will_respond_with(200)
        .with_body({"access_token": match.str("eyJhbGciOiJIUzI1NiJ9.e30.sig"), "token_type": "bearer",
                    "expires_in": match.int(3600)}, content_type="application/json")
    )
    with serve_peer(pact, IdentityClient) as identity:
        token = identity.log_in({"email": EMAIL, "password": PASSWORD})
    assert token["token_type"] == "bearer"


def test_gateway_passes_on_401_for_a_wrong_password(pact: Pact) -> None:
    (
        pact.upon_receiving("a log-in with a wrong password")
        .given("a user is registered", password=PASSWORD)
        .with_request("POST", "/tokens")
        .with_body({"email": _email(), "password": "wrong password"}, content_type="application/json")
        .will_respond_with(401)
        .with_body(error_body("bad_credentials"), content_type="application/json")
    )
    with serve_peer(pact, IdentityClient) as identity, pytest.raises(Unauthorized):
        identity.log_in({"email": EMAIL, "password": "wrong password"})


def test_gateway_sees_an_identity_outage_as_unavailable(pact: Pact) -> None:
    (
        pact.upon_receiving("a log-in while identity is unavailable")
        .given(unavailable_state("identity"))
        .with_request("POST", "/tokens")
        .with_body({"email": _email(), "password": PASSWORD}, content_type="application/json")
        .will_respond_with(503)
        .with_body(error_body(), content_type="application/json")
    )
    with serve_peer(pact, IdentityClient) as identity, pytest.raises(DependencyUnavailable):
        identity.log_in({"email": EMAIL, "password": PASSWORD})
