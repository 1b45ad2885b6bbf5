"""Describe the experiment file as pydantic models and build the experiment from a valid one.

Each model mirrors one mapping of the YAML and refuses unknown keys. Checks that need
the topology read it from the validation context (``{"topology": Topology}``); checks
that span keys run after the fields. ``chaos.validation`` turns pydantic's first error
into one line that names the key path, e.g. ``phases[1].faults[0].toxicity: expected a
number within 0..1, got 1.5``; ``chaos.experiment`` raises it as ``ExperimentInvalid``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    AllowInfNan,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from chaos.fault_docs import FaultDoc, check_choice, edge_names, merge_app_faults, topology_of
from chaos.model import (
    BOOLEAN_PROBES,
    BROKER_PROBES,
    EDGE_PROBES,
    LATENCY_PROBES,
    LOAD_SHAPES,
    Experiment,
    Guard,
    LoadSettings,
    Phase,
    Probe,
    ProbeKind,
    QuickSettings,
    Tolerance,
)
from chaos.profiles import ProfileInvalid, build_requests, parse_override
from chaos.validation import (
    Doc,
    Ratio,
    Seconds,
    Text,
    bounded,
    describe_value,
    nested_error,
    one_of,
    refuse,
)
from shop.kit.resilience.policy import PROFILES


class PhaseDoc(Doc):
    """``{name, duration_s, faults?}``."""

    name: Text
    duration_s: Annotated[float, Strict(), bounded("a number", 1.0, 3600.0)]
    faults: list[FaultDoc] = Field(default_factory=list)

    def to_phase(self) -> Phase:
        """Return the phase, its app faults merged per service."""
        return Phase(self.name, self.duration_s, merge_app_faults([f.to_fault() for f in self.faults]))


class ToleranceDoc(Doc):
    """``{min?, max?}``: at least one, and min <= max."""

    min: Annotated[float, Strict()] | None = None
    max: Annotated[float, Strict()] | None = None

    @model_validator(mode="after")
    def _a_sensible_range(self) -> ToleranceDoc:
        if self.min is None and self.max is None:
            raise refuse("expected min and/or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise refuse(f"expected min <= max, got {self.min:g} > {self.max:g}")
        return self


_RECOVERY_PROBES = {ProbeKind.TIME_TO_RECOVER_S, ProbeKind.DEGRADED_FOR_S}
_JOURNEY_PROBES = (ProbeKind.SUCCESS_RATIO, ProbeKind.DEGRADED_RATIO, *LATENCY_PROBES)


class ProbeDoc(Doc):
    """One probe of the hypothesis; which keys it takes depends on ``probe``."""

    probe: Annotated[Text, one_of(tuple(k.value for k in ProbeKind))]
    phase: Text | None = None
    journey: Text | None = None
    edge: Text | None = None
    request: Text | None = None
    aggregate: Annotated[Text, one_of(("median", "max", "mean"))] | None = None
    threshold: Ratio | None = None
    tolerance: Any = Field(default=None, validate_default=False)
    title: Text = ""
    min_samples: Annotated[int, Strict(), bounded("an integer", 1, None)] | None = None
    # Only these profiles are judged by the probe (e.g. the unprotected shop's expected failure).
    profiles: list[Annotated[Text, one_of(tuple(PROFILES))]] | None = None

    @field_validator("edge")
    @classmethod
    def _known_edge(cls, value: str | None, info: ValidationInfo) -> str | None:
        # `*__<service>`: every edge into that service together (retry amplification only).
        names = edge_names(info)
        return check_choice(value, names + tuple(sorted({"*__" + n.split("__", 1)[1] for n in names})))

    @model_validator(mode="after")
    def _keys_fit_the_probe(self) -> ProbeDoc:
        kind = ProbeKind(self.probe)
        for key in ("journey", "request"):
            # a recovery probe may follow one journey's per-second success (a checkout SLO)
            scoped = _JOURNEY_PROBES + tuple(_RECOVERY_PROBES) if key == "journey" else _JOURNEY_PROBES
            if getattr(self, key) is not None and kind not in scoped:
                raise refuse(f"is not used by probe {kind.value}", key)
        if self.journey is not None and self.request is not None:
            raise refuse("takes a journey or a request, not both", "request")
        if self.request is not None and len(self.request.split(" ", 1)) != 2:
            raise refuse(f"expected 'METHOD /route' (e.g. 'GET /api/v1/products'), got {self.request!r}", "request")
        if kind in EDGE_PROBES and self.edge is None:
            raise refuse("is required", "edge")
        if (self.edge or "").startswith("*") and kind is not ProbeKind.RETRY_AMPLIFICATION:
            raise refuse(f"every edge into a service ({self.edge}) is for retry_amplification only", "edge")
        for key, used in (("edge", EDGE_PROBES), ("aggregate", LATENCY_PROBES),
                          ("threshold", _RECOVERY_PROBES)):
            if getattr(self, key) is not None and kind not in used:
                raise refuse(f"is not used by probe {kind.value}", key)
        if self.min_samples is not None and kind not in _JOURNEY_PROBES:
            raise refuse(f"is not used by probe {kind.value}", "min_samples")
        if kind in _RECOVERY_PROBES and self.phase is None:
            raise refuse(f"is required for {kind.value} (the fault phase to recover from)", "phase")
        if "tolerance" not in self.model_fields_set:
            raise refuse("is required", "tolerance")
        if kind in BOOLEAN_PROBES and not isinstance(self.tolerance, bool):
            raise refuse(f"expected true or false for probe {kind.value}, got {describe_value(self.tolerance)}",
                         "tolerance")
        if kind not in BOOLEAN_PROBES:
            tolerance = self.tolerance_range()
            if kind == ProbeKind.DEGRADED_FOR_S and tolerance.max is not None:
                # a shop that never recovered has only a lower bound, which cannot show "at most"
                raise refuse("expected only min for degraded_for_s (use time_to_recover_s for a max)", "tolerance")
        return self

    def tolerance_range(self) -> ToleranceDoc:
        """Return the validated ``{min, max}`` tolerance of a numeric probe."""
        try:
            return ToleranceDoc.model_validate(self.tolerance)
        except ValidationError as exc:
            raise nested_error(exc, "tolerance") from None

    def to_probe(self) -> Probe:
        """Return the probe this mapping describes."""
        kind = ProbeKind(self.probe)
        if kind in BOOLEAN_PROBES:
            tolerance = Tolerance(equals=bool(self.tolerance))
        else:
            t = self.tolerance_range()
            tolerance = Tolerance(min=t.min, max=t.max)
        return Probe(kind, tolerance, phase=self.phase, journey=self.journey, edge=self.edge, request=self.request,
                     aggregate=self.aggregate or "median",
                     threshold=0.95 if self.threshold is None else self.threshold, title=self.title,
                     min_samples=self.min_samples or 1, profiles=tuple(self.profiles or ()))


# Guards read the last seconds while faults are on: no phase, no recovery, no audit (that runs after).
GUARD_PROBES = tuple(k for k in ProbeKind if k not in (*_RECOVERY_PROBES, ProbeKind.AUDIT_CLEAN,
                                                        *BROKER_PROBES))


class GuardDoc(ProbeDoc):
    """One ``abort_if`` guard: a hypothesis probe plus ``window_s``; the run aborts when it leaves its tolerance."""

    window_s: Annotated[float, Strict(), bounded("a number", 1.0, 600.0)] = 5.0

    @model_validator(mode="after")
    def _a_live_probe(self) -> GuardDoc:
        if ProbeKind(self.probe) not in GUARD_PROBES:
            raise refuse(f"expected one of {', '.join(k.value for k in GUARD_PROBES)} in a guard, got {self.probe!r}",
                         "probe")
        if self.phase is not None:
            raise refuse("is not used by a guard (it watches every phase with faults)", "phase")
        if self.profiles is not None:
            raise refuse("is not used by a guard (it watches every profile)", "profiles")
        return self

    def to_guard(self) -> Guard:
        """Return the guard this mapping describes."""
        return Guard(self.to_probe(), self.window_s)


class LoadDoc(Doc):
    """``{shape?, users?, spawn_rate?, rate?, decline_share?, order_timeout_s?}``: ``rate`` (journeys/s) makes it open
    loop, ``users`` its concurrency."""

    shape: Annotated[Text, one_of(LOAD_SHAPES)] = "steady"
    users: Annotated[int, Strict(), bounded("an integer", 1, 200)] = 6
    spawn_rate: Annotated[float, Strict(), bounded("a number", 0.1, None)] = 6.0
    rate: Annotated[float, bounded("a number", 0.1, 500.0)] | None = None
    # share of checkouts paying with the payment simulator's declining card (loadtests.cards)
    decline_share: Annotated[float, AllowInfNan(False), bounded("a number", 0.0, 1.0)] = 0.0
    # a checkout's patience: seconds it waits for its order to settle before the journey fails
    order_timeout_s: Annotated[float, AllowInfNan(False), bounded("a number", 1.0, 300.0)] = 30.0


class QuickDoc(Doc):
    """``{phase_scale?, min_phase_s?}``: how ``--quick`` shortens the phases."""

    phase_scale: Annotated[float, Strict(), bounded("a number", 0.01, 1.0)] = 0.3
    min_phase_s: Annotated[float, Strict(), bounded("a number", 1.0, None)] = 5.0


class ExperimentDoc(Doc):
    """The whole experiment file (see ``chaos.experiment`` for an example)."""

    name: Text | None = None
    title: Text
    description: Text = ""
    seed: Annotated[int, Strict()] = 0
    settle_s: Seconds = 3.0
    profiles: list[Annotated[Text, one_of(tuple(PROFILES))]]
    must_hold: list[Any] | None = None
    load: LoadDoc = Field(default_factory=LoadDoc)
    quick: QuickDoc = Field(default_factory=QuickDoc)
    phases: list[PhaseDoc]
    hypothesis: list[ProbeDoc] = Field(default_factory=list)
    abort_if: list[GuardDoc] = Field(default_factory=list)
    # profile -> ["dependency.key=value", ...]: policy overrides switched on with that profile
    overrides: dict[str, list[Text]] = Field(default_factory=dict)

    @field_validator("overrides")
    @classmethod
    def _overrides_that_do_something(cls, value: dict[str, list[str]], info: ValidationInfo) -> dict[str, list[str]]:
        topology = topology_of(info)
        for profile, raws in value.items():
            for i, raw in enumerate(raws):
                try:  # a valid dependency.key=value that some service's calls would actually use
                    build_requests(topology, profile, [parse_override(raw)], topology.service_names)
                except ProfileInvalid as exc:
                    raise refuse(str(exc), f"{profile}[{i}]") from None
        return value

    @model_validator(mode="after")
    def _parts_fit_together(self) -> ExperimentDoc:
        if not self.profiles:
            raise refuse(f"expected at least one of {', '.join(PROFILES)}", "profiles")
        if len(set(self.profiles)) != len(self.profiles):
            raise refuse("expected each profile once", "profiles")
        for i, p in enumerate(self.must_hold or ()):
            if p not in self.profiles:
                raise refuse(f"expected one of the experiment's profiles ({', '.join(self.profiles)}), got {p!r}",
                             f"must_hold[{i}]")
        if not self.phases:
            raise refuse("expected at least one phase", "phases")
        seen: set[str] = set()
        for i, phase in enumerate(self.phases):
            if phase.name in seen:
                raise refuse(f"expected a unique phase name, {phase.name!r} is used twice", f"phases[{i}].name")
            seen.add(phase.name)
        names = tuple(p.name for p in self.phases)
        for i, probe in enumerate(self.hypothesis):
            if probe.phase is not None and probe.phase not in names:
                raise refuse(f"expected one of {', '.join(names)}, got {probe.phase!r}", f"hypothesis[{i}].phase")
            for j, p in enumerate(probe.profiles or ()):
                if p not in self.profiles:
                    raise refuse(f"expected one of the experiment's profiles ({', '.join(self.profiles)}), got {p!r}",
                                 f"hypothesis[{i}].profiles[{j}]")
        for profile in self.overrides:
            if profile not in self.profiles:
                raise refuse(f"expected one of the experiment's profiles ({', '.join(self.profiles)}), got {profile!r}",
                             f"overrides.{profile}")
        return self

    def to_experiment(self, *, source: str, name: str | None, raw: Mapping[str, Any]) -> Experiment:
        """Return the experiment this file describes."""
        profiles = tuple(self.profiles)
        return Experiment(
            name=self.name or name or "experiment", title=self.title, description=self.description.strip(),
            profiles=profiles, must_hold=profiles if self.must_hold is None else tuple(self.must_hold),
            load=LoadSettings(shape=self.load.shape, users=self.load.users, spawn_rate=self.load.spawn_rate,
                              rate_per_s=self.load.rate, decline_share=self.load.decline_share,
                              order_timeout_s=self.load.order_timeout_s),
            phases=tuple(p.to_phase() for p in self.phases),
            hypothesis=tuple(h.to_probe() for h in self.hypothesis),
            seed=self.seed, settle_s=self.settle_s,
            quick=QuickSettings(phase_scale=self.quick.phase_scale, min_phase_s=self.quick.min_phase_s),
            source=source, abort_if=tuple(g.to_guard() for g in self.abort_if), raw=dict(raw),
            overrides={p: tuple(parse_override(r) for r in raws) for p, raws in self.overrides.items()},
        )


