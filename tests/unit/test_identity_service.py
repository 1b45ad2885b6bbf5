"""Unit tests of identity's domain and token rules, with a fake repository and hasher."""

from __future__ import annotations

import time

import jwt
import pytest

from shop.identity.model import BadCredentials, EmailTaken, User
from shop.identity.service import IdentityService
from shop.identity.store import Argon2Hasher, JwtIssuer
from shop.kit.auth import AUDIENCE, ISSUER, get_bearer_token, issue_token, verify_token
from shop.kit.errors import Unauthorized

pytestmark = pytest.mark.unit

SECRET = "unit-test-secret-that-is-long-enough-for-hs256-and-even-for-hs512-too"


class FakeUsers:
    def __init__(self) -> None:
        self.by_email: dict[str, User] = {}

    def add(self, user: User) -> None:
        if user.email in self.by_email:
            raise EmailTaken(user.email)
        self.by_email[user.email] = user

    def get_by_email(self, email: str) -> User | None:
        return self.by_email.get(email)


class FakeHasher:
    def hash(self, password: str) -> str:
        return "h:" + password[::-1]

    def verify(self, encoded: str, password: str) -> bool:
        return encoded == "h:" + password[::-1]


def _service() -> tuple[IdentityService, FakeUsers]:
    users = FakeUsers()
    return IdentityService(users, FakeHasher(), JwtIssuer(secret=SECRET, ttl_s=60)), users


def test_sign_up_stores_a_hash_not_the_password_and_issues_a_token_for_the_user() -> None:
    service, users = _service()
    user, token = service.sign_up(email=" Ada@Example.com ", password="correct horse", name="Ada")
    stored = users.by_email["ada@example.com"]
    assert stored.password_hash != "correct horse"
    assert verify_token(token, secret=SECRET).user_id == user.user_id


def test_a_taken_email_is_refused_whatever_its_case() -> None:
    service, _ = _service()
    service.sign_up(email="ada@example.com", password="correct horse", name="Ada")
    with pytest.raises(EmailTaken):
        service.sign_up(email="ADA@example.com", password="another one", name="Ada 2")


def test_log_in_with_the_right_password_issues_a_token_and_wrong_ones_are_refused() -> None:
    service, _ = _service()
    user, _ = service.sign_up(email="ada@example.com", password="correct horse", name="Ada")
    assert (
        verify_token(service.log_in(email="ada@example.com", password="correct horse"), secret=SECRET).user_id
        == user.user_id
    )
    with pytest.raises(BadCredentials):
        service.log_in(email="ada@example.com", password="wrong horse")
    with pytest.raises(BadCredentials):
        service.log_in(email="nobody@example.com", password="correct horse")


def test_argon2_hashes_verify_and_reject_and_tolerate_garbage_hashes() -> None:
    hasher = Argon2Hasher(time_cost=1, memory_kib=8, parallelism=1)
    encoded = hasher.hash("s3cret-pass")
    assert encoded.startswith("$argon2id$") and "s3cret-pass" not in encoded
    assert hasher.verify(encoded, "s3cret-pass")
    assert not hasher.verify(encoded, "other-pass")
    assert not hasher.verify("not-a-hash", "s3cret-pass")


def test_tokens_carry_sub_email_issuer_audience_and_expiry() -> None:
    claims = jwt.decode(
        issue_token(user_id="u1", email="a@b.c", secret=SECRET, ttl_s=60),
        SECRET,
        algorithms=["HS256"],
        audience=AUDIENCE,
    )
    assert claims["sub"] == "u1" and claims["email"] == "a@b.c" and claims["iss"] == ISSUER
    assert claims["exp"] - claims["iat"] == 60


def _forge(claims: dict[str, object], *, key: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "sub": "u1",
        "email": "a@b.c",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 60,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            lambda: _forge(_claims(), key="wrong-secret-wrong-secret-wrong-secret"), id="wrong signature"
        ),
        pytest.param(lambda: _forge(_claims(exp=int(time.time()) - 10)), id="expired"),
        pytest.param(lambda: _forge(_claims(aud="someone-else")), id="wrong audience"),
        pytest.param(lambda: _forge(_claims(iss="evil")), id="wrong issuer"),
        pytest.param(lambda: _forge(_claims(exp=None)), id="no expiry"),
        pytest.param(lambda: _forge(_claims(sub=None)), id="no subject"),
        pytest.param(lambda: jwt.encode(_claims(), None, algorithm="none"), id="alg none"),
        pytest.param(lambda: _forge(_claims(), alg="HS512"), id="another algorithm"),
        pytest.param(lambda: "not.a.jwt", id="garbage"),
    ],
)
def test_bad_tokens_are_unauthorized(token: object) -> None:
    with pytest.raises(Unauthorized):
        verify_token(token(), secret=SECRET)  # type: ignore[operator]


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer  ", "Basic abc", "token abc"])
def test_a_missing_or_non_bearer_authorization_header_is_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        get_bearer_token(header)
