"""Load a lab folder (``labs/NN-slug/``) into the frozen data of ``labs.lab``, refusing a bad one up front.

A lab folder holds ``README.md``, ``lab.yaml``, the check experiment and
``solution.yaml``; the files' schema is the pydantic models of ``labs.schema``. Every problem is a ``LabInvalid`` naming the file and key, e.g.
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
        - {measure: route_p95_ms, route: "GET /api/v1/products/[id]", max: 800}   # or route_p50_ms, route_fail_ratio
        - {measure: journey_p95_ms, journey: browse, max: 1500}
        - {measure: answer, expected: cart__catalog}     # lab 01: the learner's answer
    hints: ["first hint", "second hint"]

``solution.yaml``: ``{profile, overrides, answer?, explanation}``: the live configuration
a trainer applies (``shoplab lab solution NN``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from chaos.errors import ExperimentInvalid
from chaos.experiment import Experiment, parse_experiment
from chaos.validation import validate
from labs.errors import LabInvalid

# The lab's parts are re-exported: ``shoplab lab``, the runner and the tests name them through this module.
from labs.lab import LIVE_PROFILE, CheckSpec, Lab, Measure, Settings, Solution, Target
from labs.schema import USER_CLASSES, LabDoc, SolutionDoc, StartDoc
from shop.topology import DEFAULT as DEFAULT_TOPOLOGY
from shop.topology import Topology

__all__ = [
    "LABS_DIR", "LAB_DIR_RE", "LIVE_PROFILE", "USER_CLASSES", "CheckSpec", "Lab", "LabInvalid", "Measure",
    "Settings", "Solution", "Target", "discover_labs", "find_lab", "load_all", "load_check_experiment", "load_lab",
]

LABS_DIR = Path(__file__).resolve().parent
LAB_DIR_RE = re.compile(r"^(\d{2})-[a-z0-9-]+$")


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
        raise LabInvalid(str(path), exc.detail) from None
    return replace(exp, profiles=(LIVE_PROFILE,), must_hold=(LIVE_PROFILE,))


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise LabInvalid(str(path), "is missing") from None
    except yaml.YAMLError as exc:
        raise LabInvalid(str(path), f"is not valid YAML: {exc}") from None


def _invalid(source: str) -> Callable[[str], Exception]:
    return lambda message: LabInvalid(source, message)


def load_lab(path: str | Path, *, topology: Topology = DEFAULT_TOPOLOGY) -> Lab:
    """Read and validate one lab folder; raise LabInvalid naming the file and key at fault."""
    folder = Path(path).resolve()
    match = LAB_DIR_RE.match(folder.name)
    if not match:
        raise LabInvalid(str(folder), "a lab folder is named NN-slug (two digits, a dash, lowercase words)")
    if not (folder / "README.md").is_file():
        raise LabInvalid(str(folder / "README.md"), "is missing")
    source = str(folder / "lab.yaml")
    raw = _read_yaml(folder / "lab.yaml")
    doc: LabDoc = validate(LabDoc, raw, topology=topology, on_error=_invalid(source))
    start = doc.start or StartDoc()
    exp_path = folder / doc.check.experiment
    experiment = load_check_experiment(exp_path, topology=topology)
    targets = tuple(t.to_target() for t in doc.check.targets or ())
    if not targets and not experiment.hypothesis:
        raise LabInvalid(source, "check: expected targets or a hypothesis in the experiment (nothing to pass)")
    load = doc.check.load.to_load() if doc.check.load else {}
    check = CheckSpec(experiment, exp_path, load, targets)

    sol_source = str(folder / "solution.yaml")
    sol: SolutionDoc = validate(SolutionDoc, _read_yaml(folder / "solution.yaml"), topology=topology,
                                on_error=_invalid(sol_source))
    if check.needs_answer and sol.answer != check.expected_answer:
        raise LabInvalid(sol_source, f"answer: expected {check.expected_answer!r} (the check's answer), "
                                     f"got {sol.answer!r}")
    solution = Solution(sol.to_settings(), str(sol.explanation or "").strip(), sol.answer)
    return Lab(
        number=match.group(1),
        slug=folder.name[3:],
        path=folder,
        title=doc.title.strip(),
        summary=doc.summary.strip(),
        task=doc.task.strip(),
        start=start.to_settings(),
        faults=start.to_faults(),
        # as written, for the end-to-end test that counts what the runner applied
        fault_specs=tuple(raw["start"].get("faults") or ()) if doc.start else (),
        check=check,
        hints=tuple(h.strip() for h in doc.hints),
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
