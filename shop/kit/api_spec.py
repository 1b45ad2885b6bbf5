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
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule

from shop.kit.errors import BadRequest, ValidationFailed

INT_ID = "int(min=1, max=2147483647)"
MAX_ID = 2147483647

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Malformed request (not JSON, wrong content type, bad header)",
    401: "Missing or invalid credentials",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict with the current state",
    422: "Invalid values",
    503: "A dependency is unavailable or its breaker is open",
    504: "A dependency timed out",
}

# One email rule for every service. Whitespace is spelled out: ``\s`` means different
# sets in pydantic's regex engine (Unicode, e.g. U+0085) and in the JSON Schema (ECMA)
# one the fuzzer generates from, so a published pattern must avoid it.
EMAIL_PATTERN = r"^[^@ \t\r\n]+@[^@ \t\r\n]+\.[^@ \t\r\n]+$"


class ApiModel(BaseModel):
    """Base of request and response models: strict types, unknown fields rejected."""

    model_config = ConfigDict(strict=True, extra="forbid")


class QueryModel(BaseModel):
    """Base of query-string models: lax (query values are strings), extras ignored."""

    model_config = ConfigDict(extra="ignore")


@dataclass(frozen=True)
class Header:
    """A request header a route reads (documented and checked)."""

    name: str
    required: bool = False
    max_length: int = 128
    description: str = ""


@dataclass(frozen=True)
class Operation:
    """What ``operation`` records about one route (read back by the spec builder)."""

    method: str
    summary: str
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    headers: tuple[Header, ...] = ()
    responses: Mapping[int, type[BaseModel] | None] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    auth: bool = False
    peers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def default_status(self) -> int:
        """Return the status used when a handler returns a bare model."""
        return min(self.responses) if self.responses else 200

    def error_statuses(self, has_path_params: bool) -> list[int]:
        """Return every error status this route can answer."""
        out = set(self.errors)
        if self.body is not None or self.query is not None:
            out |= {400, 422}
        if self.headers:
            out.add(400)
        if has_path_params:
            out.add(404)
        if self.auth:
            out.add(401)
        if self.peers:
            out |= {503, 504}
        return sorted(out)


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
        return model.model_validate_json(normalized)
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
        return model.model_validate(args)
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
                kwargs["user_id"] = current_app.extensions["shoplab.authenticate"]()
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


# -- the OpenAPI document ---------------------------------------------------------------

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "request_id": {"type": "string"},
                "details": {},
            },
        }
    },
}

_HEALTH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "service"],
    "properties": {"status": {"type": "string"}, "service": {"type": "string"}},
}

_RULE_ARG = re.compile(r"<(?:[a-zA-Z_][\w]*(?:\([^)]*\))?:)?([a-zA-Z_]\w*)>")


def _openapi_path(rule: Rule) -> str:
    return _RULE_ARG.sub(lambda m: "{" + m.group(1) + "}", rule.rule)


def _param_schema(converter: Any) -> dict[str, Any]:
    kind = type(converter).__name__
    if kind == "IntegerConverter":
        schema: dict[str, Any] = {"type": "integer"}
        schema["minimum"] = converter.min if converter.min is not None else 0
        if converter.max is not None:
            schema["maximum"] = converter.max
        return schema
    if kind == "UUIDConverter":
        return {"type": "string", "format": "uuid"}
    if kind == "PathConverter":
        return {"type": "string", "minLength": 1}
    # werkzeug's string converter: one segment without "/", e.g. "[^/]{1,64}".
    schema = {"type": "string", "minLength": 1, "pattern": f"^{converter.regex}$"}
    bounds = re.fullmatch(r"\[\^/\]\{(\d+),(\d*)\}", converter.regex)
    if bounds:
        schema["minLength"] = max(1, int(bounds.group(1)))
        if bounds.group(2):
            schema["maxLength"] = int(bounds.group(2))
    return schema


