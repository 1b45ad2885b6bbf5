"""Write a run's report folder: self-contained ``index.html`` (inline SVG), summary.md, junit.xml, samples.

``index.html`` opens offline: no CDN, no external file. The numbers come from
``chaos.numbers``, the chart geometry from ``chaos.charts``; the page and summary.md
are Jinja2 templates shipped in ``chaos/templates`` (autoescaped for HTML and SVG),
junit.xml is built with ElementTree and samples.csv with the csv module.
"""

from __future__ import annotations

import csv
import json
import os
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from chaos.charts import overview_charts, profile_charts
from chaos.journal import run_tails, write_journal
from chaos.numbers import comparison_rows, fmt, request_rows, verdict
from chaos.runner import RunRecord
from chaos.samples import OUTCOMES


def report_dir_name(experiment: str, when: datetime | None = None) -> str:
    """Return ``<UTC time>-<experiment>``, e.g. ``20260101T120000Z-catalog-reset-peer``."""
    stamp = (when or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{experiment}"


def _verdict_class(cell: str) -> str:
    """Colour a comparison cell: met (✔, HELD), missed (✘, NOT HELD) or neither."""
    if cell.startswith(("✔", "HELD")):
        return "met"
    return "miss" if cell.startswith(("✘", "NOT")) else ""


def make_environment() -> Environment:
    """Return the Jinja2 environment of the report templates (autoescape on for HTML and SVG)."""
    env = Environment(
        loader=PackageLoader("chaos"),
        autoescape=select_autoescape(enabled_extensions=("html.j2", "svg.j2"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["px"] = lambda value: f"{value:.1f}"  # SVG coordinates: a tenth of a pixel is plenty
    env.filters["fmt"] = fmt
    env.filters["verdict_class"] = _verdict_class
    return env


def render_html(record: RunRecord, *, settings: dict[str, Any], versions: dict[str, str],
                env: Environment | None = None) -> str:
    """Return the self-contained report page."""
    exp = record.experiment
    t_max = max([s.t for pr in record.profiles for s in pr.samples] + [exp.duration_s])
    hypothesis_edges = [p.edge for p in exp.hypothesis if p.edge]
    return (env or make_environment()).get_template("report.html.j2").render(
        exp=exp, record=record, verdict=verdict(record), comparison=comparison_rows(record),
        requests=request_rows(record), tails=run_tails(record),
        overview=overview_charts(record, t_max),
        profiles=[(pr, profile_charts(pr, t_max, hypothesis_edges)) for pr in record.profiles],
        settings_json=json.dumps({"settings": settings, "versions": versions}, indent=2, default=str),
    )


def render_summary(record: RunRecord, *, env: Environment | None = None) -> str:
    """Return summary.md: verdict, phases and the comparison table."""
    return (env or make_environment()).get_template("summary.md.j2").render(
        exp=record.experiment, record=record, verdict=verdict(record), comparison=comparison_rows(record),
        requests=request_rows(record), tails=run_tails(record), cores=os.cpu_count())


def render_junit(record: RunRecord) -> str:
    """Return junit.xml: one suite per profile, one case per probe (a miss fails only where it must hold)."""
    exp = record.experiment
    root = ET.Element("testsuites", name=f"chaos.{exp.name}")
    for pr in record.profiles:
        suite = ET.SubElement(root, "testsuite", name=f"{exp.name}.{pr.profile}", tests=str(len(pr.probes) + 1))
        failures = errors = 0
        case = ET.SubElement(suite, "testcase", classname=f"{exp.name}.{pr.profile}", name="run_and_rollback")
        if pr.error or pr.interrupted or pr.aborted or not pr.rollback_clean:
            errors += 1
            msg = pr.error or (f"interrupted by {pr.interrupted}" if pr.interrupted else
                               f"aborted: guard {pr.aborted['guard']} fired" if pr.aborted else "a rollback failed")
            ET.SubElement(case, "error", message=msg).text = msg
        for res in pr.probes:
            case = ET.SubElement(suite, "testcase", classname=f"{exp.name}.{pr.profile}", name=res.label)
            text = f"value={fmt(res.value)} tolerance={res.tolerance} {res.detail}"
            if not res.met and pr.must_hold:
                failures += 1
                ET.SubElement(case, "failure", message=f"{res.label}: {fmt(res.value)} not {res.tolerance}").text = text
            else:
                informational = "" if res.met else "informational profile, not required: "
                ET.SubElement(case, "system-out").text = informational + text
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def write_samples(out: Path, record: RunRecord) -> tuple[Path, Path]:
    """Write samples.csv (one row per profile and second) and samples.jsonl (with every edge)."""
    csv_path, jsonl_path = out / "samples.csv", out / "samples.jsonl"
    with csv_path.open("w", newline="") as fh, jsonl_path.open("w") as jh:
        writer = csv.writer(fh)
        writer.writerow(["profile", "t", "phase", "rps", "fail_ratio", "p50_ms", "p95_ms", "p99_ms",
                         *OUTCOMES, "unreachable"])
        for pr in record.profiles:
            for s in pr.samples:
                counts = s.load.outcome_counts() if s.load else dict.fromkeys(OUTCOMES, 0.0)
                writer.writerow([pr.profile, s.t, s.phase,
                                 *(("", "", "", "", "") if s.load is None else (
                                     s.load.rps, s.load.fail_ratio, s.load.p50_ms, s.load.p95_ms, s.load.p99_ms)),
                                 *(counts[k] for k in OUTCOMES), " ".join(s.unreachable)])
                jh.write(json.dumps({
                    "profile": pr.profile, "t": s.t, "phase": s.phase,
                    "load": s.load.to_json() if s.load else None,
                    "edges": {e: {"requests": c.requests, "attempts": c.attempts, "breaker": c.breaker}
                              for e, c in s.edges.items()},
                    "unreachable": list(s.unreachable),
                }) + "\n")
    return csv_path, jsonl_path


def write_report(out: Path, record: RunRecord, *, settings: dict[str, Any], versions: dict[str, str]) -> Path:
    """Write every report file into ``out`` (created) and return the index.html path."""
    env = make_environment()
    out.mkdir(parents=True, exist_ok=True)
    write_samples(out, record)
    write_journal(out / "journal.json", record, settings=settings, versions=versions)
    (out / "summary.md").write_text(render_summary(record, env=env))
    (out / "junit.xml").write_text(render_junit(record))
    index = out / "index.html"
    index.write_text(render_html(record, settings=settings, versions=versions, env=env))
    return index
