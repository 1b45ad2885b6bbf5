"""Load a lab folder (``labs/NN-slug/``) into frozen dataclasses, refusing a bad one up front.

A lab folder holds ``README.md``, ``lab.yaml``, the check experiment and
``solution.yaml``. Every problem is a ``LabInvalid`` naming the file and key, e.g.
``labs/02-timeouts/lab.yaml: start.overrides.cart.read_timeout_s: must be > 0``.
``lab.yaml`` by example::

    title: Timeouts that stop a slow dependency from exhausting the gateway
    summary: one line for `shoplab lab list`
    task: |
      What the learner is asked to do (printed by `shoplab lab start`).
    start:                                 # the starting state `start` puts the shop in
      profile: naive
      overrides: {cart: {read_timeout_s: 30}}   # dependency -> policy key -> value (every caller)
      faults:                              # standing faults: chaos fault specs, kept during the check
        - {kind: toxic, edge: gateway__cart, type: latency, attributes: {latency_ms: 4000}}
    check:
      experiment: check.yaml               # a chaos experiment (its `profiles` key is not used)
      load: {buyer_mix: "cart=1", think_scale: 1.0, user_classes: [BuyingShopper]}
      targets:                             # measured from Locust's summary of the check's load
        - {measure: route_p95_ms, route: "GET /api/products/[id]", max: 800}
        - {measure: journey_p95_ms, journey: browse, max: 1500}
        - {measure: answer, expected: cart__catalog}     # lab 01: the learner's answer
    hints: ["first hint", "second hint"]

``solution.yaml``: ``{profile, overrides, answer?, explanation}``: the live configuration
a trainer applies (``shoplab lab solution NN``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from chaos.errors import ExperimentInvalid
from chaos.experiment import Experiment, FaultSpec, parse_experiment
from shop.kit.errors import ValidationFailed
from shop.kit.resilience.policy import PROFILES, parse_value
from shop.topology import DEFAULT as DEFAULT_TOPOLOGY
from shop.topology import Topology

LABS_DIR = Path(__file__).resolve().parent
LAB_DIR_RE = re.compile(r"^(\d{2})-[a-z0-9-]+$")
# The check measures the live settings: the experiment's profile is only a label.
LIVE_PROFILE = "live"
LOAD_KEYS = ("buyer_mix", "think_scale", "user_classes", "order_timeout_s")
USER_CLASSES = ("BrowsingShopper", "BuyingShopper")


class LabInvalid(ValueError):
    """A lab folder or file is malformed; the message names the file and the key."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


class Measure(enum.StrEnum):
    """What a lab target measures, beyond the experiment's own probes."""

    ROUTE_P95_MS = "route_p95_ms"  # a route's p95 over the check's load (Locust summary)
    ROUTE_FAIL_RATIO = "route_fail_ratio"
    JOURNEY_P95_MS = "journey_p95_ms"  # a journey's p95 of completed runs
    JOURNEY_SUCCESS_RATIO = "journey_success_ratio"  # (success + degraded) / all of one journey
    ANSWER = "answer"  # the learner's answer equals ``expected``


@dataclass(frozen=True)
class Target:
    """One lab target: a measure of the check's load against [min, max] (or an expected answer)."""

    measure: Measure
    route: str | None = None
    journey: str | None = None
    min: float | None = None
    max: float | None = None
    expected: str | None = None

    @property
    def label(self) -> str:
        """Return a short label, e.g. ``route_p95_ms[GET /api/cart]``."""
        subject = self.route or self.journey
        return self.measure.value + (f"[{subject}]" if subject else "")

    def describe(self) -> str:
        """Say the target in a few characters, e.g. ``<= 800``."""
        if self.measure is Measure.ANSWER:
            return "the slow edge"
        if self.min is not None and self.max is not None:
            return f"{self.min:g} .. {self.max:g}"
        return f">= {self.min:g}" if self.min is not None else f"<= {self.max:g}"

    def is_met(self, value: float | str | None) -> bool:
        """Return whether ``value`` meets the target (no value never does)."""
        if value is None:
            return False
        if self.measure is Measure.ANSWER:
            return str(value) == self.expected
        v = float(value)
        if self.min is not None and v < self.min:
            return False
        return not (self.max is not None and v > self.max)


