"""identity's HTTP API: POST /users (sign up) and POST /tokens (log in)."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app
from pydantic import Field

from shop.identity.config import Settings
from shop.identity.service import BadCredentials, EmailTaken, IdentityService
from shop.identity.store import Argon2Hasher, Base, JwtIssuer, SqlUserRepository
from shop.kit import api_spec
from shop.kit.api_spec import EMAIL_PATTERN, ApiModel, operation
from shop.kit.app import get_kit
from shop.kit.config import KitSettings
from shop.kit.db import init_service_db, make_session_factory
from shop.kit.errors import Conflict, Unauthorized

bp = Blueprint("identity", __name__)


class SignUpIn(ApiModel):
    """A sign-up request."""

    email: str = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)
    password: str = Field(min_length=8, max_length=128)
    name: str = Field(min_length=1, max_length=100)


class SignUpOut(ApiModel):
    """A new user and its first access token."""

    user_id: str
    email: str
    name: str
    access_token: str


class LogInIn(ApiModel):
    """A log-in request."""

    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=128)


class TokenOut(ApiModel):
    """An access token."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


def _service() -> IdentityService:
    service: IdentityService = get_kit(current_app).extras["service"]
    return service


@operation(bp, "POST", "/users", body=SignUpIn, responses={201: SignUpOut}, errors=(409,))
def sign_up(body: SignUpIn) -> SignUpOut:
    """Sign a user up; 409 when the email is taken."""
    try:
        user, token = _service().sign_up(email=body.email, password=body.password, name=body.name)
    except EmailTaken:
        raise Conflict("this email is already registered", code="email_taken") from None
    return SignUpOut(user_id=user.user_id, email=user.email, name=user.name, access_token=token)


@operation(bp, "POST", "/tokens", body=LogInIn, responses={200: TokenOut}, errors=(401,))
def log_in(body: LogInIn) -> TokenOut:
    """Exchange an email and password for an access token; 401 on bad credentials."""
    service = _service()
    try:
        token = service.log_in(email=body.email, password=body.password)
    except BadCredentials:
        raise Unauthorized("wrong email or password", code="bad_credentials") from None
    return TokenOut(access_token=token, expires_in=service.tokens.ttl_s)


def init_app(app: Flask, kit: KitSettings, settings: Settings) -> None:
    """Wire identity's store, hasher, token issuer and routes into ``app``."""
    engine = init_service_db(app, Base.metadata, "identity.sqlite3")
    sessions = make_session_factory(engine)
    state = get_kit(app)
    state.extras["service"] = IdentityService(
        SqlUserRepository(sessions),
        Argon2Hasher(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        ),
        JwtIssuer(secret=settings.jwt_secret, ttl_s=settings.token_ttl_s),
    )

    app.register_blueprint(bp)
    api_spec.init_app(app)