def build_openapi(app: Flask, *, title: str | None = None, version: str = "1.0.0") -> dict[str, Any]:
    """Build the OpenAPI 3.1 document of ``app`` from its declared operations."""
    found: list[tuple[Rule, Operation]] = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        op = getattr(view, "__api_operation__", None)
        if op is not None:
            found.append((rule, op))

    # Collect every model once so shared sub-models become components.
    wanted: list[tuple[type[BaseModel], Any]] = []
    for _rule, op in found:
        if op.body is not None:
            wanted.append((op.body, "validation"))
        for model in op.responses.values():
            if model is not None:
                wanted.append((model, "serialization"))
    unique = list(dict.fromkeys(wanted))
    refs, defs = (
        models_json_schema(unique, ref_template="#/components/schemas/{model}") if unique else ({}, {})
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Error"] = ERROR_SCHEMA
    schemas["Health"] = _HEALTH_SCHEMA

    paths: dict[str, dict[str, Any]] = {}
    uses_auth = False
    for rule, op in sorted(found, key=lambda ro: ro[0].rule):
        params: list[dict[str, Any]] = []
        for name, conv in rule._converters.items():
            params.append({"name": name, "in": "path", "required": True, "schema": _param_schema(conv)})
        if op.query is not None:
            qschema = op.query.model_json_schema(ref_template="#/components/schemas/{model}")
            required = set(qschema.get("required", []))
            for name, prop in qschema.get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
        for h in op.headers:
            params.append(
                {
                    "name": h.name,
                    "in": "header",
                    "required": h.required,
                    "description": h.description,
                    "schema": {"type": "string", "minLength": 1, "maxLength": h.max_length},
                }
            )
        responses: dict[str, Any] = {}
        for status, model in sorted(op.responses.items()):
            entry: dict[str, Any] = {"description": _STATUS_TEXT.get(status, "OK")}
            if model is not None:
                entry["content"] = {"application/json": {"schema": refs[(model, "serialization")]}}
            responses[str(status)] = entry
        for status in op.error_statuses(bool(rule._converters)):
            responses[str(status)] = {
                "description": _STATUS_TEXT.get(status, "Error"),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        spec_op: dict[str, Any] = {
            "operationId": rule.endpoint.replace(".", "_"),
            "summary": op.summary,
            "responses": responses,
        }
        if op.tags:
            spec_op["tags"] = list(op.tags)
        if params:
            spec_op["parameters"] = params
        if op.body is not None:
            spec_op["requestBody"] = {
                "required": op.body_required,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        if op.auth:
            uses_auth = True
            spec_op["security"] = [{"bearerAuth": []}]
        paths.setdefault(_openapi_path(rule), {})[op.method.lower()] = spec_op

    health_json = {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}
    paths["/healthz"] = {
        "get": {
            "operationId": "healthz",
            "summary": "Say the process is alive.",
            "responses": {"200": {"description": "OK", "content": health_json}},
        }
    }
    paths["/readyz"] = {
        "get": {
            "operationId": "readyz",
            "summary": "Say whether the service can serve.",
            "responses": {
                "200": {"description": "Ready", "content": health_json},
                "503": {"description": "Not ready", "content": health_json},
            },
        }
    }

    components: dict[str, Any] = {"schemas": schemas}
    if uses_auth:
        components["securitySchemes"] = {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": title or app.name, "version": version},
        "paths": paths,
        "components": components,
    }


def init_app(app: Flask, *, title: str | None = None, authenticate: Callable[[], Any] | None = None) -> None:
    """Serve ``GET /openapi.json`` for ``app`` (built once, on first request).

    ``authenticate`` runs before every ``auth=True`` route: it raises Unauthorized or
    returns the caller's user id.
    """
    cache: dict[str, Any] = {}
    if authenticate is not None:
        app.extensions["shoplab.authenticate"] = authenticate

    @app.get("/openapi.json")
    def openapi_json() -> Response:
        """Return this service's OpenAPI document."""
        if "doc" not in cache:
            cache["doc"] = build_openapi(current_app, title=title)
        return jsonify(cache["doc"])
