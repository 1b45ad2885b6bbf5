"""Load an experiment from YAML into the frozen model of ``chaos.model``, refusing a bad file up front.

Every problem is reported as ``ExperimentInvalid`` naming the key path (e.g.
``phases[1].faults[0].toxicity``) and what was expected, before anything starts. The file's schema is the pydantic models of
``chaos.schema``; by example::

    title: Catalog resets a share of its connections
    description: ...
    seed: 7
    profiles: [naive, resilient]
    must_hold: [resilient]            # default: every profile
    load: {shape: steady, users: 6, spawn_rate: 6}
    quick: {phase_scale: 0.3, min_phase_s: 5}
    phases:
      - {name: baseline, duration_s: 15}
      - name: fault
        duration_s: 30
        faults:
          - {kind: toxic, edge: gateway__catalog, type: reset_peer, toxicity: 0.3}
          - {kind: down, edge: gateway__recommendations}
          - {kind: app, service: payments, route: /charges, method: POST, error_rate: 0.5, status: 503}
          - {kind: process, process: orders-worker, action: kill}
      - {name: recovery, duration_s: 15}
    hypothesis:
      - {probe: success_ratio, phase: fault, tolerance: {min: 0.95}}
      - {probe: retry_amplification, edge: cart__catalog, phase: fault, tolerance: {max: 1.3}}
      - {probe: breaker_opened, edge: gateway__catalog, phase: fault, tolerance: true}
      - {probe: audit_clean, tolerance: true}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from chaos.errors import ExperimentInvalid

# The model is re-exported: the runner, the probes, the report and the commands name it through this module.
from chaos.model import (
    BOOLEAN_PROBES,
    BROKER_PROBES,
    EDGE_PROBES,
    EXPERIMENTS_DIR,
    LATENCY_PROBES,
    LOAD_SHAPES,
    WORKER_PROCESS,
    AppFaultSpec,
    DownFaultSpec,
    Experiment,
    FaultSpec,
    LoadSettings,
    Phase,
    Probe,
    ProbeKind,
    ProcessAction,
    ProcessFaultSpec,
    QuickSettings,
    Tolerance,
    ToxicFaultSpec,
)
from chaos.schema import ExperimentDoc
from chaos.validation import validate
from shop.topology import DEFAULT as DEFAULT_TOPOLOGY
from shop.topology import Topology

__all__ = [
    "BOOLEAN_PROBES", "BROKER_PROBES", "EDGE_PROBES", "EXPERIMENTS_DIR", "LATENCY_PROBES", "LOAD_SHAPES", "WORKER_PROCESS",
    "AppFaultSpec", "DownFaultSpec", "Experiment", "FaultSpec", "LoadSettings", "Phase", "Probe", "ProbeKind",
    "ProcessAction", "ProcessFaultSpec", "QuickSettings", "Tolerance", "ToxicFaultSpec",
    "load_experiment", "parse_experiment", "resolve_experiment_path",
]


def parse_experiment(data: Any, *, source: str = "<experiment>", name: str | None = None,
                     topology: Topology = DEFAULT_TOPOLOGY) -> Experiment:
    """Validate a parsed YAML document and return the experiment; raise ExperimentInvalid."""
    doc: ExperimentDoc = validate(ExperimentDoc, data, topology=topology,
                                  on_error=lambda message: ExperimentInvalid(source, message))
    return doc.to_experiment(source=source, name=name, raw=data)


def load_experiment(path: str | Path, *, topology: Topology = DEFAULT_TOPOLOGY) -> Experiment:
    """Read and validate one experiment file; raise ExperimentInvalid naming the key at fault."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ExperimentInvalid(str(p), f"cannot read the file: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ExperimentInvalid(str(p), f"is not valid YAML: {exc}") from exc
    experiment = parse_experiment(data, source=str(p), name=p.stem, topology=topology)
    experiment.refuse_vacuous()  # a file that is run must be able to fail
    return experiment


def resolve_experiment_path(name_or_path: str) -> Path:
    """Return the file for a path or a shipped experiment's name (``catalog-reset-peer``)."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    shipped = EXPERIMENTS_DIR / f"{name_or_path.removesuffix('.yaml')}.yaml"
    if shipped.is_file():
        return shipped
    known = ", ".join(sorted(f.stem for f in EXPERIMENTS_DIR.glob("*.yaml")))
    raise ExperimentInvalid(name_or_path, f"no such file, and no shipped experiment of that name (shipped: {known})")
