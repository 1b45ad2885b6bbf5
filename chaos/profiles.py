"""Switch the whole shop's resilience profile: parse overrides, build each service's request, send them.

An override ``catalog.read_timeout_s=0.3`` goes to every service that calls catalog.
Values are JSON-ish: numbers, ``true``/``false``, ``null`` (switches a mechanism off).
``shoplab profile`` and the labs both switch profiles through this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.errors import ChaosError
from shop.kit.errors import ValidationFailed
from shop.kit.resilience.policy import parse_value
from shop.topology import Topology

Override = tuple[str, str, Any]
"""One override: (dependency, key, validated value)."""


class ProfileInvalid(ChaosError):
    """An override or a profile request cannot be sent; the message says which and why."""


def parse_override(raw: str) -> Override:
    """Parse ``dep.key=value`` into (dependency, key, validated value); raise ProfileInvalid."""
    target, sep, text = raw.partition("=")
    dep, dot, key = target.strip().partition(".")
    if not sep or not dot or not dep or not key:
        raise ProfileInvalid(f"{raw!r} is not dependency.key=value (e.g. catalog.read_timeout_s=0.3)")
    lowered = text.strip().lower()
    value: Any
    if lowered in ("null", "none", "off"):
        value = None
    elif lowered in ("true", "false"):
        value = lowered == "true"
    else:
        try:
            value = int(text) if text.strip().lstrip("-").isdigit() else float(text)
        except ValueError:
            raise ProfileInvalid(f"{raw!r}: {text!r} is not a number, true/false or null") from None
    try:
        return dep, key, parse_value(key, value)
    except ValidationFailed as exc:
        raise ProfileInvalid(f"{raw!r}: {exc.message}") from None


def format_override(override: Override) -> str:
    """Return ``dep.key=value`` as ``parse_override`` reads it (``true``/``false``/``null``)."""
    dep, key, value = override
    text = "null" if value is None else str(value).lower() if isinstance(value, bool) else f"{value:g}"
    return f"{dep}.{key}={text}"


def build_requests(
    topology: Topology, profile: str, overrides: Iterable[Override], services: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Return the ``PUT /admin/resilience`` body for each service; an override reaches every caller of its dependency."""
    chosen = list(services)
    bodies: dict[str, dict[str, Any]] = {s: {"profile": profile, "overrides": {}} for s in chosen}
    for dep, key, value in overrides:
        callers = [s for s in chosen if dep in topology.service(s).calls]
        if not callers:
            raise ProfileInvalid(f"no selected service calls {dep!r}: the override {dep}.{key} would do nothing")
        for service in callers:
            bodies[service]["overrides"].setdefault(dep, {})[key] = value
    return bodies


@dataclass(frozen=True)
class ProfileAnswer:
    """What one service answered: its profile and overrides, or the problem that stopped it."""

    service: str
    profile: str = "-"
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Say whether the service answered 200."""
        return self.problem is None


def send_profile_requests(
    topology: Topology, headers: Mapping[str, str], bodies: Mapping[str, dict[str, Any] | None]
) -> list[ProfileAnswer]:
    """PUT each body (GET where it is None) to the service's admin API; return every answer, failures included."""
    answers = []
    with httpx.Client(headers=dict(headers), timeout=5.0) as http:
        for service, body in bodies.items():
            url = topology.service_url(service) + "/admin/resilience"
            try:
                resp = http.get(url) if body is None else http.put(url, json=body)
            except httpx.HTTPError as exc:
                answers.append(ProfileAnswer(service, problem=f"unreachable: {exc!r}"))
                continue
            if resp.status_code != 200:
                answers.append(ProfileAnswer(service, problem=f"{resp.status_code}: {resp.text[:200]}"))
                continue
            data = resp.json()
            answers.append(ProfileAnswer(service, data.get("profile", "?"), data.get("overrides", {})))
    return answers
