"""Map every failure to one JSON error shape: ``{"error": {"code", "message", "request_id"}}``.

Exception tree (domain code raises these; the boundary renders them)::

    ShopError                      500 internal (only for bugs we catch ourselves)
    ├── BadRequest                 400 bad_request       (malformed JSON, bad header)
    ├── ValidationFailed           422 validation_failed (well-formed but invalid body)
    ├── Unauthorized               401 unauthorized
    ├── Forbidden                  403 forbidden
    ├── NotFound                   404 not_found
    ├── Conflict                   409 conflict
    ├── DependencyError            503/504: a peer failed; ``dependency`` names it
    │   ├── DependencyUnavailable  503 dependency_unavailable (refused, 5xx, breaker open, bulkhead full)
    │   └── DependencyTimeout      504 dependency_timeout    (timed out or deadline spent)
    └── DeadlineExceeded           504 deadline_exceeded (the caller's budget is already spent)

Every failure the kit meets while serving lands in this tree: a peer's transport error,
timeout, 5xx, open breaker, full bulkhead or spent deadline becomes a ``DependencyError``
in ``shop.kit.resilience.upstream.to_kit_error`` (cause kept), a peer's 4xx answer the
same kit error (``shop.kit.peers``), bad input ``BadRequest``/``ValidationFailed``
(``shop.kit.api_spec``, the admin API), and anything else is a bug answered here as a
500 and counted. Start-up failures are not answers and stay outside it: a missing or bad
setting raises ``shop.kit.config.MissingSetting`` (or ``ValueError`` for an unknown
``SHOPLAB_RESILIENCE_PROFILE``) before the process serves anything.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from typing import Any

import structlog
from flask import Blueprint, Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from shop.kit.state import get_component, has_component, set_component

log = structlog.get_logger(__name__)


class ShopError(Exception):
    """Base of every error a service answers on purpose."""

    status = 500
    code = "internal"

    def __init__(self, message: str, *, details: Any | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class BadRequest(ShopError):
    """The request is malformed (not JSON, wrong content type, bad header)."""

    status = 400
    code = "bad_request"


class ValidationFailed(ShopError):
    """The request is well-formed but its values are invalid."""

    status = 422
    code = "validation_failed"


class Unauthorized(ShopError):
    """No valid credentials were presented."""

    status = 401
    code = "unauthorized"


class Forbidden(ShopError):
    """The credentials do not allow this."""

    status = 403
    code = "forbidden"


class NotFound(ShopError):
    """The thing asked for does not exist (or is not yours)."""

    status = 404
    code = "not_found"


class Conflict(ShopError):
    """The request conflicts with the current state (e.g. a taken email)."""

    status = 409
    code = "conflict"


class DependencyError(ShopError):
    """A peer service failed; ``dependency`` names it."""

    status = 503
    code = "dependency_unavailable"

    def __init__(self, message: str, *, dependency: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.dependency = dependency


class DependencyUnavailable(DependencyError):
    """A peer refused, failed, or is cut off by its breaker or bulkhead."""

    status = 503
    code = "dependency_unavailable"


class DependencyTimeout(DependencyError):
    """A peer did not answer within the timeout or the remaining deadline."""

    status = 504
    code = "dependency_timeout"


class DeadlineExceeded(ShopError):
    """The caller's deadline is already spent: the work is not started."""

    status = 504
    code = "deadline_exceeded"


def get_request_id() -> str:
    """Return the current request id (taken from ``X-Request-ID`` or made up)."""
    try:
        rid = g.get("request_id")
    except RuntimeError:  # outside a request
        return "-"
    return rid or "-"


def error_body(status: int, code: str, message: str, details: Any | None = None) -> dict[str, Any]:
    """Build the JSON error body."""
    err: dict[str, Any] = {"code": code, "message": message, "request_id": get_request_id()}
    if details is not None:
        err["details"] = details
    return {"error": err}


def error_response(status: int, code: str, message: str, details: Any | None = None) -> Response:
    """Build a JSON error response."""
    resp = jsonify(error_body(status, code, message, details))
    resp.status_code = status
    return resp


def _http_code(exc: HTTPException) -> str:
    name = (exc.name or "error").lower().replace(" ", "_").replace("'", "")
    return name


def render_shop_error(exc: ShopError) -> Response:
    """Answer ``exc`` in the JSON error shape (503s say when to come back)."""
    if isinstance(exc, DependencyError):
        log.warning("dependency_error", dependency=exc.dependency, code=exc.code, error=exc.message)
    resp = error_response(exc.status, exc.code, exc.message, exc.details)
    if exc.status == 503:
        resp.headers.setdefault("Retry-After", "1")
    return resp


def init_app(app: Flask) -> None:
    """Install request ids and the JSON error handlers on ``app``."""
    # Werkzeug answers a path with "//" (a user id "/x" quoted as %2F, which the server
    # decodes) with an HTML 308 to the merged path; an API answers 404 in JSON instead.
    # Set before any route is added: each rule takes the map's setting when it is bound.
    app.url_map.merge_slashes = False

    @app.before_request
    def _assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(resp: Response) -> Response:
        resp.headers["X-Request-ID"] = get_request_id()
        return resp

    app.register_error_handler(ShopError, render_shop_error)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        resp = error_response(status, _http_code(exc), exc.description or exc.name)
        if status == 405 and exc.get_response().headers.get("Allow"):
            resp.headers["Allow"] = exc.get_response().headers["Allow"]
        return resp

    unhandled = UnhandledErrors()
    set_component(app, unhandled)

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception) -> Response:
        # A bug: still answer the JSON shape, count it for the audit, log it once here.
        unhandled.add()
        log.exception("unhandled_error", error_type=type(exc).__name__)
        return error_response(500, "internal", "internal error")


class UnhandledErrors:
    """How many unhandled errors (500s) one app has served (the audit reads it)."""

    def __init__(self) -> None:
        self.count = 0
        # gunicorn's gthread workers serve requests on threads; ``+=`` is a read-add-write
        # that only the GIL happens to keep whole, and a free-threaded build would not.
        self._lock = threading.Lock()

    def add(self) -> None:
        """Count one unhandled error."""
        with self._lock:
            self.count += 1


def get_unhandled_count(app: Flask) -> int:
    """Return how many unhandled errors (500s) ``app`` has served."""
    return get_component(app, UnhandledErrors).count if has_component(app, UnhandledErrors) else 0


def map_domain_errors(blueprint: Blueprint, mapping: Mapping[type[Exception], type[ShopError]]) -> None:
    """Answer each domain error raised under ``blueprint`` as the kit error it maps to.

    The domain error's message is kept; a ``code`` or ``details`` attribute on it, when
    present, replaces the kit error's (e.g. ``insufficient_stock`` with the short lines).
    """
    for domain_cls, kit_cls in mapping.items():

        def _handle(exc: Exception, kit_cls: type[ShopError] = kit_cls) -> Response:
            code, details = getattr(exc, "code", None), getattr(exc, "details", None)
            return render_shop_error(kit_cls(str(exc), code=code, details=details))

        blueprint.register_error_handler(domain_cls, _handle)
