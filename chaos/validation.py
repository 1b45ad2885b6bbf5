"""Validate YAML documents with pydantic and say the first problem as ``<key path>: <what was expected>``.

Shared by the experiment file (``chaos.schema``) and the lab files (``labs.model``):
a ``Doc`` base that refuses unknown keys naming the known ones, value types whose
messages quote the value as written (``expected a number within 0..1, got 1.5``), and
``describe_error``, which turns pydantic's first error into one line naming the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Strict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from shop.topology import Topology

FAULT_KINDS = ("toxic", "down", "app", "process")  # the tags of the fault union, no keys of the file
_OURS = "shoplab"  # the error type of every message written here


# -- messages ---------------------------------------------------------------------------------
def describe_value(value: Any) -> str:
    """Say what a YAML value is, for a message: ``str 'ten'``, ``a mapping``, ``nothing``."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def refuse(message: str, at: str = "") -> PydanticCustomError:
    """Return a validation error with our message; ``at`` names a key below the one validated."""
    return PydanticCustomError(_OURS, "{message}", {"message": message, "at": at})


_EXPECTED = {
    "float_type": "expected a number", "float_parsing": "expected a number", "finite_number": "expected a number",
    "int_type": "expected an integer", "int_from_float": "expected an integer", "int_parsing": "expected an integer",
    "string_type": "expected a non-empty string", "bool_type": "expected true or false",
    "list_type": "expected a list", "dict_type": "expected a mapping", "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
}


def key_path(loc: tuple[int | str, ...]) -> str:
    """Return a pydantic location as the YAML key path, e.g. ``phases[1].faults[0].edge``."""
    text = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif i >= 2 and loc[i - 2] == "faults" and isinstance(loc[i - 1], int) and part in FAULT_KINDS:
            continue  # the tag pydantic adds for the fault union is no key of the file
        else:
            text += f".{part}" if text else part
    return text


def describe_error(error: ErrorDetails) -> str:
    """Return one pydantic error as ``<key path>: <what was expected>``."""
    loc = tuple(error["loc"])
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == _OURS:
        message = str(ctx["message"])
        loc += tuple(p for p in str(ctx.get("at") or "").split(".") if p)
    elif kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "unknown key"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        loc += ("kind",)
        message = f"expected one of {', '.join(FAULT_KINDS)}, got {describe_value(ctx.get('tag'))}"
    elif kind in _EXPECTED:
        message = f"{_EXPECTED[kind]}, got {describe_value(error.get('input'))}"
    else:
        message = error["msg"]
    return f"{key_path(loc) or '(top level)'}: {message}"


def nested_error(exc: ValidationError, at: str) -> PydanticCustomError:
    """Re-raise the first error of a nested validation under the key ``at``."""
    first = exc.errors()[0]
    return refuse(describe_error(first).split(": ", 1)[1], ".".join(filter(None, (at, key_path(first["loc"])))))


# -- value types -------------------------------------------------------------------------------
def bounded(want: str, low: float | None, high: float | None) -> WrapValidator:
    """Check the type first, then the bounds, quoting the value as written in the file."""

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        checked = handler(value)
        if (low is not None and checked < low) or (high is not None and checked > high):
            if low is not None and high is not None:
                bounds = f"within {low:g}..{high:g}"
            else:
                bounds = f">= {low:g}" if low is not None else f"<= {high:g}"
            raise refuse(f"expected {want} {bounds}, got {value!r}")
        return checked

    return WrapValidator(check)


def _non_blank(value: str) -> str:
    if not value.strip():
        raise refuse(f"expected a non-empty string, got {describe_value(value)}")
    return value


def one_of(choices: tuple[str, ...]) -> AfterValidator:
    """Refuse a value outside ``choices``, naming them."""

    def check(value: str) -> str:
        if value not in choices:
            raise refuse(f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    return AfterValidator(check)


def _positive(value: float) -> float:
    if value <= 0:
        raise refuse(f"expected a positive number, got {value!r}")
    return value


Text = Annotated[str, Strict(), AfterValidator(_non_blank)]
Positive = Annotated[float, Strict(), AfterValidator(_positive)]
Ratio = Annotated[float, Strict(), bounded("a number", 0.0, 1.0)]
Count = Annotated[int, Strict(), bounded("an integer", 0, None)]
Seconds = Annotated[float, Strict(), bounded("a number", 0.0, None)]


# -- the file's mappings -------------------------------------------------------------------------
class Doc(BaseModel):
    """One mapping of a YAML file: frozen, and an unknown key is refused naming the known ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            known = tuple(cls.model_fields)
            for key in data:
                if key not in known:
                    raise refuse(f"unknown key (expected one of {', '.join(sorted(known))})", str(key))
        return data


def validate(model: type[BaseModel], data: Any, *, topology: Topology,
             on_error: Callable[[str], Exception]) -> Any:
    """Validate ``data`` against ``model``; raise ``on_error(<key path>: <message>)`` for the first error."""
    try:
        return model.model_validate(data, context={"topology": topology})
    except ValidationError as exc:
        raise on_error(describe_error(exc.errors()[0])) from None
