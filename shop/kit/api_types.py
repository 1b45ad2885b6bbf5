"""Declare what a route takes and answers: API model bases, checked headers, the recorded operation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

INT_ID = "int(min=1, max=2147483647)"
MAX_ID = 2147483647


# One email rule for every service. Whitespace is spelled out: ``\s`` means different
# sets in pydantic's regex engine (Unicode, e.g. U+0085) and in the JSON Schema (ECMA)
# one the fuzzer generates from, so a published pattern must avoid it.
# Control characters (C0 and DEL, which covers tab, CR and LF) are excluded as well.
EMAIL_PATTERN = r"^[^@ \x00-\x1f\x7f]+@[^@ \x00-\x1f\x7f]+\.[^@ \x00-\x1f\x7f]+$"

# Free text ends up in logs and terminals: NUL, ESC, CR/LF or DEL there invite log and
# terminal injection. Every string a request brings is checked against this.
NO_CONTROLS_PATTERN = r"^[^\x00-\x1f\x7f]*$"
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
# parse_body / parse_query validate with this context: only request input is refused, a
# response built from stored data is never turned into a 500 by this rule.
REQUEST_INPUT = {"request_input": True}


def has_control_character(value: Any) -> bool:
    """Say whether ``value`` (a string, or a list of them) holds a control character.

    A free-form JSON object (an event's payload) is data, not text: the published schema
    cannot say "no controls anywhere inside", so it is not checked here.
    """
    if isinstance(value, str):
        return CONTROL_CHARACTER.search(value) is not None
    if isinstance(value, (list, tuple)):
        return any(has_control_character(v) for v in value if isinstance(v, (str, list, tuple)))
    return False


class _NoControls(BaseModel):
    @field_validator("*", mode="after")
    @classmethod
    def _refuse_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get("request_input") and has_control_character(value):
            raise ValueError("must not contain control characters (U+0000-U+001F, U+007F)")
        return value


class ApiModel(_NoControls):
    """Base of request and response models: strict types, unknown fields rejected, no control characters."""

    model_config = ConfigDict(strict=True, extra="forbid")


class QueryModel(_NoControls):
    """Base of query-string models: lax (query values are strings), extras ignored, no control characters."""

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
