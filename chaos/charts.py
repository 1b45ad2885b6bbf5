"""Lay out the report's charts as data: axes, ticks, lines, breaker bars and fault windows in SVG coordinates.

No markup here: ``templates/charts.svg.j2`` draws these values (autoescaped), so the
geometry can be tested as numbers. Gaps in a series (a second without a value) split
its line; a lone value becomes a dot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chaos.numbers import (
    RATIO_WINDOW,
    amplification_series,
    busiest_edges,
    fault_windows,
    ratio_series,
)
from chaos.runner import RunRecord
from chaos.samples import ProfileRecord

PROFILE_COLORS = {"naive": "#d62728", "timeouts": "#ff7f0e", "retries": "#9467bd", "resilient": "#2ca02c",
                  "adaptive": "#1f77b4"}
EDGE_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf", "#393b79")
BREAKER_COLORS = {"closed": "#cfe8cf", "half_open": "#f5c26b", "open": "#d62728", None: "#e5e5e5"}
BREAKER_LEGEND = (("closed", BREAKER_COLORS["closed"]), ("half-open", BREAKER_COLORS["half_open"]),
                  ("open", BREAKER_COLORS["open"]), ("unknown", BREAKER_COLORS[None]))
DEFAULT_COLOR = "#333"

Points = Sequence[tuple[float, float | None]]
Windows = Sequence[tuple[float, float, str]]


@dataclass(frozen=True)
class Series:
    """One line of a chart: ``(t, value)`` points, ``None`` where there is no value."""

    name: str
    color: str
    points: Points
    dashed: bool = False


@dataclass(frozen=True)
class Window:
    """A fault phase, shaded across the plot."""

    x: float
    width: float
    label: str


@dataclass(frozen=True)
class Tick:
    """A label on an axis at one coordinate."""

    at: float
    label: str


@dataclass(frozen=True)
class Line:
    """A drawn run of a series (two points or more), or a dot (one)."""

    name: str
    color: str
    points: tuple[tuple[float, float], ...]
    dashed: bool


@dataclass(frozen=True)
class LegendEntry:
    """A colour swatch and its name."""

    x: float
    color: str
    name: str


@dataclass(frozen=True)
class Bar:
    """One breaker state over one stretch of time."""

    x: float
    width: float
    state: str
    color: str
    t: float


@dataclass(frozen=True)
class BreakerRow:
    """The breaker states of one edge over the run."""

    edge: str
    y: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class LineChart:
    """A line chart with a y grid, time ticks and shaded fault windows."""

    chart_id: str
    title: str
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    windows: tuple[Window, ...]
    grid: tuple[Tick, ...]
    ticks: tuple[Tick, ...]
    lines: tuple[Line, ...]
    legend: tuple[LegendEntry, ...]


@dataclass(frozen=True)
class BreakerTimeline:
    """One row of breaker states per edge, with shaded fault windows."""

    chart_id: str
    title: str
    width: int
    height: int
    left: float
    top: float
    bottom: float
    row_height: float
    windows: tuple[Window, ...]
    rows: tuple[BreakerRow, ...]
    ticks: tuple[Tick, ...]
    legend: tuple[LegendEntry, ...]


def nice_max(value: float) -> float:
    """Return the smallest 1/2/2.5/5 x 10^n at or above ``value`` (the chart's top)."""
    if value <= 0:
        return 1.0
    for mag in range(-3, 9):
        for step in (1, 2, 2.5, 5):
            candidate = step * 10.0**mag
            if candidate >= value:
                return candidate
    return value


def time_ticks(t_max: float) -> list[float]:
    """Return round tick times (every 5, 10, 15, 30... s) with at most eight ticks."""
    step = next((st for st in (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600) if t_max / st <= 8), 1200)
    return [float(i * step) for i in range(int(t_max // step) + 1)]


def _time_axis(left: float, right_edge: float, t_max: float) -> Callable[[float], float]:
    def x(t: float) -> float:
        return left + (right_edge - left) * min(max(t, 0.0), t_max) / t_max

    return x


def _windows(windows: Windows, x: Callable[[float], float]) -> tuple[Window, ...]:
    return tuple(Window(x(start), max(1.0, x(end) - x(start)), label) for start, end, label in windows)


def line_chart(chart_id: str, title: str, series: Sequence[Series], *, t_max: float, windows: Windows = (),
               y_unit: str = "", y_max: float | None = None, width: int = 760, height: int = 230) -> LineChart:
    """Lay out one line chart (gaps where a value is missing)."""
    left, right, top, bottom = 52.0, 12.0, 24.0, float(height - 30)
    values = [v for s in series for _, v in s.points if v is not None]
    ymax: float = y_max if y_max is not None else nice_max(max(values) if values else 1.0)
    t_max = max(t_max, 1.0)
    x = _time_axis(left, width - right, t_max)

    def y(v: float) -> float:
        return bottom - (bottom - top) * min(max(v, 0.0), ymax) / ymax

    grid = tuple(Tick(y(ymax * i / 4), f"{ymax * i / 4:g}{y_unit}") for i in range(5))
    lines: list[Line] = []
    legend: list[LegendEntry] = []
    legend_x = left + 6
    for s in series:
        runs: list[list[tuple[float, float]]] = [[]]
        for t, v in s.points:
            if v is None:
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append((x(t), y(v)))
        lines += [Line(s.name, s.color, tuple(run), s.dashed) for run in runs if run]
        legend.append(LegendEntry(legend_x, s.color, s.name))
        legend_x += 20 + 6.2 * len(s.name)
    return LineChart(chart_id, title, width, height, left, right, top, bottom, _windows(windows, x), grid,
                     tuple(Tick(x(t), f"{t:.0f}s") for t in time_ticks(t_max)), tuple(lines), tuple(legend))


def breaker_timeline(chart_id: str, title: str, rows: Sequence[tuple[str, Sequence[tuple[float, str | None]]]],
                     *, t_max: float, windows: Windows = (), width: int = 760) -> BreakerTimeline:
    """Lay out a breaker state timeline, one row per edge."""
    left, right, top, row_h = 150.0, 12.0, 24.0, 16.0
    bottom = top + row_h * max(1, len(rows))
    height = int(bottom + 34)
    t_max = max(t_max, 1.0)
    x = _time_axis(left, width - right, t_max)
    laid: list[BreakerRow] = []
    for i, (edge, points) in enumerate(rows):
        bars = []
        for j, (t, state) in enumerate(points):
            t_next = points[j + 1][0] if j + 1 < len(points) else t + 1.0
            bars.append(Bar(x(t), max(0.5, x(t_next) - x(t)), state or "unknown",
                            BREAKER_COLORS.get(state, BREAKER_COLORS[None]), t))
        laid.append(BreakerRow(edge, top + i * row_h, tuple(bars)))
    legend = tuple(LegendEntry(left + 80 * i, color, state) for i, (state, color) in enumerate(BREAKER_LEGEND))
    return BreakerTimeline(chart_id, title, width, height, left, top, bottom, row_h, _windows(windows, x),
                           tuple(laid), tuple(Tick(x(t), f"{t:.0f}s") for t in time_ticks(t_max)), legend)


# -- the report's charts ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ProfileCharts:
    """The charts of one profile: latency, retry amplification, breaker states."""

    profile: str
    latency: LineChart
    amplification: LineChart
    breakers: BreakerTimeline


def overview_charts(record: RunRecord, t_max: float) -> tuple[LineChart, LineChart]:
    """Lay out throughput and failed/degraded journeys of every profile, overlaid."""
    windows = fault_windows(record.profiles[0]) if record.profiles else []
    throughput = line_chart("throughput", "Throughput (requests/s)", [
        Series(pr.profile, PROFILE_COLORS.get(pr.profile, DEFAULT_COLOR),
               [(s.t, s.load.rps if s.load else None) for s in pr.samples]) for pr in record.profiles
    ], t_max=t_max, windows=windows)
    failures: list[Series] = []
    for pr in record.profiles:
        color = PROFILE_COLORS.get(pr.profile, DEFAULT_COLOR)
        failures.append(Series(f"{pr.profile} failed", color, ratio_series(pr.samples, "failure")))
        failures.append(Series(f"{pr.profile} degraded", color, ratio_series(pr.samples, "degraded"), dashed=True))
    title = f"Failed and degraded journeys (share over the last {RATIO_WINDOW} s)"
    return throughput, line_chart("failures", title, failures, t_max=t_max, windows=windows, y_max=1.0)


def profile_charts(pr: ProfileRecord, t_max: float, hypothesis_edges: Sequence[str]) -> ProfileCharts:
    """Lay out one profile's latency, amplification (busiest edges) and breaker charts."""
    w = fault_windows(pr)
    latency = line_chart(f"latency-{pr.profile}", f"{pr.profile}: latency p50 / p95 / p99 (ms)", [
        Series("p50", "#1f77b4", [(s.t, s.load.p50_ms if s.load else None) for s in pr.samples]),
        Series("p95", "#ff7f0e", [(s.t, s.load.p95_ms if s.load else None) for s in pr.samples]),
        Series("p99", "#d62728", [(s.t, s.load.p99_ms if s.load else None) for s in pr.samples]),
    ], t_max=t_max, windows=w)
    edges = busiest_edges(pr, hypothesis_edges)
    amplification = line_chart(
        f"amplification-{pr.profile}", f"{pr.profile}: retry amplification per edge (attempts / requests)",
        [Series(e, EDGE_COLORS[i % len(EDGE_COLORS)], amplification_series(pr.samples, e))
         for i, e in enumerate(edges)], t_max=t_max, windows=w)
    breaker_edges = sorted({e for s in pr.samples for e, c in s.edges.items() if c.breaker is not None})
    rows = [(e, [(s.t, s.edges[e].breaker if e in s.edges else None) for s in pr.samples]) for e in breaker_edges]
    breakers = breaker_timeline(f"breakers-{pr.profile}", f"{pr.profile}: breaker state per edge", rows,
                                t_max=t_max, windows=w)
    return ProfileCharts(pr.profile, latency, amplification, breakers)
