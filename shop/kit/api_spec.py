"""Declare routes once: parse and validate their input with pydantic, and publish OpenAPI.

Usage (a service's ``api.py``)::

    from flask import Blueprint
    from shop.kit.api_spec import ApiModel, Header, INT_ID, operation

    class ReserveIn(ApiModel):            # strict types, unknown fields rejected
        order_id: str = Field(min_length=1, max_length=64)
        qty: int = Field(gt=0)

    class ReserveOut(ApiModel):
        order_id: str
        status: str

    bp = Blueprint("catalog", __name__)

    @operation(bp, "POST", "/reservations", body=ReserveIn,
               responses={201: ReserveOut, 200: ReserveOut}, errors=(409,))
    def reserve(body: ReserveIn) -> tuple[ReserveOut, int]:
        \"\"\"Reserve stock for an order.\"\"\"
        return ReserveOut(order_id=body.order_id, status="reserved"), 201

    @operation(bp, "GET", f"/products/<{INT_ID}:product_id>", responses={200: ProductOut}, errors=(404,))
    def get_product(product_id: int) -> ProductOut: ...

    # in create_app's setup hook, after registering the blueprint:
    api_spec.init_app(app)                # serves GET /openapi.json

Decorator keywords:
- ``body=Model``: the JSON body is parsed into ``Model`` and passed as ``body``.
  ``body_required=False``: an empty body means ``Model()`` (all fields need defaults).
  Not JSON / wrong content type / empty → ``BadRequest`` (400); invalid values or
  types → ``ValidationFailed`` (422) with pydantic's errors (no input echoed) in details.
- ``query=Model``: ``request.args`` parsed (lax, so "4" → 4) and passed as ``query``.
- ``headers=[Header("Idempotency-Key", max_length=128)]``: documented and checked
  (missing required or too long → 400); read them with ``request.headers``.
- ``responses={status: Model | None}``: the handler returns a model (answered with
  the lowest declared status), ``(model, status)``, or a Flask ``Response``.
- ``auth=True``: the authenticator given to ``init_app(app, authenticate=fn)`` runs
  first (it raises ``Unauthorized``); what it returns is passed as ``user_id``.
- ``errors=(404, 409)``: extra error statuses. Added automatically: 400/422 with a
  body or query, 404 with path parameters, 401 with ``auth=True`` (bearer),
  503/504 with ``peers=("catalog",)`` (the route calls a peer).

Truthful schemas (schemathesis fuzzes them): integral floats (``2.0``) count as
integers, as in JSON Schema; a request the schema allows but the current state refuses
(sold out, line limit) is a 409/404, not a 422, which means "the schema forbids this".

Path parameters: use ``INT_ID`` (``int(min=1, max=2**31-1)``) for numeric ids so a
huge number is a 404, never an overflow; plain ``<name>`` is a non-empty string.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from pydantic import BaseModel, ValidationError

from shop.kit.api_types import (
    EMAIL_PATTERN,
    INT_ID,
    MAX_ID,
    REQUEST_INPUT,
    ApiModel,
    Header,
    Operation,
    QueryModel,
    has_control_character,
)
from shop.kit.errors import BadRequest, ValidationFailed
from shop.kit.openapi import ERROR_SCHEMA, build_openapi
from shop.kit.state import get_component, set_component

__all__ = [
    "EMAIL_PATTERN",
    "ERROR_SCHEMA",
    "INT_ID",
    "MAX_ID",
    "ApiModel",
    "Authenticator",
    "Header",
    "Operation",
    "QueryModel",
    "build_openapi",
    "init_app",
    "operation",
    "parse_body",
    "serve_openapi",
    "parse_query",
]


@dataclass(frozen=True)
class Authenticator:
    """What runs before every ``auth=True`` route: raises Unauthorized or returns the user id."""

    authenticate: Callable[[], Any]


def parse_body(model: type[BaseModel]) -> Any:
    """Parse the current request's JSON body into ``model``.

    Raises BadRequest (400) for a wrong content type or malformed JSON and
    ValidationFailed (422) for invalid values, with pydantic's error list in details.
    """
    if not request.is_json:
        raise BadRequest("expected a JSON body (Content-Type: application/json)")
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadRequest("the request body is empty")
    try:
        # JSON Schema counts 2.0 as an integer but pydantic's strict int does not: turn
        # integral floats into ints first, so the published schema stays truthful.
        normalized = json.dumps(json.loads(raw, parse_float=_parse_json_number), allow_nan=False)
    except ValueError:  # also UnicodeDecodeError and NaN/Infinity (allow_nan=False)
        raise BadRequest("the request body is not valid JSON") from None
    except RecursionError:
        raise BadRequest("the request body is nested too deeply") from None
    try:
        return model.model_validate_json(normalized, context=REQUEST_INPUT)
    except ValidationError as exc:
        errors = _public_errors(exc)
        if any(e["type"] in ("json_invalid", "json_type") for e in errors):
            raise BadRequest("the request body is not valid JSON") from None
        raise ValidationFailed("the request body is invalid", details=errors) from None


def _parse_json_number(text: str) -> float | int:
    value = float(text)
    if value.is_integer() and abs(value) < 1e300:
        return int(value)
    return value


def parse_query(model: type[BaseModel]) -> Any:
    """Parse the current request's query string into ``model`` (422 when invalid)."""
    args = {k: v for k, v in request.args.items()}
    try:
        return model.model_validate(args, context=REQUEST_INPUT)
    except ValidationError as exc:
        raise ValidationFailed("the query string is invalid", details=_public_errors(exc)) from None