@dataclass(frozen=True)
class Settings:
    """A live resilience configuration: a profile and per-dependency overrides (every caller)."""

    profile: str = "resilient"
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def override_args(self) -> list[str]:
        """Return the overrides as ``shoplab profile`` arguments (``--override dep.key=value``)."""
        args = []
        for dep, values in sorted(self.overrides.items()):
            for key, value in sorted(values.items()):
                text = "null" if value is None else (str(value).lower() if isinstance(value, bool) else f"{value:g}")
                args.append(f"--override {dep}.{key}={text}")
        return args

    def command(self) -> str:
        """Return the ``shoplab profile`` command that sets this configuration."""
        return " ".join(["shoplab profile", self.profile, *self.override_args()])


@dataclass(frozen=True)
class CheckSpec:
    """How ``shoplab lab check`` measures: the experiment, extra load knobs and the lab targets."""

    experiment: Experiment
    experiment_path: Path
    load: Mapping[str, Any] = field(default_factory=dict)
    targets: tuple[Target, ...] = ()

    @property
    def needs_answer(self) -> bool:
        """Say whether the check compares an answer (lab 01)."""
        return any(t.measure is Measure.ANSWER for t in self.targets)

    @property
    def expected_answer(self) -> str | None:
        """Return the expected answer, if the check has one."""
        return next((t.expected for t in self.targets if t.measure is Measure.ANSWER), None)


@dataclass(frozen=True)
class Solution:
    """What a trainer applies: the live configuration (and lab 01's answer)."""

    settings: Settings
    explanation: str = ""
    answer: str | None = None


@dataclass(frozen=True)
class Lab:
    """One guided lab: story and task, starting state, check, hints and solution."""

    number: str
    slug: str
    path: Path
    title: str
    summary: str
    task: str
    start: Settings
    faults: tuple[FaultSpec, ...]
    fault_specs: tuple[Mapping[str, Any], ...]
    check: CheckSpec
    hints: tuple[str, ...]
    solution: Solution

    @property
    def name(self) -> str:
        """Return the folder name, e.g. ``02-timeouts``."""
        return self.path.name

    @property
    def readme(self) -> Path:
        """Return the README path."""
        return self.path / "README.md"

    def quick_experiment(self) -> Experiment:
        """Return the check experiment with ``--quick`` durations."""
        return self.check.experiment.quickened()


