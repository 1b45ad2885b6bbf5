"""The exploration matrix as data: cells, their JSON, the gate's comparison and the pruning of pairs.

A cell is one journey run under one profile with one or two faults, each fault a point
``edge:mode`` (``none`` for the fault-free baseline). Its key is
``journey|point[+point]|profile``. Plain functions over plain data: the unit tests feed
them hand-made cells.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

OUTCOMES = ("success", "degraded", "failure")
RANK = {name: i for i, name in enumerate(OUTCOMES)}
BASELINE = "none"
Point = tuple[str, str]  # (edge, mode)


def point_label(point: Point) -> str:
    """Return ``edge:mode`` (or ``none`` for the baseline)."""
    edge, mode = point
    return BASELINE if mode == BASELINE else f"{edge}:{mode}"


def faults_label(points: Sequence[Point]) -> str:
    """Return the cell's fault column: its points joined by ``+``."""
    return "+".join(point_label(p) for p in points) or BASELINE


@dataclass(frozen=True)
class Cell:
    """One journey run with its faults under one profile, and what came of it."""

    journey: str
    faults: tuple[Point, ...]
    profile: str
    outcome: str
    status: str  # what the user saw last: an HTTP status, or "timeout" / "no answer"
    elapsed_s: float
    consistent: bool | None  # None: the journey changes nothing the audit could check
    detail: str = ""
    runs: int = 1  # repetitions; outcome and consistency are the worst of them

    @property
    def key(self) -> str:
        """Return ``journey|faults|profile``."""
        return f"{self.journey}|{faults_label(self.faults)}|{self.profile}"

    def to_json(self) -> dict[str, Any]:
        """Return the cell as JSON (points as ``edge:mode`` strings)."""
        data = asdict(self)
        data["faults"] = [f"{e}:{m}" for e, m in self.faults]
        data["key"] = self.key
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cell:
        """Read a cell written by ``to_json``."""
        points = tuple(tuple(str(p).split(":", 1)) for p in data["faults"])
        return cls(journey=str(data["journey"]), faults=points,  # type: ignore[arg-type]
                   profile=str(data["profile"]), outcome=str(data["outcome"]), status=str(data["status"]),
                   elapsed_s=float(data["elapsed_s"]), consistent=data.get("consistent"),
                   detail=str(data.get("detail", "")), runs=int(data.get("runs", 1)))


def worst(cells: Sequence[Cell]) -> Cell:
    """Fold repetitions of one cell into one: the worst outcome and consistency, the slowest time."""
    first = max(cells, key=lambda c: (RANK[c.outcome], c.consistent is False, c.elapsed_s))
    consistent = None if all(c.consistent is None for c in cells) else all(c.consistent is not False for c in cells)
    return Cell(first.journey, first.faults, first.profile, first.outcome, first.status,
                max(c.elapsed_s for c in cells), consistent, first.detail, len(cells))


@dataclass
class Matrix:
    """Every cell of one exploration, and how it was run."""

    cells: list[Cell] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> Cell | None:
        """Return the cell with ``key``, or None."""
        return next((c for c in self.cells if c.key == key), None)

    def to_json(self) -> dict[str, Any]:
        """Return the matrix as JSON."""
        return {"meta": self.meta, "cells": [c.to_json() for c in self.cells]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Matrix:
        """Read a matrix written by ``to_json``."""
        return cls([Cell.from_json(c) for c in data.get("cells", [])], dict(data.get("meta", {})))


@dataclass(frozen=True)
class Regression:
    """A cell that got worse than the expected matrix says."""

    key: str
    expected: str
    actual: str

    def __str__(self) -> str:
        return f"{self.key}: expected {self.expected}, got {self.actual}"


def describe(cell: Cell) -> str:
    """Say a cell's outcome and consistency in a few words."""
    consistency = {True: "consistent", False: "INCONSISTENT", None: "nothing to audit"}[cell.consistent]
    return f"{cell.outcome} ({cell.status}, {consistency})"


def is_worse(actual: Cell, expected: Cell) -> bool:
    """Say whether ``actual`` is worse: a worse outcome, or inconsistent where the expected cell was not."""
    return RANK[actual.outcome] > RANK[expected.outcome] or (
        actual.consistent is False and expected.consistent is not False
    )


@dataclass
class Comparison:
    """What the gate found: the regressions, the cells compared, the cells the expected matrix lacks."""

    regressions: list[Regression]
    compared: int
    unknown: list[str]

    @property
    def ok(self) -> bool:
        """Say whether the gate holds: something was compared and nothing got worse."""
        return self.compared > 0 and not self.regressions


def compare(expected: Matrix, actual: Matrix, *, profile: str = "resilient") -> Comparison:
    """Compare ``actual``'s cells of ``profile`` with ``expected``; cells expected but not run are not judged."""
    regressions, unknown, compared = [], [], 0
    for cell in actual.cells:
        if cell.profile != profile:
            continue
        want = expected.get(cell.key)
        if want is None:
            unknown.append(cell.key)
            continue
        compared += 1
        if is_worse(cell, want):
            regressions.append(Regression(cell.key, describe(want), describe(cell)))
    return Comparison(regressions, compared, unknown)


@dataclass(frozen=True)
class PairPlan:
    """The pairs to run for one journey and profile, and how many the pruning saved."""

    journey: str
    profile: str
    pairs: list[tuple[Point, Point]]
    pruned: int

    @property
    def total(self) -> int:
        """Return how many pairs there were before pruning."""
        return len(self.pairs) + self.pruned


def plan_pairs(singles: Iterable[Cell]) -> list[PairPlan]:
    """Plan the two-fault cells from the single-fault ones.

    Pairs join points on two different edges of one journey and profile. A pair with a
    point whose single fault already fails the journey is pruned: it cannot tell more
    (the journey fails either way), and each pruned pair is one run saved.
    """
    groups: dict[tuple[str, str], list[Cell]] = {}
    for cell in singles:
        if len(cell.faults) == 1 and cell.faults[0][1] != BASELINE:
            groups.setdefault((cell.journey, cell.profile), []).append(cell)
    plans = []
    for (journey, profile), cells in groups.items():
        points = sorted({c.faults[0] for c in cells})
        failing = {c.faults[0] for c in cells if c.outcome == "failure"}
        pairs, pruned = [], 0
        for a, b in itertools.combinations(points, 2):
            if a[0] == b[0]:
                continue  # one edge, two modes: one fault hides the other
            if a in failing or b in failing:
                pruned += 1
            else:
                pairs.append((a, b))
        plans.append(PairPlan(journey, profile, pairs, pruned))
    return plans
