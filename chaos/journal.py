"""Write the journal of a run: the experiment, versions, seed, settings and every result."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from chaos.runner import RunRecord
from chaos.samples import ProfileRecord
from chaos.tails import TailRow, tail_rows


def get_versions(toxiproxy_version: str | None = None) -> dict[str, str]:
    """Return the versions that matter to re-run an experiment."""
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for dist in ("shoplab", "locust", "httpx", "tenacity", "pybreaker", "flask", "prometheus-client"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    if toxiproxy_version:
        versions["toxiproxy"] = toxiproxy_version
    return versions


def profile_to_json(pr: ProfileRecord) -> dict[str, Any]:
    """Return one profile's results (without the raw samples, which go to their own file)."""
    return {
        "profile": pr.profile,
        "must_hold": pr.must_hold,
        "held": pr.held,
        "error": pr.error,
        "interrupted": pr.interrupted,
        "aborted": pr.aborted,
        "started_at": pr.started_at,
        "ended_at": pr.ended_at,
        "phases": [asdict(w) for w in pr.phases],
        "fault_events": [asdict(e) for e in pr.fault_events],
        "rollback_clean": pr.rollback_clean,
        "audit": asdict(pr.audit) if pr.audit else None,
        "probes": [asdict(p) for p in pr.probes],
        "samples": len(pr.samples),
        "loadavg_1m_by_phase": {phase: list(span) for phase, span in pr.load_by_phase().items()},
        "wall_t0": pr.wall_t0,  # epoch seconds of the phases' t=0: raw.jsonl's seconds are wall-clock
        "journey_horizon_s": pr.journey_horizon_s,
    }


def run_tails(record: RunRecord) -> list[TailRow]:
    """Return the control against each must-hold profile's p99 in every fault phase (``chaos.tails``)."""
    return tail_rows(record.profiles, [p.name for p in record.experiment.phases if p.faults])


def journal_to_json(record: RunRecord, *, settings: dict[str, Any], versions: dict[str, str]) -> dict[str, Any]:
    """Return the whole journal as JSON-able data."""
    exp = record.experiment
    return {
        "experiment": {
            "name": exp.name,
            "title": exp.title,
            "source": exp.source,
            "definition": dict(exp.raw),
            "profiles": list(exp.profiles),
            "must_hold": list(exp.must_hold),
            "phases_as_run": [{"name": p.name, "duration_s": p.duration_s} for p in exp.phases],
        },
        "seed": exp.seed,
        "settings": settings,
        "versions": versions,
        "machine": {"cores": os.cpu_count()},
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "interrupted": record.interrupted,
        "passed": record.passed,
        "profiles": [profile_to_json(p) for p in record.profiles],
        "tails": [row.to_json() for row in run_tails(record)],
    }


def write_journal(path: Path, record: RunRecord, *, settings: dict[str, Any], versions: dict[str, str]) -> Path:
    """Write ``journal.json`` and return its path."""
    path.write_text(json.dumps(journal_to_json(record, settings=settings, versions=versions), indent=2, default=str))
    return path
