"""Turn a peer's error answer into the same kit error, so it passes through unchanged."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from shop.kit.errors import (
    BadRequest,
    Conflict,
    DependencyUnavailable,
    Forbidden,
    NotFound,
    ShopError,
    Unauthorized,
    ValidationFailed,
)

_BY_STATUS: dict[int, type[ShopError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
}


def path_segment(value: str) -> str:
    """Quote ``value`` for use as one URL path segment (a user id may hold ``/`` or controls).

    ``.`` and ``..`` are escaped too: left bare, they are dot segments that httpx (like any
    RFC 3986 client) removes, so ``/orders/../notifications`` would reach ``/notifications``.
    """
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="")


def get_json(resp: httpx.Response, dependency: str) -> Any:
    """Return the JSON body of a peer's answer; a non-JSON body is the peer's failure (503)."""
    try:
        return resp.json()
    except ValueError:
        raise DependencyUnavailable(
            f"{dependency} answered a body that is not JSON", dependency=dependency
        ) from None


def ensure_success(resp: httpx.Response, dependency: str) -> httpx.Response:
    """Return ``resp`` when it is 2xx; otherwise raise the kit error it carries.

    A 4xx keeps the peer's status, code, message and details (e.g. 404 unknown product,
    409 insufficient_stock). Anything else unexpected is the peer's failure (503).
    """
    if 200 <= resp.status_code < 300:
        return resp
    cls = _BY_STATUS.get(resp.status_code)
    if cls is None:
        raise DependencyUnavailable(f"{dependency} answered {resp.status_code}", dependency=dependency)
    code, message, details = cls.code, f"{dependency} answered {resp.status_code}", None
    try:
        body = resp.json()
        err = body["error"]
        code, message, details = str(err["code"]), str(err["message"]), err.get("details")
    except (ValueError, KeyError, TypeError):
        pass
    raise cls(message, code=code, details=details)


def get_error(resp: httpx.Response) -> dict[str, Any]:
    """Return the ``error`` object of a peer's JSON error body, or ``{}`` when it has none."""
    try:
        body = resp.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def get_error_code(resp: httpx.Response) -> str:
    """Return the code of a peer's error answer, or its status when the body names none."""
    return str(get_error(resp).get("code") or resp.status_code)


def unexpected_status(resp: httpx.Response, dependency: str, what: str) -> DependencyUnavailable:
    """Return the 503 for an answer the caller has no meaning for, naming the status, code and call."""
    return DependencyUnavailable(
        f"{dependency} answered {resp.status_code} ({get_error_code(resp)}) to {what}", dependency=dependency
    )
