"""Declare what a route takes and answers: API model bases, checked headers, the recorded operation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

INT_ID = "int(min=1, max=2147483647)"
MAX_ID = 2147483647


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
