"""Validate every action the page sends (pydantic): a clear error per field, nothing reaches a shell."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shop.kit.resilience.policy import PROFILES

__all__ = ["AppFaultForm", "FaultForm", "LabCheckForm", "LoadForm", "LoginForm", "ProfileForm", "RemoveForm",
           "ValidationError", "describe_errors"]

TOXIC_KINDS = ("latency", "reset_peer", "down", "bandwidth", "timeout")
MAX_TTL_S = 3600


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LoginForm(_Form):
    """The admin token, entered once per browser session."""

    token: str = Field(min_length=1, max_length=200)


class FaultForm(_Form):
    """A toxic (or a downed proxy) on one edge, for ``ttl_s`` seconds."""

    edge: str = Field(pattern=r"^[a-z]+__[a-z]+$")
    kind: Literal["latency", "reset_peer", "down", "bandwidth", "timeout"]
    latency_ms: int = Field(default=1000, ge=0, le=60_000)
    jitter_ms: int = Field(default=0, ge=0, le=60_000)
    rate_kbps: int = Field(default=64, ge=0, le=1_000_000)
    timeout_ms: int = Field(default=0, ge=0, le=60_000)
    toxicity: float = Field(default=1.0, ge=0.0, le=1.0)
    ttl_s: int = Field(default=300, ge=1, le=MAX_TTL_S)

    def attributes(self) -> dict[str, int]:
        """Return the toxic's attributes as ``chaos.toxiproxy.make_toxic`` takes them."""
        return {"latency": {"latency_ms": self.latency_ms, "jitter_ms": self.jitter_ms},
                "bandwidth": {"rate_kbps": self.rate_kbps},
                "timeout": {"timeout_ms": self.timeout_ms},
                "reset_peer": {"timeout_ms": self.timeout_ms}}.get(self.kind, {})


class AppFaultForm(_Form):
    """An app-level fault on one service's route, for ``ttl_s`` seconds."""

    service: str = Field(pattern=r"^[a-z]+$")
    route: str = Field(pattern=r"^/[A-Za-z0-9_/{}.-]*$", max_length=200)
    method: Literal["GET", "POST", "PUT", "DELETE", "PATCH"] | None = None
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    status: int = Field(default=503, ge=400, le=599)
    latency_ms: int = Field(default=0, ge=0, le=60_000)
    ttl_s: int = Field(default=300, ge=1, le=MAX_TTL_S)

    @field_validator("method", mode="before")
    @classmethod
    def _empty_is_any(cls, value: object) -> object:
        return None if value in ("", "any") else value


class RemoveForm(_Form):
    """Remove one fault: a toxic by name, a downed edge, or a service's app faults."""

    kind: Literal["toxic", "down", "app"]
    target: str = Field(pattern=r"^[a-z]+(__[a-z]+)?$")
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")


class ProfileForm(_Form):
    """A profile for the whole shop or some services, with ``dep.key=value`` overrides."""

    profile: str
    services: list[str] = Field(default_factory=list, max_length=20)
    overrides: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("profile")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in PROFILES:
            raise ValueError(f"unknown profile {value!r} (known: {', '.join(PROFILES)})")
        return value


class LoadForm(_Form):
    """Open-loop load: journeys started per second, for at most ``duration_s``."""

    rate_per_s: float = Field(gt=0.0, le=50.0)
    duration_s: int = Field(default=300, ge=5, le=3600)
    users: int = Field(default=20, ge=1, le=200)


class LabCheckForm(_Form):
    """Run a lab's quick check (with the learner's answer for labs that ask one)."""

    number: str = Field(pattern=r"^\d{1,2}$")
    answer: str | None = Field(default=None, pattern=r"^[a-z]+__[a-z]+$")
    quick: bool = True

    @field_validator("answer", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


def describe_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Return each field's problem as ``{"field", "message"}`` for the JSON error."""
    return [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in exc.errors()]
