"""Describe ``lab.yaml`` and ``solution.yaml`` as pydantic models and build the lab's parts from them.

The standing faults use the chaos experiment's own fault models, the overrides the
kit's own policy validation (``parse_value``), so a lab can hold nothing the chaos
runner or the services would refuse. Messages name the key as ``chaos.validation``
says them, e.g. ``start.overrides.cart.read_timeout: unknown policy key``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from chaos.schema import FaultDoc, merge_app_faults
from chaos.validation import Doc, Positive, Text, describe_value, one_of, refuse
from labs.lab import FaultSpec, Measure, Settings, Target
from shop.kit.errors import ValidationFailed
from shop.kit.resilience.policy import PROFILES, parse_value
from shop.topology import DEFAULT as DEFAULT_TOPOLOGY
from shop.topology import Topology

USER_CLASSES = ("BrowsingShopper", "BuyingShopper")
_ROUTE_MEASURES = (Measure.ROUTE_P50_MS, Measure.ROUTE_P95_MS, Measure.ROUTE_FAIL_RATIO)


def _topology(info: ValidationInfo) -> Topology:
    context = info.context if isinstance(info.context, Mapping) else {}
    topology: Topology = context.get("topology", DEFAULT_TOPOLOGY)
    return topology


class SettingsDoc(Doc):
    """``{profile?, overrides?}``: a live configuration (every key of an override is a policy key)."""

    profile: Annotated[Text, one_of(tuple(PROFILES))] = "resilient"
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("overrides", mode="before")
    @classmethod
    def _policy_keys_of_called_services(cls, raw: Any, info: ValidationInfo) -> dict[str, dict[str, Any]]:
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            raise refuse(f"expected dependency -> {{key: value}}, got {describe_value(raw)}")
        callees = {callee for s in _topology(info).services for callee in s.calls}
        overrides: dict[str, dict[str, Any]] = {}
        for dep, values in raw.items():
            if dep not in callees:
                raise refuse(f"no service calls {dep!r} (dependencies: {', '.join(sorted(callees))})", str(dep))
            if not isinstance(values, Mapping) or not values:
                raise refuse("expected a mapping of policy key -> value", str(dep))
            for key, value in values.items():
                try:
                    overrides.setdefault(dep, {})[key] = parse_value(key, value)
                except ValidationFailed as exc:
                    raise refuse(exc.message, f"{dep}.{key}") from None
        return overrides

    def to_settings(self) -> Settings:
        """Return the live configuration."""
        return Settings(self.profile, self.overrides)


class StartDoc(SettingsDoc):
    """``start``: the live configuration plus standing faults (chaos fault mappings)."""

    faults: list[FaultDoc] | None = None

    def to_faults(self) -> tuple[FaultSpec, ...]:
        """Return the standing faults, app faults merged per service as in an experiment's phase."""
        return merge_app_faults([f.to_fault() for f in self.faults or ()])


class SolutionDoc(SettingsDoc):
    """``solution.yaml``: what a trainer applies, with the answer of lab 01."""

    answer: Any = None  # compared with the check's expected answer, whatever its type
    explanation: Any = ""


class TargetDoc(Doc):
    """One target: ``{measure, route | journey, min?, max?}`` or ``{measure: answer, expected}``."""

    measure: Annotated[Text, one_of(tuple(m.value for m in Measure))]
    route: Text | None = None
    journey: Text | None = None
    min: Annotated[float, Field(strict=True)] | None = None
    max: Annotated[float, Field(strict=True)] | None = None
    expected: Text | None = None

    @model_validator(mode="after")
    def _keys_fit_the_measure(self, info: ValidationInfo) -> TargetDoc:
        measure = Measure(self.measure)
        if measure is Measure.ANSWER:
            edges = [e.proxy_name for e in _topology(info).edges]
            if self.expected is None:
                raise refuse("expected a non-empty string, got nothing", "expected")
            if self.expected.strip() not in edges:
                raise refuse(f"expected an edge ({', '.join(edges)}), got {self.expected!r}", "expected")
            return self
        if measure in _ROUTE_MEASURES:
            if self.route is None:
                raise refuse("expected a non-empty string, got nothing", "route")
            if " " not in self.route:
                raise refuse(f"expected 'METHOD /name' as Locust names it, got {self.route!r}", "route")
        elif self.journey is None:
            raise refuse("expected a non-empty string, got nothing", "journey")
        if self.min is None and self.max is None:
            raise refuse("expected min and/or max")
        return self

    def to_target(self) -> Target:
        """Return the target, keeping only the keys its measure uses."""
        measure = Measure(self.measure)
        if measure is Measure.ANSWER:
            return Target(measure, expected=(self.expected or "").strip())
        route = self.route.strip() if measure in _ROUTE_MEASURES and self.route else None
        journey = self.journey.strip() if measure not in _ROUTE_MEASURES and self.journey else None
        return Target(measure, route=route, journey=journey, min=self.min, max=self.max)


class CheckLoadDoc(Doc):
    """``check.load``: extra knobs for the check's load."""

    buyer_mix: Text | None = None
    think_scale: Positive | None = None
    user_classes: list[Annotated[Text, one_of(USER_CLASSES)]] | None = None
    order_timeout_s: Positive | None = None

    @field_validator("user_classes")
    @classmethod
    def _at_least_one_class(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise refuse(f"expected a list of {', '.join(USER_CLASSES)}")
        return value

    def to_load(self) -> dict[str, Any]:
        """Return the knobs that were given, as the runner takes them."""
        load: dict[str, Any] = {}
        if self.buyer_mix is not None:
            load["buyer_mix"] = self.buyer_mix.strip()
        for key in ("think_scale", "order_timeout_s"):
            if getattr(self, key) is not None:
                load[key] = float(getattr(self, key))
        if self.user_classes is not None:
            load["user_classes"] = tuple(self.user_classes)
        return load


class CheckDoc(Doc):
    """``check``: the experiment file, load knobs and targets."""

    experiment: Text
    load: CheckLoadDoc | None = None
    targets: list[TargetDoc] | None = None


class LabDoc(Doc):
    """The whole ``lab.yaml`` (see ``labs.model`` for an example)."""

    title: Text
    summary: Text
    task: Text
    start: StartDoc | None = None
    check: CheckDoc
    hints: list[Text]

    @field_validator("hints")
    @classmethod
    def _at_least_one_hint(cls, value: list[str]) -> list[str]:
        if not value:
            raise refuse("expected a non-empty list of strings")
        return value
