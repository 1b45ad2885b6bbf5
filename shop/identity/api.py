"""identity's HTTP API: POST /users (sign up) and POST /tokens (log in)."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app
from pydantic import Field

from shop.identity.bootstrap import bootstrap, get_deps
from shop.identity.model import BadCredentials, EmailTaken
from shop.identity.service import IdentityService
from shop.kit import api_spec
from shop.kit.api_spec import EMAIL_PATTERN, ApiModel, operation
from shop.kit.config import KitSettings
from shop.kit.errors import Conflict, Unauthorized, map_domain_errors

bp = Blueprint("identity", __name__)
map_domain_errors(bp, {EmailTaken: Conflict, BadCredentials: Unauthorized})


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
    return get_deps(current_app).service


@operation(bp, "POST", "/users", body=SignUpIn, responses={201: SignUpOut}, errors=(409,))
def sign_up(body: SignUpIn) -> SignUpOut:
    """Sign a user up; 409 when the email is taken."""
    user, token = _service().sign_up(email=body.email, password=body.password, name=body.name)
    return SignUpOut(user_id=user.user_id, email=user.email, name=user.name, access_token=token)


@operation(bp, "POST", "/tokens", body=LogInIn, responses={200: TokenOut}, errors=(401,))
def log_in(body: LogInIn) -> TokenOut:
    """Exchange an email and password for an access token; 401 on bad credentials."""
    service = _service()
    token = service.log_in(email=body.email, password=body.password)
    return TokenOut(access_token=token, expires_in=service.tokens.ttl_s)


def init_app(app: Flask, kit: KitSettings, *, env: dict[str, str] | None = None) -> None:
    """Build identity's dependencies and register its routes on ``app`` (the kit's setup hook)."""
    bootstrap(app, kit, env)
    app.register_blueprint(bp)
    api_spec.init_app(app)
