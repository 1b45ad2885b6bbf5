"""The knee bench's verdicts: which SLO clause a step breaks, and the last rate that held."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from bench.bench_knee import Ramp, judge_step, knee_of
from loadtests.api import LoadResult

pytestmark = pytest.mark.unit


def _result(*, failed: int = 0, browse_p95: float = 300.0, on_time: int | None = None, problem: str = "",
            scheduled: int = 100) -> LoadResult:
    journeys: dict[str, dict[str, Any]] = {
        "browse": {"total": 80, "failure": failed, "p95_ms": browse_p95},
        "checkout": {"total": 20, "failure": 0, "p95_ms": 2000.0},
    }
    return LoadResult(exit_code=0, totals={"requests": 400, "rps": 20.0, "p50_ms": 30, "p95_ms": 900, "p99_ms": 1500},
                      journeys=journeys, routes=[], errors=[], checks=[], outputs={"dir": Path(".")},
                      duration_s=20.0, arrivals={"scheduled": scheduled, "on_time": scheduled if on_time is None else on_time}, problem=problem)


def test_a_step_within_every_limit_holds_even_with_a_slow_request_p95() -> None:
    step = judge_step(5.0, _result())
    assert step["broken"] == []
    assert step["journeys_per_s"] == 5.0 and step["p95_ms"] == 900


@pytest.mark.parametrize(("kwargs", "clause"), [
    ({"failed": 2}, "journey failure ratio"),
    ({"browse_p95": 1600.0}, "browse p95"),
    ({"on_time": 90}, "on-time arrivals"),
    ({"problem": "Locust died"}, "run broke"),
])
def test_each_slo_clause_breaks_a_step(kwargs: dict[str, Any], clause: str) -> None:
    broken = judge_step(5.0, _result(**kwargs))["broken"]
    assert any(b.startswith(clause) for b in broken), broken


def test_a_step_whose_journeys_pile_up_unfinished_breaks_against_the_first_steps_completion() -> None:
    # 100 journeys ended in every step; the first had 135 scheduled (0.741), as a healthy quiet step has.
    first = judge_step(5.0, _result(scheduled=135))
    assert first["completion_ratio"] == 0.741 and first["broken"] == []
    kept = judge_step(8.0, _result(scheduled=140), first_completion=first["completion_ratio"])
    assert kept["broken"] == []  # 0.714 >= 0.95 x 0.741
    piled = judge_step(12.0, _result(scheduled=160), first_completion=first["completion_ratio"])
    assert [b for b in piled["broken"] if b.startswith("journeys ended 0.625 of the scheduled")], piled["broken"]


def test_the_knee_is_the_last_rate_before_the_first_broken_step() -> None:
    steps = [{"rate_per_s": r, "broken": b} for r, b in ((2, []), (3, []), (4.5, ["x"]), (6.75, []))]
    assert knee_of(steps) == 3
    assert knee_of([{"rate_per_s": 2, "broken": ["x"]}]) is None
    assert Ramp(start=2, factor=1.5, max_steps=3).rates() == [2, 3, 4.5]


def test_a_result_says_how_many_scheduled_journeys_ended_and_none_without_a_schedule() -> None:
    assert _result(scheduled=135).ended_of_scheduled() == (100, 135)  # 80 browse + 20 checkout ended
    assert dataclasses.replace(_result(), arrivals=None).ended_of_scheduled() is None
