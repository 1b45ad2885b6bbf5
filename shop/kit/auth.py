"""Issue and verify the shop's access tokens (JWT, HS256, with issuer, audience and expiry)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from shop.kit.errors import Unauthorized

ISSUER = "shoplab-identity"
AUDIENCE = "shoplab"
ALGORITHM = "HS256"
# identity issues tokens of about 300 characters; a longer one is refused before decoding.
MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True)
class Claims:
    """The verified claims the gateway uses."""

    user_id: str
    email: str
    expires_at: int


def issue_token(*, user_id: str, email: str, secret: str, ttl_s: int, now: float | None = None) -> str:
    """Return a signed access token for ``user_id`` valid for ``ttl_s`` seconds."""
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": user_id,
        "email": email,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(token: str, *, secret: str) -> Claims:
    """Return the claims of a valid token.

    Raises Unauthorized for anything else: a token not signed with HS256 (so
    ``alg: none`` too), a wrong signature, an expired token, a wrong issuer or audience,
    or a missing claim. The reason is kept generic on purpose.
    """
    try:
        # Pinning algorithms is what rejects "none" and algorithm-confusion tokens.
        data = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the access token has expired") from None
    except jwt.PyJWTError:
        raise Unauthorized("the access token is invalid") from None
    sub = data.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 64:
        raise Unauthorized("the access token is invalid")
    return Claims(user_id=sub, email=str(data.get("email", "")), expires_at=int(data["exp"]))


def get_bearer_token(header: str | None) -> str:
    """Return the token of an ``Authorization: Bearer <token>`` header; raise Unauthorized."""
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer token is required")
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized(f"the access token is longer than {MAX_TOKEN_LENGTH} characters")
    return token