# -- validation -------------------------------------------------------------------------------
def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _mapping(source: str, data: Any, key: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise LabInvalid(source, f"{key or '(top level)'}: expected a mapping, got {_kind(data)}")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        where = f"{key}.{unknown[0]}" if key else unknown[0]
        raise LabInvalid(source, f"{where}: unknown key (expected one of {', '.join(allowed)})")
    return data


def _text(source: str, data: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise LabInvalid(source, f"{path}: expected a non-empty string, got {_kind(value)}")
    return value.strip()


def parse_settings(source: str, data: Any, path: str, topology: Topology = DEFAULT_TOPOLOGY) -> Settings:
    """Validate ``{profile, overrides}``; every key of an override must be a policy key."""
    m = _mapping(source, data, path, ("profile", "overrides", "faults", "answer", "explanation"))
    profile = m.get("profile", "resilient")
    if profile not in PROFILES:
        raise LabInvalid(source, f"{path}.profile: expected one of {', '.join(PROFILES)}, got {profile!r}")
    raw = m.get("overrides") or {}
    if not isinstance(raw, Mapping):
        raise LabInvalid(source, f"{path}.overrides: expected dependency -> {{key: value}}, got {_kind(raw)}")
    callees = {callee for s in topology.services for callee in s.calls}
    overrides: dict[str, dict[str, Any]] = {}
    for dep, values in raw.items():
        if dep not in callees:
            raise LabInvalid(source, f"{path}.overrides.{dep}: no service calls {dep!r} "
                                     f"(dependencies: {', '.join(sorted(callees))})")
        if not isinstance(values, Mapping) or not values:
            raise LabInvalid(source, f"{path}.overrides.{dep}: expected a mapping of policy key -> value")
        for key, value in values.items():
            try:
                overrides.setdefault(dep, {})[key] = parse_value(key, value)
            except ValidationFailed as exc:
                raise LabInvalid(source, f"{path}.overrides.{dep}.{key}: {exc.message}") from None
    return Settings(profile, overrides)


def parse_faults(source: str, raw: Any, path: str, topology: Topology = DEFAULT_TOPOLOGY) -> tuple[FaultSpec, ...]:
    """Validate standing faults with the chaos schema (one phase holding them)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise LabInvalid(source, f"{path}: expected a list of faults, got {_kind(raw)}")
    doc = {"title": "standing faults", "profiles": ["resilient"],
           "phases": [{"name": "standing", "duration_s": 1, "faults": raw}]}
    try:
        exp = parse_experiment(doc, source=source, topology=topology)
    except ExperimentInvalid as exc:
        # chaos names the key inside its one-phase document; point at the lab's key instead
        raise LabInvalid(source, str(exc).split(": ", 1)[-1].replace("phases[0].faults", path)) from None
    return exp.phases[0].faults


def _parse_target(source: str, data: Any, path: str, topology: Topology) -> Target:
    m = _mapping(source, data, path, ("measure", "route", "journey", "min", "max", "expected"))
    try:
        measure = Measure(str(m.get("measure")))
    except ValueError:
        raise LabInvalid(source, f"{path}.measure: expected one of {', '.join(x.value for x in Measure)}, "
                                 f"got {m.get('measure')!r}") from None
    if measure is Measure.ANSWER:
        expected = _text(source, m, "expected", f"{path}.expected")
        edges = [e.proxy_name for e in topology.edges]
        if expected not in edges:
            raise LabInvalid(source, f"{path}.expected: expected an edge ({', '.join(edges)}), got {expected!r}")
        return Target(measure, expected=expected)
    route = journey = None
    if measure in (Measure.ROUTE_P95_MS, Measure.ROUTE_FAIL_RATIO):
        route = _text(source, m, "route", f"{path}.route")
        if " " not in route:
            raise LabInvalid(source, f"{path}.route: expected 'METHOD /name' as Locust names it, got {route!r}")
    else:
        journey = _text(source, m, "journey", f"{path}.journey")
    bounds = {}
    for k in ("min", "max"):
        v = m.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise LabInvalid(source, f"{path}.{k}: expected a number, got {_kind(v)}")
        bounds[k] = None if v is None else float(v)
    if bounds["min"] is None and bounds["max"] is None:
        raise LabInvalid(source, f"{path}: expected min and/or max")
    return Target(measure, route=route, journey=journey, min=bounds["min"], max=bounds["max"])


def _parse_load(source: str, data: Any, path: str) -> dict[str, Any]:
    m = _mapping(source, data or {}, path, LOAD_KEYS)
    load: dict[str, Any] = {}
    if "buyer_mix" in m:
        load["buyer_mix"] = _text(source, m, "buyer_mix", f"{path}.buyer_mix")
    for k in ("think_scale", "order_timeout_s"):
        if k in m:
            v = m[k]
            if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
                raise LabInvalid(source, f"{path}.{k}: expected a positive number, got {_kind(v)}")
            load[k] = float(v)
    if "user_classes" in m:
        classes = m["user_classes"]
        if not isinstance(classes, list) or not classes or any(c not in USER_CLASSES for c in classes):
            raise LabInvalid(source, f"{path}.user_classes: expected a list of {', '.join(USER_CLASSES)}")
        load["user_classes"] = tuple(classes)
    return load


def load_check_experiment(path: Path, *, topology: Topology = DEFAULT_TOPOLOGY) -> Experiment:
    """Read a lab's check experiment: a chaos experiment measured on the live settings."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise LabInvalid(str(path), f"cannot read the check experiment: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise LabInvalid(str(path), f"is not valid YAML: {exc}") from None
    if isinstance(data, dict):
        data = {"profiles": ["resilient"], **data}  # a label only: the check never switches profile
    try:
        exp = parse_experiment(data, source=str(path), name=path.stem, topology=topology)
    except ExperimentInvalid as exc:
        raise LabInvalid(str(path), str(exc).split(": ", 1)[-1]) from None
    return replace(exp, profiles=(LIVE_PROFILE,), must_hold=(LIVE_PROFILE,))


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise LabInvalid(str(path), "is missing") from None
    except yaml.YAMLError as exc:
        raise LabInvalid(str(path), f"is not valid YAML: {exc}") from None


def load_lab(path: str | Path, *, topology: Topology = DEFAULT_TOPOLOGY) -> Lab:
    """Read and validate one lab folder; raise LabInvalid naming the file and key at fault."""
    folder = Path(path).resolve()
    match = LAB_DIR_RE.match(folder.name)
    if not match:
        raise LabInvalid(str(folder), "a lab folder is named NN-slug (two digits, a dash, lowercase words)")
    if not (folder / "README.md").is_file():
        raise LabInvalid(str(folder / "README.md"), "is missing")
    source = str(folder / "lab.yaml")
    data = _mapping(source, _read_yaml(folder / "lab.yaml"), "",
                    ("title", "summary", "task", "start", "check", "hints"))
    start_raw = data.get("start") or {}
    start = parse_settings(source, start_raw, "start", topology)
    fault_raw = start_raw.get("faults") if isinstance(start_raw, Mapping) else None
    faults = parse_faults(source, fault_raw, "start.faults", topology)
    check_raw = _mapping(source, data.get("check"), "check", ("experiment", "load", "targets"))
    exp_path = folder / _text(source, check_raw, "experiment", "check.experiment")
    experiment = load_check_experiment(exp_path, topology=topology)
    targets_raw = check_raw.get("targets") or []
    if not isinstance(targets_raw, list):
        raise LabInvalid(source, f"check.targets: expected a list, got {_kind(targets_raw)}")
    targets = tuple(_parse_target(source, t, f"check.targets[{i}]", topology) for i, t in enumerate(targets_raw))
    if not targets and not experiment.hypothesis:
        raise LabInvalid(source, "check: expected targets or a hypothesis in the experiment (nothing to pass)")
    check = CheckSpec(experiment, exp_path, _parse_load(source, check_raw.get("load"), "check.load"), targets)
    hints = data.get("hints") or []
    if not isinstance(hints, list) or not hints or not all(isinstance(h, str) and h.strip() for h in hints):
        raise LabInvalid(source, "hints: expected a non-empty list of strings")

    sol_source = str(folder / "solution.yaml")
    sol_raw = _read_yaml(folder / "solution.yaml")
    sol_settings = parse_settings(sol_source, sol_raw, "", topology)
    answer = sol_raw.get("answer") if isinstance(sol_raw, Mapping) else None
    if check.needs_answer and answer != check.expected_answer:
        raise LabInvalid(sol_source, f"answer: expected {check.expected_answer!r} (the check's answer), got {answer!r}")
    solution = Solution(sol_settings, str(sol_raw.get("explanation", "")).strip(), answer)
    return Lab(
        number=match.group(1),
        slug=folder.name[3:],
        path=folder,
        title=_text(source, data, "title", "title"),
        summary=_text(source, data, "summary", "summary"),
        task=_text(source, data, "task", "task"),
        start=start,
        faults=faults,
        fault_specs=tuple(fault_raw or ()),
        check=check,
        hints=tuple(h.strip() for h in hints),
        solution=solution,
    )


def discover_labs(root: Path = LABS_DIR) -> list[Path]:
    """Return every lab folder under ``root``, in number order."""
    return sorted(p for p in root.iterdir() if p.is_dir() and LAB_DIR_RE.match(p.name))


def load_all(root: Path = LABS_DIR, *, topology: Topology = DEFAULT_TOPOLOGY) -> list[Lab]:
    """Load and validate every lab under ``root``."""
    return [load_lab(p, topology=topology) for p in discover_labs(root)]


def find_lab(number: str, root: Path = LABS_DIR, *, topology: Topology = DEFAULT_TOPOLOGY) -> Lab:
    """Return the lab numbered ``number`` (``2``, ``02`` or ``02-timeouts``); raise LabInvalid."""
    wanted = number.strip()
    for p in discover_labs(root):
        if wanted in (p.name, p.name[:2]) or (wanted.isdigit() and int(wanted) == int(p.name[:2])):
            return load_lab(p, topology=topology)
    known = ", ".join(p.name for p in discover_labs(root)) or "none"
    raise LabInvalid(wanted, f"no such lab (labs: {known})")
