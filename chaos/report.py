"""Write a run's report folder: self-contained ``index.html`` (inline SVG), summary.md, junit.xml, samples.

``index.html`` opens offline: no CDN, no external file; the charts are SVG drawn
here, with the fault windows shaded.
"""

from __future__ import annotations

import csv
import html
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaos.experiment import Experiment, Probe, ProbeKind
from chaos.probes import run_probe
from chaos.runner import RunRecord
from chaos.samples import OUTCOMES, ProfileRecord, Sample

PROFILE_COLORS = {"naive": "#d62728", "timeouts": "#ff7f0e", "retries": "#9467bd", "resilient": "#2ca02c"}
EDGE_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf", "#393b79")
BREAKER_COLORS = {"closed": "#cfe8cf", "half_open": "#f5c26b", "open": "#d62728", None: "#e5e5e5"}
MAX_EDGES_CHARTED = 6


def report_dir_name(experiment: str, when: datetime | None = None) -> str:
    """Return ``<UTC time>-<experiment>``, e.g. ``20260101T120000Z-catalog-reset-peer``."""
    stamp = (when or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{experiment}"


# -- numbers ------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeyNumbers:
    """The few numbers the comparison table shows per profile."""

    success_ratio: float | None
    fault_success_ratio: float | None
    degraded_ratio: float | None
    fault_p95_ms: float | None
    max_amplification: float | None
    max_amplification_edge: str | None
    breakers_opened: tuple[str, ...]
    time_to_recover_s: float | None
    audit: str
    probes_met: int
    probes_total: int


def fault_phases(exp: Experiment) -> list[str]:
    """Return the names of the phases that inject faults."""
    return [p.name for p in exp.phases if p.faults]


def _probe_value(kind: ProbeKind, pr: ProfileRecord, **kw: Any) -> Any:
    from chaos.experiment import Tolerance

    tol = Tolerance(equals=True) if kind in (ProbeKind.BREAKER_OPENED,) else Tolerance(min=0.0)
    return run_probe(Probe(kind, tol, **kw), pr).value


def key_numbers(exp: Experiment, pr: ProfileRecord) -> KeyNumbers:
    """Compute the comparison numbers of one profile."""
    faulty = fault_phases(exp)
    first_fault = faulty[0] if faulty else None
    fault_samples = [s for s in pr.samples if s.phase in faulty]
    fault_success = None
    if first_fault:
        fault_record = ProfileRecord(pr.profile, pr.must_hold, samples=fault_samples, phases=pr.phases)
        fault_success = _probe_value(ProbeKind.SUCCESS_RATIO, fault_record)
        fault_p95 = _probe_value(ProbeKind.P95_MS, fault_record)
    else:
        fault_p95 = _probe_value(ProbeKind.P95_MS, pr)
    edges = sorted({e for s in pr.samples for e in s.edges})
    best: tuple[float, str] | None = None
    for edge in edges:
        phases: list[str | None] = [*faulty] or [None]
        for phase in phases:
            value = _probe_value(ProbeKind.RETRY_AMPLIFICATION, pr, edge=edge, phase=phase)
            if isinstance(value, float) and (best is None or value > best[0]):
                best = (value, edge)
    opened = tuple(e for e in edges if any(s.edges.get(e) and s.edges[e].breaker in ("open", "half_open")
                                           for s in pr.samples))
    ttr = _probe_value(ProbeKind.TIME_TO_RECOVER_S, pr, phase=faulty[-1]) if faulty else None
    audit = "not run" if pr.audit is None else ("clean" if pr.audit.clean else f"{len(pr.audit.violations)} violations")
    return KeyNumbers(
        success_ratio=_probe_value(ProbeKind.SUCCESS_RATIO, pr),
        fault_success_ratio=fault_success,
        degraded_ratio=_probe_value(ProbeKind.DEGRADED_RATIO, pr),
        fault_p95_ms=fault_p95,
        max_amplification=best[0] if best else None,
        max_amplification_edge=best[1] if best else None,
        breakers_opened=opened,
        time_to_recover_s=ttr,
        audit=audit,
        probes_met=sum(1 for p in pr.probes if p.met),
        probes_total=len(pr.probes),
    )


def fmt(value: Any, unit: str = "", digits: int = 3) -> str:
    """Format a number (or None/bool) for a table cell."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if unit == "%":
            return f"{value * 100:.1f}%"
        if abs(value) >= 10**digits:  # no exponent for big numbers (2000 ms, not 2e+03)
            return f"{value:.0f}{unit}"
        return f"{value:.{digits}g}{unit}"
    return f"{value}{unit}"


def comparison_rows(record: RunRecord) -> list[tuple[str, list[str]]]:
    """Return the side-by-side table: one row per measure, one column per profile."""
    exp = record.experiment
    nums = [key_numbers(exp, pr) for pr in record.profiles]
    rows: list[tuple[str, list[str]]] = [
        ("hypothesis", [
            ("HELD" if pr.held else "NOT HELD") + (" (must hold)" if pr.must_hold else " (informational)")
            for pr in record.profiles
        ]),
        ("probes met", [f"{n.probes_met}/{n.probes_total}" for n in nums]),
        ("success ratio (run)", [fmt(n.success_ratio, "%") for n in nums]),
        ("success ratio (fault phases)", [fmt(n.fault_success_ratio, "%") for n in nums]),
        ("degraded ratio (run)", [fmt(n.degraded_ratio, "%") for n in nums]),
        ("p95 in fault phases", [fmt(n.fault_p95_ms, " ms", 4) for n in nums]),
        ("max retry amplification", [
            fmt(n.max_amplification) + (f" ({n.max_amplification_edge})" if n.max_amplification_edge else "")
            for n in nums
        ]),
        ("breakers opened", [", ".join(n.breakers_opened) or "none" for n in nums]),
        ("time to recover", [fmt(n.time_to_recover_s, " s") for n in nums]),
        ("audit", [n.audit for n in nums]),
    ]
    for probe_index, probe in enumerate(exp.hypothesis):
        cells = []
        for pr in record.profiles:
            res = pr.probes[probe_index] if probe_index < len(pr.probes) else None
            cells.append("—" if res is None else f"{'✔' if res.met else '✘'} {fmt(res.value)}")
        rows.append((f"{probe.label} ({probe.tolerance.describe()})", cells))
    errors = [pr.error or pr.interrupted or "" for pr in record.profiles]
    if any(errors):
        rows.append(("error", errors))
    return rows


# -- SVG charts -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Series:
    """One line of a chart."""

    name: str
    color: str
    points: Sequence[tuple[float, float | None]]
    dashed: bool = False


def _nice_max(value: float) -> float:
    """Return the smallest 1/2/2.5/5 x 10^n at or above ``value`` (the chart's top)."""
    if value <= 0:
        return 1.0
    for mag in range(-3, 9):
        for step in (1, 2, 2.5, 5):
            candidate = step * 10.0**mag
            if candidate >= value:
                return candidate
    return value


def _time_ticks(t_max: float) -> list[float]:
    """Return round tick times (every 5, 10, 15, 30... s) with at most eight ticks."""
    step = next((st for st in (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600) if t_max / st <= 8), 1200)
    return [float(i * step) for i in range(int(t_max // step) + 1)]


def _windows_svg(windows: Sequence[tuple[float, float, str]], x: Any, top: float, bottom: float) -> str:
    parts = []
    for start, end, label in windows:
        x0, x1 = x(start), x(end)
        parts.append(f'<rect class="fault-window" x="{x0:.1f}" y="{top:.1f}" width="{max(1.0, x1 - x0):.1f}" '
                     f'height="{bottom - top:.1f}" fill="#d62728" fill-opacity="0.09">'
                     f'<title>{html.escape(label)}</title></rect>')
        parts.append(f'<text x="{x0 + 3:.1f}" y="{top + 11:.1f}" font-size="10" fill="#a33">{html.escape(label)}</text>')
    return "".join(parts)


def svg_line_chart(chart_id: str, title: str, series: Sequence[Series], *, t_max: float,
                   windows: Sequence[tuple[float, float, str]] = (), y_unit: str = "",
                   y_max: float | None = None, width: int = 760, height: int = 230) -> str:
    """Return one line chart as inline SVG (gaps where a value is missing)."""
    left, right, top, bottom = 52, 12, 24, height - 30
    values = [v for s in series for _, v in s.points if v is not None]
    ymax: float = y_max if y_max is not None else _nice_max(max(values) if values else 1.0)
    t_max = max(t_max, 1.0)

    def x(t: float) -> float:
        return left + (width - left - right) * min(max(t, 0.0), t_max) / t_max

    def y(v: float) -> float:
        return bottom - (bottom - top) * min(max(v, 0.0), ymax) / ymax

    out = [f'<svg class="chart" data-chart="{chart_id}" xmlns="http://www.w3.org/2000/svg" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">',
           f'<title>{html.escape(title)}</title>',
           f'<text x="{left}" y="15" font-size="13" font-weight="600">{html.escape(title)}</text>',
           _windows_svg(windows, x, top, bottom)]
    for i in range(5):
        v = ymax * i / 4
        yy = y(v)
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 4}" y="{yy + 4:.1f}" font-size="10" text-anchor="end">{v:g}{y_unit}</text>')
    for t in _time_ticks(t_max):
        out.append(f'<text x="{x(t):.1f}" y="{bottom + 14}" font-size="10" text-anchor="middle">{t:.0f}s</text>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{bottom}" stroke="#888"/>')
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{bottom}" y2="{bottom}" stroke="#888"/>')
    legend_x: float = left + 6
    for s in series:
        segments: list[list[str]] = [[]]
        for pt, pv in s.points:
            if pv is None:
                if segments[-1]:
                    segments.append([])
                continue
            segments[-1].append(f"{x(pt):.1f},{y(pv):.1f}")
        dash = ' stroke-dasharray="5,3"' if s.dashed else ""
        for seg in segments:
            if len(seg) == 1:
                px, py = seg[0].split(",")
                out.append(f'<circle cx="{px}" cy="{py}" r="2" fill="{s.color}"/>')
            elif seg:
                out.append(f'<polyline class="series" data-series="{html.escape(s.name)}" fill="none" '
                           f'stroke="{s.color}" stroke-width="1.6"{dash} points="{" ".join(seg)}"/>')
        out.append(f'<rect x="{legend_x}" y="{height - 11}" width="10" height="3" fill="{s.color}"/>'
                   f'<text x="{legend_x + 13}" y="{height - 7}" font-size="10">{html.escape(s.name)}</text>')
        legend_x += 20 + 6.2 * len(s.name)
    out.append("</svg>")
    return "".join(out)


def svg_breaker_timeline(chart_id: str, title: str, rows: Sequence[tuple[str, Sequence[tuple[float, str | None]]]],
                         *, t_max: float, windows: Sequence[tuple[float, float, str]] = (),
                         width: int = 760) -> str:
    """Return a breaker state timeline (one row per edge) as inline SVG."""
    left, right, top, row_h = 150, 12, 24, 16
    height = top + row_h * max(1, len(rows)) + 34
    bottom = top + row_h * max(1, len(rows))
    t_max = max(t_max, 1.0)

    def x(t: float) -> float:
        return left + (width - left - right) * min(max(t, 0.0), t_max) / t_max

    out = [f'<svg class="chart" data-chart="{chart_id}" xmlns="http://www.w3.org/2000/svg" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">',
           f'<title>{html.escape(title)}</title>',
           f'<text x="8" y="15" font-size="13" font-weight="600">{html.escape(title)}</text>']
    if not rows:
        out.append(f'<text x="{left}" y="{top + 12}" font-size="11">no breaker series in the metrics</text>')
    for i, (edge, points) in enumerate(rows):
        yy = top + i * row_h
        out.append(f'<text x="{left - 6}" y="{yy + 12}" font-size="10" text-anchor="end">{html.escape(edge)}</text>')
        for j, (t, state) in enumerate(points):
            t_next = points[j + 1][0] if j + 1 < len(points) else t + 1.0
            out.append(f'<rect class="breaker-{state or "unknown"}" x="{x(t):.1f}" y="{yy + 2}" '
                       f'width="{max(0.5, x(t_next) - x(t)):.1f}" height="{row_h - 4}" '
                       f'fill="{BREAKER_COLORS.get(state, "#e5e5e5")}"><title>{html.escape(edge)} '
                       f'{state or "unknown"} at {t:.0f}s</title></rect>')
    out.append(_windows_svg(windows, x, top, bottom))
    for t in _time_ticks(t_max):
        out.append(f'<text x="{x(t):.1f}" y="{bottom + 14}" font-size="10" text-anchor="middle">{t:.0f}s</text>')
    lx = left
    for state, color in (("closed", BREAKER_COLORS["closed"]), ("half-open", BREAKER_COLORS["half_open"]),
                         ("open", BREAKER_COLORS["open"]), ("unknown", BREAKER_COLORS[None])):
        out.append(f'<rect x="{lx}" y="{height - 12}" width="10" height="8" fill="{color}"/>'
                   f'<text x="{lx + 13}" y="{height - 5}" font-size="10">{state}</text>')
        lx += 80
    out.append("</svg>")
    return "".join(out)


# -- per-second series -------------------------------------------------------------------------------
RATIO_WINDOW = 5  # seconds: a few journeys end each second, so a rolling window keeps the chart readable


def _ratio_series(samples: Sequence[Sample], outcome: str) -> list[tuple[float, float | None]]:
    """Return the share of journeys ending in ``outcome`` over the last few seconds, per second."""
    points: list[tuple[float, float | None]] = []
    for i, s in enumerate(samples):
        window = [w for w in samples[max(0, i - RATIO_WINDOW + 1): i + 1] if w.load is not None]
        if s.load is None or not window:
            points.append((s.t, None))
            continue
        totals = dict.fromkeys(OUTCOMES, 0.0)
        for w in window:
            assert w.load is not None
            for k, v in w.load.outcome_counts().items():
                totals[k] += v
        total = sum(totals.values())
        if total > 0:
            points.append((s.t, totals[outcome] / total))
        elif outcome == "failure" and s.load.rps > 0:
            points.append((s.t, s.load.fail_ratio))
        else:
            points.append((s.t, None))
    return points


def amplification_series(samples: Sequence[Sample], edge: str) -> list[tuple[float, float | None]]:
    """Return per-second Δattempts/Δrequests of one edge (None when it had no requests)."""
    points: list[tuple[float, float | None]] = []
    prev = None
    for s in samples:
        cur = s.edges.get(edge)
        if cur is not None and prev is not None and cur.requests > prev.requests:
            points.append((s.t, (cur.attempts - prev.attempts) / (cur.requests - prev.requests)))
        else:
            points.append((s.t, None))
        if cur is not None:
            prev = cur
    return points


def busiest_edges(pr: ProfileRecord, must: Sequence[str] = (), limit: int = MAX_EDGES_CHARTED) -> list[str]:
    """Return the edges with the most attempts (plus the ones the hypothesis names)."""
    if not pr.samples:
        return list(must)
    last = pr.samples[-1].edges
    first = pr.samples[0].edges
    ranked = sorted(last, key=lambda e: -(last[e].attempts - (first[e].attempts if e in first else 0)))
    chosen = [e for e in must if e in last]
    for e in ranked:
        if len(chosen) >= limit:
            break
        if e not in chosen and last[e].requests > (first[e].requests if e in first else 0):
            chosen.append(e)
    return chosen


def _windows(pr: ProfileRecord) -> list[tuple[float, float, str]]:
    return [(w.start_s, w.end_s, w.name) for w in pr.phases if w.faults]


# -- the files -----------------------------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1600px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:16px 0 4px}
table{border-collapse:collapse;margin:8px 0;font-size:13px} td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f4f4f4} .met{color:#1a7f1a;font-weight:600} .miss{color:#c62828;font-weight:600}
.verdict{font-size:16px;padding:8px 12px;display:inline-block;border-radius:4px}
.pass{background:#e6f4e6;color:#1a5e1a} .fail{background:#fbe3e3;color:#8a1c1c}
.profiles{display:flex;flex-wrap:wrap;gap:24px} .profile{flex:1 1 760px}
svg.chart{background:#fff;border:1px solid #eee;margin:6px 0;display:block;max-width:100%;height:auto}
.muted{color:#666;font-size:12px} pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}
"""

SCRIPT = """
document.addEventListener('DOMContentLoaded', function () {
  var charts = document.querySelectorAll('svg.chart');
  document.body.setAttribute('data-charts', String(charts.length));
  document.body.setAttribute('data-rendered', 'yes');
});
"""


def render_html(record: RunRecord, *, settings: dict[str, Any], versions: dict[str, str]) -> str:
    """Return the self-contained report page."""
    exp = record.experiment
    esc = html.escape
    t_max = max([s.t for pr in record.profiles for s in pr.samples] + [exp.duration_s])
    verdict = "PASSED" if record.passed else ("INTERRUPTED" if record.interrupted else "FAILED")
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{esc(exp.title)} — shoplab report</title>",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{esc(exp.title)}</h1>",
        f"<p class=\"muted\">experiment <code>{esc(exp.name)}</code> · {esc(record.started_at)} → "
        f"{esc(record.ended_at)} · seed {exp.seed} · {'quick' if record.quick else 'full'} run</p>",
        f"<p>{esc(exp.description)}</p>" if exp.description else "",
        f"<p class=\"verdict {'pass' if record.passed else 'fail'}\">{verdict}: the hypothesis must hold for "
        f"{esc(', '.join(exp.must_hold) or 'no profile')}</p>",
        "<h2>Phases</h2><table><tr><th>phase</th><th>duration</th><th>faults</th></tr>",
    ]
    for phase in exp.phases:
        faults = "<br>".join(esc(f.describe()) for f in phase.faults) or "none"
        parts.append(f"<tr><td>{esc(phase.name)}</td><td>{phase.duration_s:g} s</td><td>{faults}</td></tr>")
    parts.append("</table>")

    parts.append("<h2>Comparison</h2><table id=\"comparison\"><tr><th></th>")
    parts += [f"<th>{esc(pr.profile)}</th>" for pr in record.profiles]
    parts.append("</tr>")
    for label, cells in comparison_rows(record):
        parts.append(f"<tr><th>{esc(label)}</th>" + "".join(
            f"<td class=\"{'met' if c.startswith('✔') or c.startswith('HELD') else ('miss' if c.startswith('✘') or c.startswith('NOT') else '')}\">"
            f"{esc(c)}</td>" for c in cells) + "</tr>")
    parts.append("</table>")

    parts.append("<h2>Hypothesis</h2><table id=\"hypothesis\"><tr><th>profile</th><th>probe</th><th>value</th>"
                 "<th>tolerance</th><th>met</th><th>detail</th></tr>")
    for pr in record.profiles:
        for res in pr.probes:
            parts.append(
                f"<tr><td>{esc(pr.profile)}{' (must hold)' if pr.must_hold else ''}</td><td>{esc(res.label)}</td>"
                f"<td>{esc(fmt(res.value))}</td><td>{esc(res.tolerance)}</td>"
                f"<td class=\"{'met' if res.met else 'miss'}\">{'✔' if res.met else '✘'}</td>"
                f"<td>{esc(res.detail)}</td></tr>")
    parts.append("</table>")

    # overlaid: throughput and failures of every profile
    windows = _windows(record.profiles[0]) if record.profiles else []
    parts.append("<h2>Throughput and failures</h2>")
    parts.append(svg_line_chart("throughput", "Throughput (requests/s)", [
        Series(pr.profile, PROFILE_COLORS.get(pr.profile, "#333"),
               [(s.t, s.load.rps if s.load else None) for s in pr.samples]) for pr in record.profiles
    ], t_max=t_max, windows=windows))
    fail_series = []
    for pr in record.profiles:
        color = PROFILE_COLORS.get(pr.profile, "#333")
        fail_series.append(Series(f"{pr.profile} failed", color, _ratio_series(pr.samples, "failure")))
        fail_series.append(Series(f"{pr.profile} degraded", color, _ratio_series(pr.samples, "degraded"), dashed=True))
    parts.append(svg_line_chart("failures", f"Failed and degraded journeys (share over the last {RATIO_WINDOW} s)", fail_series,
                                t_max=t_max, windows=windows, y_max=1.0))

    hyp_edges = [p.edge for p in exp.hypothesis if p.edge]
    parts.append("<h2>Per profile</h2><div class=\"profiles\">")
    for pr in record.profiles:
        w = _windows(pr)
        parts.append(f"<div class=\"profile\"><h3>{esc(pr.profile)}</h3>")
        parts.append(svg_line_chart(f"latency-{pr.profile}", f"{pr.profile}: latency p50 / p95 / p99 (ms)", [
            Series("p50", "#1f77b4", [(s.t, s.load.p50_ms if s.load else None) for s in pr.samples]),
            Series("p95", "#ff7f0e", [(s.t, s.load.p95_ms if s.load else None) for s in pr.samples]),
            Series("p99", "#d62728", [(s.t, s.load.p99_ms if s.load else None) for s in pr.samples]),
        ], t_max=t_max, windows=w))
        edges = busiest_edges(pr, hyp_edges)
        parts.append(svg_line_chart(f"amplification-{pr.profile}", f"{pr.profile}: retry amplification per edge "
                                    "(attempts / requests)", [
            Series(e, EDGE_COLORS[i % len(EDGE_COLORS)], amplification_series(pr.samples, e))
            for i, e in enumerate(edges)
        ], t_max=t_max, windows=w))
        breaker_edges = sorted({e for s in pr.samples for e, c in s.edges.items() if c.breaker is not None})
        rows = [(e, [(s.t, s.edges[e].breaker if e in s.edges else None) for s in pr.samples]) for e in breaker_edges]
        parts.append(svg_breaker_timeline(f"breakers-{pr.profile}", f"{pr.profile}: breaker state per edge", rows,
                                          t_max=t_max, windows=w))
        if pr.fault_events:
            parts.append("<table><tr><th>t</th><th>phase</th><th>fault event</th><th>fault</th><th>error</th></tr>")
            for e in pr.fault_events:
                parts.append(f"<tr><td>{e.t:.1f}s</td><td>{esc(e.phase)}</td><td>{esc(e.action)}</td>"
                             f"<td>{esc(e.fault)}</td><td>{esc(e.error or '')}</td></tr>")
            parts.append("</table>")
        if pr.audit is not None:
            parts.append(f"<p>audit: {'clean' if pr.audit.clean else 'VIOLATIONS'} {esc('; '.join(pr.audit.violations[:10]))} "
                         f"{esc(pr.audit.detail)}</p>")
        if pr.error or pr.interrupted:
            parts.append(f"<p class=\"miss\">{esc(pr.error or 'interrupted by ' + str(pr.interrupted))}</p>")
        parts.append("</div>")
    parts.append("</div>")
    parts.append("<h2>Settings and versions</h2><pre>" + esc(json.dumps({"settings": settings, "versions": versions},
                                                                         indent=2, default=str)) + "</pre>")
    parts.append("<p class=\"muted\">Files: journal.json (re-run data), summary.md, junit.xml, samples.csv, "
                 "samples.jsonl.</p>")
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "".join(parts)


def render_summary(record: RunRecord) -> str:
    """Return summary.md: verdict, phases and the comparison table."""
    exp = record.experiment
    verdict = "PASSED" if record.passed else ("INTERRUPTED" if record.interrupted else "FAILED")
    lines = [f"# {exp.title}", "", f"Experiment `{exp.name}` · {record.started_at} → {record.ended_at} · "
             f"seed {exp.seed}", "", exp.description, "",
             f"**{verdict}** — the hypothesis must hold for: {', '.join(exp.must_hold) or 'no profile'}.", "",
             "## Phases", "", "| phase | duration | faults |", "|---|---|---|"]
    for p in exp.phases:
        lines.append(f"| {p.name} | {p.duration_s:g} s | {'; '.join(f.describe() for f in p.faults) or 'none'} |")
    profiles = [pr.profile for pr in record.profiles]
    lines += ["", "## Comparison", "", "| | " + " | ".join(profiles) + " |", "|---" * (len(profiles) + 1) + "|"]
    for label, cells in comparison_rows(record):
        lines.append(f"| {label} | " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    lines.append("")
    return "\n".join(lines)


def render_junit(record: RunRecord) -> str:
    """Return junit.xml: one suite per profile, one case per probe (a miss fails only where it must hold)."""
    exp = record.experiment
    root = ET.Element("testsuites", name=f"chaos.{exp.name}")
    for pr in record.profiles:
        suite = ET.SubElement(root, "testsuite", name=f"{exp.name}.{pr.profile}", tests=str(len(pr.probes) + 1))
        failures = errors = 0
        case = ET.SubElement(suite, "testcase", classname=f"{exp.name}.{pr.profile}", name="run_and_rollback")
        if pr.error or pr.interrupted or not pr.rollback_clean:
            errors += 1
            msg = pr.error or (f"interrupted by {pr.interrupted}" if pr.interrupted else "a rollback failed")
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
    from chaos.journal import write_journal

    out.mkdir(parents=True, exist_ok=True)
    write_samples(out, record)
    write_journal(out / "journal.json", record, settings=settings, versions=versions)
    (out / "summary.md").write_text(render_summary(record))
    (out / "junit.xml").write_text(render_junit(record))
    index = out / "index.html"
    index.write_text(render_html(record, settings=settings, versions=versions))
    return index