def _public_errors(exc: ValidationError) -> list[dict[str, Any]]:
    # No "input": it may be a password; no "ctx": it may hold non-JSON objects.
    return [
        {"type": e["type"], "loc": [str(p) for p in e["loc"]], "msg": e["msg"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def _check_headers(headers: Iterable[Header]) -> None:
    for h in headers:
        value = request.headers.get(h.name)
        if value is None:
            if h.required:
                raise BadRequest(f"header {h.name} is required")
            continue
        if value == "":  # the published schema says minLength 1
            raise BadRequest(f"header {h.name} must not be empty")
        if len(value) > h.max_length:
            raise BadRequest(f"header {h.name} is longer than {h.max_length} characters")
        if has_control_character(value):
            raise BadRequest(f"header {h.name} must not contain control characters")


def operation(
    bp: Blueprint | Flask,
    method: str,
    path: str,
    *,
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    query: type[BaseModel] | None = None,
    headers: Iterable[Header] = (),
    responses: Mapping[int, type[BaseModel] | None] | None = None,
    errors: Iterable[int] = (),
    auth: bool = False,
    peers: Iterable[str] = (),
    tags: Iterable[str] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Register a route on ``bp`` that validates its input and is listed in /openapi.json."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Response]:
        op = Operation(
            method=method.upper(),
            summary=(fn.__doc__ or fn.__name__).strip().splitlines()[0],
            body=body,
            body_required=body_required,
            query=query,
            headers=tuple(headers),
            responses=dict(responses or {200: None}),
            errors=tuple(errors),
            auth=auth,
            peers=tuple(peers),
            tags=tuple(tags),
        )

        @functools.wraps(fn)
        def view(**path_args: Any) -> Response:
            kwargs = dict(path_args)
            if op.auth:
                # Credentials before input: an anonymous caller learns nothing about the body rules.
                kwargs["user_id"] = get_component(current_app, Authenticator).authenticate()
            _check_headers(op.headers)
            if op.body is not None:
                if not op.body_required and not request.get_data(cache=True).strip():
                    kwargs["body"] = op.body()
                else:
                    kwargs["body"] = parse_body(op.body)
            if op.query is not None:
                kwargs["query"] = parse_query(op.query)
            return _to_response(fn(**kwargs), op)

        view.__api_operation__ = op  # type: ignore[attr-defined]
        bp.add_url_rule(path, endpoint=fn.__name__, view_func=view, methods=[op.method])
        return view

    return decorator


def _to_response(result: Any, op: Operation) -> Response:
    if isinstance(result, Response):
        return result
    status = op.default_status
    if isinstance(result, tuple):
        result, status = result
    if result is None:
        resp = Response(status=status)
        return resp
    payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    resp = jsonify(payload)
    resp.status_code = status
    return resp


def init_app(
    app: Flask,
    *,
    title: str | None = None,
    authenticate: Callable[[], Any] | None = None,
    blueprint: str | None = None,
) -> None:
    """Serve ``GET /openapi.json`` for ``app`` (built once, on first request).

    ``authenticate`` runs before every ``auth=True`` route: it raises Unauthorized or
    returns the caller's user id. ``blueprint`` limits the document to one blueprint's
    operations (the current API version when the blueprint is registered once per version).
    """
    if authenticate is not None:
        set_component(app, Authenticator(authenticate))
    serve_openapi(app, "/openapi.json", title=title, blueprint=blueprint)


def serve_openapi(
    app: Flask,
    path: str,
    *,
    title: str | None = None,
    blueprint: str | None = None,
    deprecated: bool = False,
) -> None:
    """Serve ``GET path``: the OpenAPI document of ``blueprint``'s operations (all when None)."""
    cache: dict[str, Any] = {}

    def openapi_json() -> Response:
        """Return this service's OpenAPI document."""
        if "doc" not in cache:
            cache["doc"] = build_openapi(current_app, title=title, blueprint=blueprint, deprecated=deprecated)
        return jsonify(cache["doc"])

    endpoint = "openapi_json" if path == "/openapi.json" else f"openapi_json_{blueprint or 'all'}"
    app.add_url_rule(path, endpoint, openapi_json, methods=["GET"])
