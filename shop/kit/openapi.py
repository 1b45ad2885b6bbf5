"""Build a service's OpenAPI 3.1 document from the operations its routes declared."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema
from werkzeug.routing import Rule

from shop.kit.api_types import NO_CONTROLS_PATTERN, Operation

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


class InputJsonSchema(GenerateJsonSchema):
    """Publish that request strings hold no control characters (the kit refuses them)."""

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        """Return the string's schema, with the no-controls pattern when it is request input."""
        out = super().str_schema(schema)
        # Only input: a response may carry a newline (an email body), and the rule is on input.
        if self.mode == "validation" and "pattern" not in out:
            out["pattern"] = NO_CONTROLS_PATTERN
        return out


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


def build_openapi(
    app: Flask,
    *,
    title: str | None = None,
    version: str = "1.0.0",
    blueprint: str | None = None,
    deprecated: bool = False,
) -> dict[str, Any]:
    """Build the OpenAPI 3.1 document of ``app`` from its declared operations.

    ``blueprint`` keeps only the operations registered under that blueprint name (one API
    version when a blueprint is registered once per version); ``deprecated`` marks each.
    """
    found: list[tuple[Rule, Operation]] = []
    for rule in app.url_map.iter_rules():
        if blueprint is not None and rule.endpoint.rpartition(".")[0] != blueprint:
            continue
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
        models_json_schema(unique, ref_template="#/components/schemas/{model}", schema_generator=InputJsonSchema) if unique else ({}, {})
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
            qschema = op.query.model_json_schema(
                ref_template="#/components/schemas/{model}", schema_generator=InputJsonSchema
            )
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
                    "schema": {"type": "string", "minLength": 1, "maxLength": h.max_length,
                               "pattern": NO_CONTROLS_PATTERN},
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
        if deprecated:
            spec_op["deprecated"] = True
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
